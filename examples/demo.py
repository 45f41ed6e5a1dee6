"""The wsgi_flash demo: all four middlewares around one plain WSGI app.

``make demo`` serves it on http://127.0.0.1:8000 with Werkzeug's
development server, from the stack in examples/demo.toml:
``wsgi-flash serve examples.demo:demo_app --config examples/demo.toml``
with ``WSGI_FLASH_SECRET_KEY`` set. The secret key comes from that variable
or is made at random when the demo starts: no key is ever published.

- ``/``: a form that flashes a message and redirects; messages show once.
- ``/account``: behind a ``before_request`` hook that flashes "please log
  in" and redirects to ``/login`` (a demo login: a plain cookie, no password).
- ``/proxy``: the client address, scheme and host as ProxyFix sees them.
- ``/log``: a link that sends a malformed request, and the last records of
  the ``wsgi_flash`` loggers (malformed requests, oversized flashes).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import random
import re
import secrets
import string
import typing as t
from urllib.parse import quote

from markupsafe import Markup
from werkzeug.serving import run_simple
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from wsgi_flash import flash, get_flashed_messages
from wsgi_flash.config import stack
from wsgi_flash.hooks import RequestHooks

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CATEGORIES = ("success", "info", "warning", "error")
#: The stack around :data:`demo_app`, but the secret key; examples/demo.toml
#: says the same.
STACK_OPTIONS: dict[str, t.Any] = {
    "flash": {"enabled": True},
    # One proxy sets X-Forwarded-For/-Proto, and only peers on loopback are
    # believed, so `curl -H "X-Forwarded-For: ..."` from this machine shows it.
    "proxy": {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]},
    "malformed": {},  # every default check, logged, nothing rejected
}
# Demo login only: anyone can set this cookie. Real apps use a signed session.
USER_COOKIE = "demo_user"
LONG_MESSAGES, LONG_MESSAGE_LENGTH = 3, 1500
BAD_LINK = "/search?q=%zz"
CHAIN_KEY = "wsgi_flash.proxy_fix.chain"
_LOCAL_PATH = re.compile(r"/(?!/)[\w\-./?=&%]*\Z", re.ASCII)


class RecentRecords(logging.Handler):
    """The last ``capacity`` records as (logger, level, message), for /log."""

    def __init__(self, capacity: int = 8) -> None:
        super().__init__()
        self.records: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append((record.name, record.levelname, record.getMessage()))
        except Exception:
            self.handleError(record)


RECENT = RecentRecords()

LAYOUT = Markup("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · wsgi_flash demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }}
nav a {{ margin-right: 1rem; }} nav {{ border-bottom: 1px solid #ccc; padding-bottom: .5rem; }}
.user {{ float: right; color: #555; }} code, td:last-child {{ overflow-wrap: anywhere; }}
.flash {{ padding: .5rem 1rem; margin: .25rem 0; border-radius: .25rem; overflow-wrap: anywhere; }}
.success {{ background: #dfd; }} .info {{ background: #def; }}
.warning {{ background: #ffd; }} .error {{ background: #fdd; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .25rem .5rem; }}
form {{ margin: .5rem 0; }}
</style></head><body>
<nav><span class="user">{user}</span><a href="/">Home</a><a href="/account">Account</a><a
href="/proxy">Proxy</a><a href="/log">Log</a></nav>
<div id="messages">{messages}</div>
<h1>{title}</h1>
{body}
</body></html>
""")

HOME = Markup("""<form method="post" action="/flash">
  <input name="message" placeholder="Message" required>
  <select name="category">{options}</select>
  <button type="submit" id="flash-it">Flash it</button>
</form>
<form method="post" action="/flash-many"><button type="submit">Flash one of each</button></form>
<form method="post" action="/flash-long"><button type="submit" id="flash-long">Flash {count}
  long messages</button></form>
<p>A message shows on the next page you open, once: reload and it is gone. The messages
live in a signed, HttpOnly cookie of their own. The long ones ({length:,} characters that do
not compress) do not all fit in a browser's 4 KB cookie: the middleware drops the oldest,
keeps the newest, and logs a WARNING (see <a href="/log">Log</a>).</p>
""")

