"""The wsgi_flash demo: a plain WSGI app, no framework.

``make demo`` serves it on http://127.0.0.1:8000 with Werkzeug's
development server. The form flashes a message of the chosen category and
redirects; the page shows pending messages once.
"""

from __future__ import annotations

import argparse
import os
import typing as t

from markupsafe import Markup, escape
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from wsgi_flash import FlashMiddleware, flash, get_flashed_messages

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CATEGORIES = ("success", "info", "warning", "error")
# A fixed key keeps the demo's cookies valid across restarts; never use it in production.
DEMO_SECRET_KEY = "demo-only-secret-key-do-not-use-in-production"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsgi_flash demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }}
.flash {{ padding: .5rem 1rem; margin: .25rem 0; border-radius: .25rem; }}
.success {{ background: #dfd; }} .info {{ background: #def; }}
.warning {{ background: #ffd; }} .error {{ background: #fdd; }}
</style></head><body>
<h1>wsgi_flash demo</h1>
<div id="messages">{messages}</div>
<form method="post" action="/flash">
  <input name="message" placeholder="Message" required>
  <select name="category">{options}</select>
  <button type="submit">Flash it</button>
</form>
<form method="post" action="/flash-many"><button type="submit">Flash one of each</button></form>
<p>Messages show once: reload and they are gone.</p>
</body></html>
"""


def render(request: Request) -> Response:
    items = "".join(
        f'<div class="flash {escape(category)}">{escape(message)}</div>'
        for category, message in get_flashed_messages(request, with_categories=True)
    )
    options = "".join(f"<option>{c}</option>" for c in CATEGORIES)
    return Response(PAGE.format(messages=Markup(items), options=options), mimetype="text/html")


def demo_app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
    request = Request(environ)
    response: Response
    if request.path == "/flash" and request.method == "POST":
        category = request.form.get("category", "info")
        if category not in CATEGORIES:
            category = "info"
        message = request.form.get("message", "").strip()
        if message:
            flash(request, message, category)
        else:
            flash(request, "Type a message first.", "error")
        response = Response(status=303, headers={"Location": "/"})
    elif request.path == "/flash-many" and request.method == "POST":
        for category in CATEGORIES:
            flash(request, f"A {category} message.", category)
        response = Response(status=303, headers={"Location": "/"})
    elif request.path == "/":
        response = render(request)
    else:
        response = Response("Not Found", status=404)
    return response(environ, start_response)


def create_app(secret_key: str | None = None) -> WSGIApplication:
    """The demo app wrapped in wsgi_flash's middlewares."""
    key = secret_key or os.environ.get("WSGI_FLASH_SECRET_KEY") or DEMO_SECRET_KEY
    return FlashMiddleware(demo_app, secret_key=key)


app = create_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    print(f"wsgi_flash demo on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    run_simple(args.host, args.port, app, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
