"""The headline: what wsgi_flash adds to a minimal Flask app, in one run.

Every request here is what a browser sends through one trusted proxy on
127.0.0.1 (``X-Forwarded-For``, ``X-Forwarded-Proto``, a ``Cookie``
header, ``Accept`` headers), as gunicorn hands it over (``RAW_URI`` set).
The rows:

- the full stack (``wsgi_flash.stack``: ProxyFix, the malformed-request
  logger, flash and RequestHooks) around a minimal Flask app, as the share
  it adds to that Flask request: the headline; and the same options
  installed with ``wsgi_flash.flask.init_app``;
- a request that carries an unread flash cookie and does not read it,
  inside a Flask app using ``init_app``;
- ``flask.flash`` + redirect and ``flask.get_flashed_messages`` in a view,
  with ``init_app`` (the flash cookie) and without it (Flask's own, in its
  session cookie), in two instances of the same app; each "added" figure is
  the same app with and without the flash call.

Cases compared with each other are timed in interleaved rounds, best of
each, so a burst of load on a shared machine does not decide a row.
"""

from __future__ import annotations

import logging
import typing as t

import flask
from harness import Bench, expect_status, make_environ
from werkzeug.test import Client

import wsgi_flash
import wsgi_flash.flask

GROUP = "flask"
SECRET = "benchmark-secret-key-0123456789abcdef"
#: The full stack: ProxyFix trusting the proxy on loopback, the
#: malformed-request logger rejecting bad escapes, flash, RequestHooks.
FULL_STACK: dict[str, t.Any] = {
    "secret_key": SECRET,
    "proxy": {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]},
    "malformed": {"reject": ["uri.percent_encoding"]},
    "hooks": {},
}
#: Cookies a site sets besides ours (none of them Flask's session).
SITE_COOKIES = (
    "theme=dark; consent=necessary%2Canalytics; _pk_id.1.1fff=4b2f8a1c9e3d7a60.1733400000."
)
#: A browser's request as gunicorn hands it over behind a proxy on 127.0.0.1.
BROWSER_VIA_PROXY = {
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "51764",
    "SERVER_SOFTWARE": "gunicorn/27.0.1",
    "HTTP_HOST": "www.example.com",
    "HTTP_X_FORWARDED_FOR": "203.0.113.7",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_CONNECTION": "close",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br, zstd",
    "HTTP_UPGRADE_INSECURE_REQUESTS": "1",
    "HTTP_SEC_FETCH_DEST": "document",
    "HTTP_SEC_FETCH_MODE": "navigate",
    "HTTP_SEC_FETCH_SITE": "same-origin",
    "HTTP_COOKIE": SITE_COOKIES,
}


def browser_environ(path: str = "/", cookie: str = "") -> dict[str, t.Any]:
    """The browser's ``GET path`` via the proxy, with ``cookie`` (``name=value``)
    added to the site's cookies."""
    environ = make_environ(path, RAW_URI=path, **BROWSER_VIA_PROXY)
    if cookie:
        environ["HTTP_COOKIE"] = f"{SITE_COOKIES}; {cookie}"
    return environ


def minimal_flask() -> flask.Flask:
    """One route returning a string; no secret key, no session."""
    app = flask.Flask(__name__)

    @app.route("/")
    def index() -> str:
        return "Hello, world!"

    return app


def flashing_flask(*, ours: bool) -> flask.Flask:
    """The minimal app with a secret key and views that flash and read;
    ``ours`` installs wsgi_flash with ``init_app`` (the key is Flask's), so
    the same ``flask.flash`` calls go to the flash cookie instead of
    Flask's session."""
    app = minimal_flask()
    app.secret_key = SECRET

    @app.route("/redirect")
    def redirect() -> t.Any:
        return flask.redirect("/")

    @app.route("/flash")
    def flash_redirect() -> t.Any:
        flask.flash("Your changes were saved.", "success")
        return flask.redirect("/")

    @app.route("/read")
    def read() -> str:
        return "ok" if flask.get_flashed_messages(with_categories=True) else "none"

    if ours:
        wsgi_flash.flask.init_app(app)
    return app


def stacked_flask() -> t.Callable[..., t.Any]:
    """The headline: the minimal app in ``wsgi_flash.stack``."""
    return wsgi_flash.stack(minimal_flask(), **FULL_STACK)


