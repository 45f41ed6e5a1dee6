"""wsgi_flash around a bare WSGI callable, no framework:
``wsgi-flash serve examples.bare_app:application``.

The functions take the environ itself; the hooks get a Werkzeug request.
"""

from __future__ import annotations

import json
import os
from html import escape
from http.cookies import SimpleCookie

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

# Demo only: anyone can read this key. Set WSGI_FLASH_SECRET_KEY in production.
SECRET_KEY = os.environ.get(
    "WSGI_FLASH_SECRET_KEY", "demo-only-secret-key-do-not-use-in-production"
)
# One proxy (nginx, say) on this host sets X-Forwarded-For and X-Forwarded-Proto.
PROXY = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}

PAGE = """<!doctype html>
<title>wsgi_flash + bare WSGI</title>
<ul>
{messages}</ul>
<p>You are {client} over {scheme}.</p>
<form method="post" action="/save"><button>Save</button></form>
<p><a href="/private">Private page</a></p>
"""


def app(environ, start_response):
    path, method = environ.get("PATH_INFO", "/"), environ["REQUEST_METHOD"]
    client = environ.get("REMOTE_ADDR", "")
    scheme = environ["wsgi.url_scheme"]
    if path == "/save" and method == "POST":
        flash(environ, "Saved.", "success")
        start_response("303 See Other", [("Location", "/"), ("Content-Length", "0")])
        return [b""]
    if path == "/private":
        user = SimpleCookie(environ.get("HTTP_COOKIE", ""))["user"].value
        body, content_type = f"Private page for {escape(user)}.", "text/html; charset=utf-8"
    elif path == "/client":
        body = json.dumps({"client": client, "scheme": scheme})
        content_type = "application/json"
    elif path == "/":
        messages = "".join(
            f'  <li class="{escape(category)}">{escape(message)}</li>\n'
            for category, message in get_flashed_messages(environ, with_categories=True)
        )
        body = PAGE.format(messages=messages, client=escape(client), scheme=scheme)
        content_type = "text/html; charset=utf-8"
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    data = body.encode("utf-8")
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


hooks = RequestHooks(app)


@hooks.scope("/private").before_request
def require_login(request):
    # A real app checks its session; a cookie is enough for the demo.
    if "user" not in request.cookies:
        flash(request, "Log in to see that page.", "error")
        return "", 303, {"Location": "/"}
    return None


application = stack(hooks, secret_key=SECRET_KEY, proxy=PROXY)
