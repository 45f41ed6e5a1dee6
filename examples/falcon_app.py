"""wsgi_flash with Falcon: ``wsgi-flash serve examples.falcon_app:application``.

Falcon's request carries the environ as ``req.env``, which
:func:`wsgi_flash.flash` accepts as it is; ``req.remote_addr`` and
``req.scheme`` are the environ's values, as ProxyFix set them.
"""

from __future__ import annotations

import os
from html import escape

import falcon

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + Falcon</title>
<ul>
{messages}</ul>
<p>You are {client} over {scheme}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""


class Index:
    def on_get(self, req, resp):
        messages = "".join(
            f'  <li class="{escape(category)}">{escape(message)}</li>\n'
            for category, message in get_flashed_messages(req, with_categories=True)
        )
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE.format(
            messages=messages, client=escape(req.remote_addr), scheme=req.scheme
        )


class Save:
    def on_post(self, req, resp):
        flash(req, "Saved.", "success")
        raise falcon.HTTPSeeOther("/")


class Private:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.text = f"Private page for {escape(req.cookies['user'])}."


class Client:
    def on_get(self, req, resp):
        resp.media = {"client": req.remote_addr, "scheme": req.scheme}


app = falcon.App()
app.add_route("/", Index())
app.add_route("/save", Save())
app.add_route("/private", Private())
app.add_route("/client", Client())

hooks = RequestHooks(app)


@hooks.scope("/private").before_request
def require_login(request):
    # A real app checks its session; a cookie is enough for the demo.
    if "user" not in request.cookies:
        flash(request, "Log in to see that page.", "error")
        return "", 303, {"Location": "/"}
    return None


application = stack(hooks, secret_key=SECRET_KEY, proxy=PROXY)