def init_app_flask() -> flask.Flask:
    """The minimal app with the same options installed by ``init_app``."""
    app = minimal_flask()
    wsgi_flash.flask.init_app(app, **FULL_STACK)
    return app


def flashed_cookie(app: t.Any, name: str) -> str:
    """``name=value`` of the cookie ``app`` sets on ``GET /flash``, checked
    to be read back by ``GET /read``."""
    client = Client(app)
    client.get("/flash")
    cookie = client.get_cookie(name)
    assert cookie is not None, f"/flash set no {name} cookie"
    value = f"{name}={cookie.value}"
    body = b"".join(app(browser_environ("/read", value), lambda *args: None))
    assert body == b"ok", f"/read did not see the message in {value}"
    return value


class _Warnings(logging.Handler):
    """Counts WARNING records on wsgi_flash's loggers: a bench request that
    logs one measures the wrong path."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run(bench: Bench) -> None:
    warnings = _Warnings()
    logging.getLogger("wsgi_flash").addHandler(warnings)
    try:
        _run(bench)
    finally:
        logging.getLogger("wsgi_flash").removeHandler(warnings)
    if warnings.records:
        raise SystemExit(f"{GROUP}: a case logged {warnings.records[0].getMessage()!r}")


def _run(bench: Bench) -> None:
    browser = browser_environ("/")
    minimal, stacked, installed = minimal_flask(), stacked_flask(), init_app_flask()
    ours, own = flashing_flask(ours=True), flashing_flask(ours=False)
    ours_cookie = flashed_cookie(ours, "flash")
    own_cookie = flashed_cookie(own, "session")
    cases = {
        "flask": (minimal, browser),
        "stack": (stacked, browser),
        "init_app": (installed, browser),
        "ours index": (ours, browser),
        "ours unread": (ours, browser_environ("/", ours_cookie)),
        "ours redirect": (ours, browser_environ("/redirect")),
        "ours flash": (ours, browser_environ("/flash")),
        "ours read empty": (ours, browser_environ("/read")),
        "ours read": (ours, browser_environ("/read", ours_cookie)),
        "own redirect": (own, browser_environ("/redirect")),
        "own flash": (own, browser_environ("/flash")),
        "own read empty": (own, browser_environ("/read")),
        "own read": (own, browser_environ("/read", own_cookie)),
    }
    for name, (app, environ) in cases.items():
        expect_status(app, environ, "302" if "redirect" in name or "flash" in name else "200")
    us = bench.best({name: (app, environ, None) for name, (app, environ) in cases.items()})

    flask_us = us["flask"]
    bench.row(GROUP, "minimal Flask app, browser request via proxy", flask_us)
    for name, case in (
        ("stack", "  + wsgi_flash.stack(): proxy, malformed, flash, hooks"),
        ("init_app", "  + the same options with init_app()"),
    ):
        added = us[name] - flask_us
        share = added / flask_us
        bench.row(GROUP, case, us[name], added=added, compare=f"{share:+.0%} of the Flask request")
        if name == "stack":
            bench.headline = (
                f"the full stack adds {share:+.1%} to a minimal Flask request"
                f" ({added:+.2f} µs on {flask_us:.2f} µs)"
            )

    bench.row(GROUP, "Flask + init_app(), flash from Flask's key", us["ours index"])
    added = us["ours unread"] - us["ours index"]
    bench.row(
        GROUP,
        "  an unread flash cookie, not read",
        us["ours unread"],
        added=added,
        compare=f"{added / flask_us:+.0%} of a Flask request",
    )
    own_set = us["own flash"] - us["own redirect"]
    own_read = us["own read"] - us["own read empty"]
    bench.row(
        GROUP, "Flask's flash + redirect", us["own flash"], added=own_set, compare="vs redirect"
    )
    bench.row(
        GROUP, "Flask's read + clear", us["own read"], added=own_read, compare="vs empty read"
    )
    for case, key, base, anchor in (
        ("init_app flask.flash + redirect", "ours flash", "ours redirect", own_set),
        ("init_app read + clear", "ours read", "ours read empty", own_read),
    ):
        added = us[key] - us[base]
        bench.row(GROUP, case, us[key], added=added, compare=f"{added / anchor:.2f} x Flask's")
