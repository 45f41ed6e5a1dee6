"""The apps that ``make loadtest`` serves with gunicorn, four times.

``flask_app`` is the bench's minimal Flask app (one route returning a
string) and ``flask_stacked`` the same in the bench's full stack (see
``cases_flask.py``, whose headline the load test repeats under gunicorn).

``bare`` is a small WSGI app alone; ``stacked`` is the same app inside all
four middlewares, configured as a deployment behind a local proxy would be.
The paths answer alike in both, so the two servers get the same traffic:

-   ``/`` answers ``ok``;
-   ``/flash`` flashes a message (stack only) and redirects with 303;
-   ``/read`` reads the flashed messages (stack only);
-   ``/client`` answers the client address the app sees;
-   anything else answers ``ok``; the stack rejects ``/a%zz`` with 400.
"""

from __future__ import annotations

import typing as t

from cases_flask import minimal_flask, stacked_flask

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

SECRET_KEY = "loadtest-secret-key-0123456789abcdef"
#: What the stack's ProxyFix must make of ``X-Forwarded-For`` from 127.0.0.1.
FORWARDED_CLIENT = "203.0.113.7"
FLASHED = "Your changes were saved."
HOOK_HEADER = ("X-Content-Type-Options", "nosniff")

App = t.Callable[[dict[str, t.Any], t.Callable[..., t.Any]], t.Iterable[bytes]]


def make_app(flashing: bool) -> App:
    """The app; with ``flashing`` it flashes on ``/flash`` and reads on
    ``/read``, which only works inside the flash middleware."""

    def app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/flash":
            if flashing:
                flash(environ, FLASHED, "success")
            start_response("303 See Other", [("Location", "/read"), ("Content-Length", "0")])
            return [b""]
        if path == "/read":
            messages = get_flashed_messages(environ) if flashing else []
            body = "\n".join(messages).encode() or b"none"
        elif path == "/client":
            body = environ.get("REMOTE_ADDR", "").encode()
        else:
            body = b"ok"
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]

    return app


def _before(request: t.Any) -> None:
    return None


def _after(request: t.Any, response: t.Any) -> t.Any:
    response.headers[HOOK_HEADER[0]] = HOOK_HEADER[1]
    return response


def make_stacked() -> App:
    """The app in the full stack: ProxyFix trusting loopback, the malformed
    logger rejecting bad percent-escapes, flash, and a before and an after
    hook."""
    hooks = RequestHooks(make_app(flashing=True))
    hooks.before_request(_before)
    hooks.after_request(_after)
    return stack(
        hooks,
        secret_key=SECRET_KEY,
        proxy={"x_for": 1, "trusted_proxies": ["loopback"]},
        malformed={"reject": ["uri.percent_encoding"]},
    )


bare = make_app(flashing=False)
stacked = make_stacked()
flask_app = minimal_flask()
flask_stacked = stacked_flask()
