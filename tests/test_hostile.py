"""Hostile requests through the full stack."""

from __future__ import annotations

import typing as t

from werkzeug.test import Client

from wsgi_flash import ProxyFix

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def test_forwarded_mode_that_removes_untrusted_headers_takes_x_forwarded_from_a_proxy() -> None:
    """remove_untrusted_headers watches every proxy header, so a trusted peer
    sending only X-Forwarded-For reached the Forwarded parser, which raised
    KeyError (a 500 to every such request)."""
    seen: list[str] = []

    def inner(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.append(environ["REMOTE_ADDR"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    fixed = ProxyFix(
        inner, forwarded=1, trusted_proxies=["loopback"], remove_untrusted_headers=True
    )
    response = Client(fixed).get(
        "/", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert response.status_code == 200
    assert seen == ["127.0.0.1"]  # X-Forwarded-For is not what forwarded=1 reads
