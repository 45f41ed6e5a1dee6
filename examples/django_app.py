"""wsgi_flash with Django, as a one-file project.

Run it with any WSGI server, e.g. ``gunicorn examples.django_app`` or
``wsgi-flash serve examples.django_app:application``. In a real project the
settings live in ``settings.py`` and the last lines in ``wsgi.py``.

Django's messages framework stores in the wsgi_flash cookie
(``MESSAGE_STORAGE``), and ``wsgi_flash.django.FlashMiddleware`` in
``MIDDLEWARE`` reads and writes that cookie, so Django's test ``Client``
goes through it too. Only ProxyFix wraps the WSGI application: it is for
the deployment, not the app.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib import messages
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.html import escape
from django.views.decorators.http import require_POST

from wsgi_flash import stack

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + Django</title>
<ul>
{% for message in messages %}  <li class="{{ message.tags }}">{{ message }}</li>
{% endfor %}</ul>
<p>You are {{ request.META.REMOTE_ADDR }} over {{ request.scheme }}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""

if not settings.configured:
    settings.configure(
        DEBUG=False,
        # Django's own key signs sessions and password-reset links: it is not
        # the flash cookie's key, which other services share.
        SECRET_KEY="demo-only-django-key-" + SECRET_KEY,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["localhost", "127.0.0.1", "testserver"],
        INSTALLED_APPS=["django.contrib.messages"],
        # No sessions or CSRF, to stay short; a real project keeps its MIDDLEWARE.
        MIDDLEWARE=[
            "wsgi_flash.django.FlashMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        MESSAGE_STORAGE="wsgi_flash.django.FlashStorage",
        WSGI_FLASH={"secret_key": SECRET_KEY},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "loaders": [("django.template.loaders.locmem.Loader", {"page.html": PAGE})],
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.messages.context_processors.messages",
                        "wsgi_flash.django.flash_messages",
                    ],
                },
            }
        ],
    )


def index(request):
    return render(request, "page.html")


@require_POST
def save(request):
    messages.success(request, "Saved.")
    return HttpResponseRedirect("/", status=303)


def private(request):
    # A real app checks its session (or uses login_required); a cookie is
    # enough for the demo.
    if "user" not in request.COOKIES:
        messages.error(request, "Log in to see that page.")
        return HttpResponseRedirect("/", status=303)
    return HttpResponse(f"Private page for {escape(request.COOKIES['user'])}.")


def client(request):
    return JsonResponse({"client": request.META["REMOTE_ADDR"], "scheme": request.scheme})


urlpatterns = [
    path("", index),
    path("save", save),
    path("private", private),
    path("client", client),
]

application = stack(get_wsgi_application(), proxy=PROXY)
