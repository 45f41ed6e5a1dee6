"""An app that never reads the request body, behind MalformedRequestLogger
with a logging body check, for the slow-client test under real gunicorn."""

from __future__ import annotations

import typing as t

from wsgi_flash.malformed import MalformedRequestLogger


def inner_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


# gunicorn imports this module in its worker: body_check_app:app
app = MalformedRequestLogger(inner_app, enable=("body.json",))
