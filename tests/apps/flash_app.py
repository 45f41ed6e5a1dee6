"""A bare WSGI app for the server tests: it knows nothing of wsgi_flash's
configuration; the gunicorn hook, the CLI or PasteDeploy wraps it."""

from __future__ import annotations

import json
import os
import time
import typing as t
from urllib.parse import parse_qs

from wsgi_flash import flash, get_flashed_messages, peek_flashed_messages


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/flash":
        flash(environ, query.get("m", "hello"), query.get("c", "message"))
        start_response("303 See Other", [("Location", "/read")])
        return [b""]
    if "sleep" in query:
        time.sleep(min(float(query["sleep"]), 2.0))
    data: dict[str, t.Any] = {"pid": os.getpid(), "remote_addr": environ.get("REMOTE_ADDR")}
    if path == "/read":
        data["messages"] = get_flashed_messages(environ, with_categories=True)
    elif path == "/peek":
        data["messages"] = peek_flashed_messages(environ, with_categories=True)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


def factory() -> t.Callable[..., list[bytes]]:
    return app


def paste_app(global_conf: dict[str, str], **local_conf: str) -> t.Callable[..., list[bytes]]:
    return app
