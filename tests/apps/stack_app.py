"""The full stack, built with ``stack()``, for the server-matrix tests.

Two stacks share one module so every server starts once: paths under
``/untrusted/`` go through a ProxyFix that trusts only 192.0.2.0/24 (a peer
on loopback is untrusted there), every other path through one that trusts
loopback, as the README's nginx set-ups do. Both have flash, the malformed
logger (rejecting ``uri.nul_byte`` and ``uri.crlf``) and request hooks that
record their order.

``/flash?m=...`` flashes and redirects to ``/read``; ``/read`` consumes;
any other path answers JSON describing the environ the app got.
``/teardowns`` lists the teardown calls seen so far by this process, and
``/plain/`` is the stack without ProxyFix.
"""

from __future__ import annotations

import json
import os
import typing as t
from urllib.parse import parse_qs

from wsgi_flash import RequestHooks, flash, get_flashed_messages, stack

SECRET = "server-matrix-secret-key-0123456789"
TEARDOWNS: list[str] = []


def view(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    calls = environ.setdefault("stack_app.calls", [])
    calls.append("view")
    if path.endswith("/flash"):
        flash(environ, query.get("m", "hello"), query.get("c", "message"))
        start_response("303 See Other", [("Location", "/read")])
        return [b""]
    data: dict[str, t.Any] = {
        "pid": os.getpid(),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "scheme": environ.get("wsgi.url_scheme"),
        "host": environ.get("HTTP_HOST"),
        "path_info": environ.get("PATH_INFO"),
        "raw_target": environ.get("RAW_URI") or environ.get("REQUEST_URI"),
        "x_forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "forwarded": environ.get("HTTP_FORWARDED"),
        "calls": list(calls),
        "server": environ.get("SERVER_SOFTWARE"),
    }
    if path.endswith("/read"):
        data["messages"] = get_flashed_messages(environ, with_categories=True)
    elif path.endswith("/teardowns"):
        data["teardowns"] = TEARDOWNS[-20:]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


def with_hooks(app: t.Any) -> RequestHooks:
    hooks = RequestHooks(app)

    def record(name: str) -> t.Callable[[t.Any], None]:
        def before(request: t.Any) -> None:
            request.environ.setdefault("stack_app.calls", []).append(name)

        return before

    hooks.before_request(record("before1"))
    hooks.before_request(record("before2"))

    def after(name: str) -> t.Callable[[t.Any, t.Any], t.Any]:
        def hook(request: t.Any, response: t.Any) -> t.Any:
            seen = response.headers.get("X-After")
            response.headers["X-After"] = f"{seen},{name}" if seen else name
            return response

        return hook

    hooks.after_request(after("after1"))
    hooks.after_request(after("after2"))

    @hooks.teardown_request
    def teardown(request: t.Any, exc: BaseException | None) -> None:
        error = type(exc).__name__ if exc else None
        TEARDOWNS.append(f"{request.environ.get('PATH_INFO')} {error}")

    return hooks


def build(trusted_proxies: list[str]) -> t.Any:
    return stack(
        with_hooks(view),
        secret_key=SECRET,
        proxy={"x_for": 1, "x_proto": 1, "x_host": 1, "trusted_proxies": trusted_proxies},
        malformed={"reject": ["uri.nul_byte", "uri.crlf"], "rate_limit": None},
    )


trusted = build(["loopback"])
untrusted = build(["192.0.2.0/24"])
forwarded = stack(
    with_hooks(view),
    secret_key=SECRET,
    proxy={"forwarded": 1, "x_for": 0, "x_proto": 0, "trusted_proxies": ["loopback"]},
)


# No ProxyFix: for a server that rewrites the address itself (waitress with
# trusted_proxy).
plain = stack(with_hooks(view), secret_key=SECRET)


def app(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/plain/"):
        return plain(environ, start_response)  # type: ignore[no-any-return]
    if path.startswith("/untrusted/"):
        return untrusted(environ, start_response)  # type: ignore[no-any-return]
    if path.startswith("/forwarded/"):
        return forwarded(environ, start_response)  # type: ignore[no-any-return]
    return trusted(environ, start_response)  # type: ignore[no-any-return]