LOGIN = Markup("""<form method="post" action="/login">
  <input type="hidden" name="next" value="{next}">
  <input name="name" placeholder="Any name" maxlength="40" required>
  <button type="submit" id="log-in">Log in</button>
</form>
<p>A demo login: no password, just a cookie.</p>
""")

ACCOUNT = Markup("""<p>Hello, <strong id="user-name">{name}</strong>. A <code>before_request</code>
hook on the <code>/account</code> scope let you in; without the login cookie it flashes
"please log in" and redirects.</p>
<form method="post" action="/logout"><button type="submit" id="log-out">Log out</button></form>
""")

PROXY = Markup("""<table id="proxy"><tr><th></th><th>as ProxyFix sees it</th>
<th>as the server handed it over</th></tr>{rows}</table>
<p>X-Forwarded-For hops: <code>{chain}</code></p>
<p>ProxyFix believes one proxy (<code>x_for=1, x_proto=1</code>), and only when the
connection comes from loopback (<code>trusted_proxies=["loopback"]</code>), so from this
machine you can play that proxy:</p>
<pre>curl -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-Proto: https' {url}</pre>
<p>From any other address the headers are ignored, with a WARNING on
<code>wsgi_flash.proxy</code>.</p>
""")

LOG = Markup("""{intro}
<p>Send a malformed request: <a id="bad-link" href="{bad_link}">{bad_link}</a>
(<code>%zz</code> is not a valid percent-escape). MalformedRequestLogger logs it on
<code>wsgi_flash.malformed</code> and lets it through.</p>
<h2>Last records of the wsgi_flash loggers</h2>
<table id="records"><tr><th>logger</th><th>level</th><th>message</th></tr>{rows}</table>
<p>Kept in memory by this demo (the last {capacity}, from every visitor).</p>
""")


def page(request: Request, title: str, body: Markup) -> Response:
    messages = Markup("").join(
        Markup('<div class="flash {}">{}</div>').format(category, message)
        for category, message in get_flashed_messages(request, with_categories=True)
    )
    name = request.cookies.get(USER_COOKIE)
    user = (
        Markup('Logged in as {} · <a href="/account">account</a>').format(name)
        if name
        else Markup('<a href="/login">Log in</a>')
    )
    html = LAYOUT.format(title=title, user=user, messages=messages, body=body)
    return Response(html, mimetype="text/html")


