"""wsgi_flash with Pyramid: ``wsgi-flash serve examples.pyramid_app:application``.

``config.include("wsgi_flash.pyramid")`` adds the flash tween and
``request.flash`` / ``request.pop_flash`` / ``request.peek_flash``, with
Pyramid's queues, stored in the wsgi_flash cookie. ``main`` is the
PasteDeploy app factory, for ``pserve`` and an ``.ini``::

    [app:main]
    use = call:examples.pyramid_app:main
    wsgi_flash.secret_key = ...

Only ProxyFix wraps the WSGI application: it is for the deployment, not the
app (with PasteDeploy, ``egg:wsgi_flash#proxy_fix`` in a pipeline).
"""

from __future__ import annotations

import os
from html import escape

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response

from wsgi_flash import stack

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
QUEUES = ("success", "error")


def index(request):
    messages = "".join(
        f'  <li class="{queue}">{escape(message)}</li>\n'
        for queue in QUEUES
        for message in request.pop_flash(queue)
    )
    # remote_addr is REMOTE_ADDR, as ProxyFix set it; WebOb's client_addr
    # would read X-Forwarded-For again, leftmost entry first.
    client = escape(request.remote_addr or "")
    return Response(PAGE.format(messages=messages, client=client, scheme=request.scheme))


def save(request):
    request.flash("Saved.", "success")
    return HTTPSeeOther(location="/")


def private(request):
    # A real app uses its security policy; a cookie is enough for the demo.
    if "user" not in request.cookies:
        request.flash("Log in to see that page.", "error")
        return HTTPSeeOther(location="/")
    return Response(f"Private page for {escape(request.cookies['user'])}.")


def client(request):
    return {"client": request.remote_addr, "scheme": request.scheme}


def main(global_config=None, **settings):
    """The Pyramid app, configured by ``settings`` (``wsgi_flash.*`` keys)."""
    with Configurator(settings=settings) as config:
        config.include("wsgi_flash.pyramid")
        config.add_route("index", "/")
        config.add_route("save", "/save", request_method="POST")
        config.add_route("private", "/private")
        config.add_route("client", "/client")
        config.add_view(index, route_name="index")
        config.add_view(save, route_name="save")
        config.add_view(private, route_name="private")
        config.add_view(client, route_name="client", renderer="json")
        return config.make_wsgi_app()


app = main(**{"wsgi_flash.secret_key": SECRET_KEY})
application = stack(app, proxy=PROXY)
