"""wsgi_flash with Pyramid: ``wsgi-flash serve examples.pyramid_app:application``.

Pyramid's request is a WebOb request, so the hooks use WebOb too
(``request_class=webob.Request``) and both go to :func:`wsgi_flash.flash`
as they are. PasteDeploy users can configure the same stack in their
``.ini`` instead (``egg:wsgi_flash#stack``).
"""

from __future__ import annotations

import os
from html import escape

import webob
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + Pyramid</title>
<ul>
{messages}</ul>
<p>You are {client} over {scheme}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""


def index(request):
    messages = "".join(
        f'  <li class="{escape(category)}">{escape(message)}</li>\n'
        for category, message in get_flashed_messages(request, with_categories=True)
    )
    # remote_addr is REMOTE_ADDR, as ProxyFix set it; WebOb's client_addr
    # would read X-Forwarded-For again, leftmost entry first.
    client = escape(request.remote_addr or "")
    return Response(PAGE.format(messages=messages, client=client, scheme=request.scheme))


def save(request):
    flash(request, "Saved.", "success")
    return HTTPSeeOther(location="/")


def private(request):
    return Response(f"Private page for {escape(request.cookies['user'])}.")


def client(request):
    return {"client": request.remote_addr, "scheme": request.scheme}


with Configurator() as config:
    config.add_route("index", "/")
    config.add_route("save", "/save", request_method="POST")
    config.add_route("private", "/private")
    config.add_route("client", "/client")
    config.add_view(index, route_name="index")
    config.add_view(save, route_name="save")
    config.add_view(private, route_name="private")
    config.add_view(client, route_name="client", renderer="json")
    hooks = RequestHooks(config.make_wsgi_app(), request_class=webob.Request)


@hooks.scope("/private").before_request
def require_login(request):
    # A real app checks its session; a cookie is enough for the demo.
    if "user" not in request.cookies:
        flash(request, "Log in to see that page.", "error")
        return HTTPSeeOther(location="/")
    return None


application = stack(hooks, secret_key=SECRET_KEY, proxy=PROXY)