def local_path(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/`` (no open redirect)."""
    return value if value and _LOCAL_PATH.match(value) else "/"


def long_message(number: int) -> str:
    # Seeded so every click flashes the same text; random letters so zlib
    # cannot shrink the cookie below the browser's limit.
    text = "".join(random.Random(number).choices(string.ascii_letters, k=LONG_MESSAGE_LENGTH))
    return f"Long message {number} of {LONG_MESSAGES}: {text}"


def records_table() -> Markup:
    return Markup("").join(
        Markup("<tr><td>{}</td><td>{}</td><td>{}</td></tr>").format(*record)
        # A copy first: the server's other threads may log while we iterate.
        for record in reversed(list(RECENT.records))
    )


def home(request: Request) -> Response:
    options = Markup("").join(Markup("<option>{}</option>").format(c) for c in CATEGORIES)
    body = HOME.format(options=options, count=LONG_MESSAGES, length=LONG_MESSAGE_LENGTH)
    return page(request, "wsgi_flash demo", body)


def post_flash(request: Request) -> Response:
    category = request.form.get("category", "info")
    message = request.form.get("message", "").strip()
    if message:
        flash(request, message, category if category in CATEGORIES else "info")
    else:
        flash(request, "Type a message first.", "error")
    return redirect("/", 303)


def post_flash_many(request: Request) -> Response:
    for category in CATEGORIES:
        flash(request, f"A {category} message.", category)
    return redirect("/", 303)


def post_flash_long(request: Request) -> Response:
    for number in range(1, LONG_MESSAGES + 1):
        flash(request, long_message(number), "info")
    return redirect("/", 303)


def login(request: Request) -> Response:
    target = local_path(request.values.get("next"))
    if request.method != "POST":
        return page(request, "Log in", LOGIN.format(next=target))
    name = request.form.get("name", "").strip()[:40]
    if not name:
        flash(request, "Type a name to log in as.", "error")
        return redirect("/login?next=" + quote(target), 303)
    flash(request, f"Logged in as {name}.", "success")
    response = redirect(target, 303)
    response.set_cookie(USER_COOKIE, name, httponly=True, samesite="Lax")
    return response


def logout(request: Request) -> Response:
    flash(request, "Logged out.", "info")
    response = redirect("/", 303)
    response.delete_cookie(USER_COOKIE, httponly=True, samesite="Lax")
    return response


def account(request: Request) -> Response:
    # Only reached when require_login let the request through.
    return page(request, "Your account", ACCOUNT.format(name=request.cookies[USER_COOKIE]))


def proxy(request: Request) -> Response:
    orig = request.environ.get("wsgi_flash.proxy_fix.orig") or {}
    fields = [
        ("Client address", request.remote_addr, orig.get("REMOTE_ADDR")),
        ("Scheme", request.scheme, orig.get("wsgi.url_scheme")),
        ("Host", request.host, orig.get("HTTP_HOST")),
    ]
    rows = Markup("").join(
        Markup("<tr><th>{}</th><td>{}</td><td>{}</td></tr>").format(*field) for field in fields
    )
    chain = ", ".join(hop.get("for", "?") for hop in request.environ.get(CHAIN_KEY, ()))
    url = f"http://{orig.get('HTTP_HOST') or request.host}/proxy"
    return page(request, "Proxy", PROXY.format(rows=rows, chain=chain or "none", url=url))


def log(request: Request, intro: Markup | None = None, title: str = "Log") -> Response:
    body = LOG.format(
        intro=intro or "", bad_link=BAD_LINK, rows=records_table(), capacity=RECENT.records.maxlen
    )
    return page(request, title, body)


def search(request: Request) -> Response:
    intro = Markup('<p>You searched for <code id="query">{}</code>.</p>').format(
        request.args.get("q", "")
    )
    return log(request, intro, "Search")


ROUTES: dict[tuple[str, str], t.Callable[[Request], Response]] = {
    ("GET", "/"): home,
    ("POST", "/flash"): post_flash,
    ("POST", "/flash-many"): post_flash_many,
    ("POST", "/flash-long"): post_flash_long,
    ("GET", "/login"): login,
    ("POST", "/login"): login,
    ("POST", "/logout"): logout,
    ("GET", "/account"): account,
    ("GET", "/proxy"): proxy,
    ("GET", "/log"): log,
    ("GET", "/search"): search,
}


def routes(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
    request = Request(environ)
    method = "GET" if request.method == "HEAD" else request.method
    view = ROUTES.get((method, request.path))
    response = view(request) if view else Response("Not Found", status=404)
    return response(environ, start_response)


#: The app with its request hooks, ready for the stack (``wsgi-flash serve``
#: wraps it in the stack that examples/demo.toml configures).
demo_app = RequestHooks(routes)


@demo_app.scope("/account").before_request
def require_login(request: Request) -> Response | None:
    if request.cookies.get(USER_COOKIE):
        return None
    flash(request, "Please log in to see your account.", "warning")
    return redirect("/login?next=" + quote(request.path), 303)


def create_app(secret_key: str | None = None) -> WSGIApplication:
    """The demo app wrapped in all four middlewares by :func:`stack`, with
    ``secret_key``, else ``WSGI_FLASH_SECRET_KEY``, else a random key (so
    pending messages do not survive a restart)."""
    logger = logging.getLogger("wsgi_flash")
    if RECENT not in logger.handlers:
        logger.addHandler(RECENT)
    key = secret_key or os.environ.get("WSGI_FLASH_SECRET_KEY") or secrets.token_hex(32)
    return stack(demo_app, secret_key=key, **STACK_OPTIONS)


app = create_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(f"wsgi_flash demo on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
