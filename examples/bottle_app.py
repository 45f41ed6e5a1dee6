"""wsgi_flash with Bottle: ``wsgi-flash serve examples.bottle_app:application``.

Bottle's ``request.remote_addr`` and ``request.urlparts`` read
X-Forwarded-For and X-Forwarded-Proto themselves, from any client, so this
app reads ``REMOTE_ADDR`` and ``wsgi.url_scheme`` from the environ, where
ProxyFix put the values it trusts.
"""

from __future__ import annotations

import os

from bottle import Bottle, html_escape, redirect, request, template

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + Bottle</title>
<ul>
% for category, message in messages:
  <li class="{{category}}">{{message}}</li>
% end
</ul>
<p>You are {{client}} over {{scheme}}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""

app = Bottle()


@app.get("/")
def index():
    return template(
        PAGE,
        messages=get_flashed_messages(request, with_categories=True),
        client=request.environ.get("REMOTE_ADDR"),
        scheme=request.environ["wsgi.url_scheme"],
    )


@app.post("/save")
def save():
    flash(request, "Saved.", "success")
    redirect("/", 303)


@app.get("/private")
def private():
    return f"Private page for {html_escape(request.cookies['user'])}."


@app.get("/client")
def client():
    return {
        "client": request.environ.get("REMOTE_ADDR"),
        "scheme": request.environ["wsgi.url_scheme"],
    }


hooks = RequestHooks(app)


@hooks.scope("/private").before_request
def require_login(hook_request):
    # A real app checks its session; a cookie is enough for the demo.
    if "user" not in hook_request.cookies:
        flash(hook_request, "Log in to see that page.", "error")
        return "", 303, {"Location": "/"}
    return None


application = stack(hooks, secret_key=SECRET_KEY, proxy=PROXY)
