"""wsgi_flash with Flask: ``flask --app examples.flask_app run``.

``init_app(app)`` installs the stack around ``app.wsgi_app``, configured
from ``app.config``: Flask's ``SECRET_KEY`` signs the flash cookie (with a
salt of its own), and ``WSGI_FLASH_PROXY`` makes ProxyFix trust one proxy on
this host. Views and the template use Flask's own ``flash`` and
``get_flashed_messages``; the messages travel in the wsgi_flash cookie. A
RequestHooks login gate runs in front of Flask.

The same app runs under ``gunicorn examples.flask_app:app``, with or without
``-c python:wsgi_flash.gunicorn``: when that config installs the stack too,
the app's own stack steps aside, so nothing is handled twice.
"""

from __future__ import annotations

import os

from flask import Flask, flash, redirect, render_template_string, request
from markupsafe import escape

import wsgi_flash
from wsgi_flash import RequestHooks
from wsgi_flash.flask import init_app

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY (or Flask's
# FLASK_SECRET_KEY) in production.
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
app.config.from_mapping(SECRET_KEY=SECRET_KEY, WSGI_FLASH_PROXY=PROXY)
app.config.from_prefixed_env()  # FLASK_SECRET_KEY=..., as Flask apps read it


@app.get("/")
def index():
    return render_template_string(PAGE)


@app.post("/save")
def save():
    flash("Saved.", "success")
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
        wsgi_flash.flash(hook_request, "Log in to see that page.", "error")
        return "", 303, {"Location": "/"}
    return None


app.wsgi_app = hooks
init_app(app)
