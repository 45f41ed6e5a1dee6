"""wsgi_flash with Flask: ``flask --app examples.flask_app run``.

Views and the template use Flask's names, ``flash`` and
``get_flashed_messages``, backed by wsgi_flash's cookie (no Flask session and
no ``SECRET_KEY`` needed). A RequestHooks login gate runs in front of Flask,
and ProxyFix trusts one proxy on this host.
"""

from __future__ import annotations

import os

from flask import Flask, redirect, render_template_string, request
from markupsafe import escape

from wsgi_flash import RequestHooks, flash
from wsgi_flash.flask import flash as flask_flash
from wsgi_flash.flask import init_app

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + Flask</title>
<ul>
{%- for category, message in get_flashed_messages(with_categories=true) %}
  <li class="{{ category }}">{{ message }}</li>
{%- endfor %}
</ul>
<p>You are {{ request.remote_addr }} over {{ request.scheme }}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""

app = Flask(__name__)


@app.get("/")
def index():
    return render_template_string(PAGE)


@app.post("/save")
def save():
    flask_flash("Saved.", "success")
    return redirect("/", 303)


@app.get("/private")
def private():
    return f"Private page for {escape(request.cookies['user'])}."


@app.get("/client")
def client():
    return {"client": request.remote_addr, "scheme": request.scheme}


# Flask has its own before_request; RequestHooks is the same gate written
# once for every framework, and it runs before Flask routes the request.
hooks = RequestHooks(app.wsgi_app)


@hooks.scope("/private").before_request
def require_login(hook_request):
    # A real app checks its session; a cookie is enough for the demo.
    if "user" not in hook_request.cookies:
        flash(hook_request, "Log in to see that page.", "error")
        return "", 303, {"Location": "/"}
    return None


app.wsgi_app = hooks
init_app(app, secret_key=SECRET_KEY, proxy=PROXY)
