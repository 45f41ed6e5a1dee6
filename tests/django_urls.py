"""Views of the Django test project (tests/django_settings.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import mark_safe

import wsgi_flash


def add(request):
    """POST level, text and extra_tags: one message, then a redirect."""
    data = request.POST
    text = data["text"]
    messages.add_message(
        request,
        int(data.get("level", messages.INFO)),
        mark_safe(text) if data.get("safe") else text,
        extra_tags=data.get("extra_tags", ""),
    )
    return HttpResponseRedirect("/show", status=303)


def show(request):
    return render(request, "messages.html")


def as_json(request):
    return JsonResponse(
        [[m.level, m.tags, str(m)] for m in messages.get_messages(request)], safe=False
    )


def count(request):
    # len() loads the messages without marking them used.
    return HttpResponse(str(len(messages.get_messages(request))))


def peek(request):
    storage = messages.get_messages(request)
    shown = [str(m) for m in storage]
    storage.used = False
    return HttpResponse(repr(shown))


def add_during_iteration(request):
    shown = []
    for message in messages.get_messages(request):
        shown.append(str(message))
        messages.info(request, f"after {message}")
    return HttpResponse(repr(shown))


def quiet(request):
    return HttpResponse("no messages here")


def wsgi_flash_flash(request):
    wsgi_flash.flash(request, "From wsgi_flash.flash", "info")
    messages.warning(request, "From Django")
    return HttpResponseRedirect("/show", status=303)


def flashed(request):
    return render(request, "flashed.html")


urlpatterns = [
    path("add", add),
    path("show", show),
    path("json", as_json),
    path("count", count),
    path("peek", peek),
    path("add-during-iteration", add_during_iteration),
    path("quiet", quiet),
    path("wsgi-flash", wsgi_flash_flash),
    path("flashed", flashed),
]
