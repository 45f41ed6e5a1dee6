"""A tiny WSGI app behind MalformedRequestLogger, for the real-server tests.

Records go to the JSON-lines file named by ``WF_MALFORMED_LOG``: the
middleware's findings, and one ``app.called`` line each time the app runs, so
a test can tell "logged, app called" from "rejected by the server".
"""

from __future__ import annotations

import logging
import os
import typing as t

from pythonjsonlogger.json import JsonFormatter

from wsgi_flash.malformed import MalformedRequestLogger

app_logger = logging.getLogger("malformed_app")


def inner_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    app_logger.info("app.called", extra={"path_info": repr(environ.get("PATH_INFO"))})
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def create_app(log_path: str) -> MalformedRequestLogger:
    """Wrap the app and send both loggers to ``log_path``; returns the app."""
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(JsonFormatter("%(name)s %(levelname)s %(message)s"))
    for name in ("wsgi_flash.malformed", "malformed_app"):
        log = logging.getLogger(name)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return MalformedRequestLogger(inner_app, reject=("uri.crlf",), rate_limit=None)


# gunicorn imports this module in its worker: malformed_app:app
app = create_app(os.environ["WF_MALFORMED_LOG"]) if "WF_MALFORMED_LOG" in os.environ else None
