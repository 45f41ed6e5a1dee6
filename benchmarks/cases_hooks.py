"""Request hooks: RequestHooks against the idioms people write by hand.

Every case wraps the same bare app and does the same work per request:
three before hooks that return nothing and three after hooks that each add
one response header. Goal: RequestHooks adds at most a fifth of what
WebOb's idiom adds.
"""

from __future__ import annotations

import typing as t

from harness import Bench, make_environ

GROUP = "hooks"
GOAL_RATIO = 5.0

_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")]


def bare_app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", list(_HEADERS))
    return [b"Hello, world!"]


def _before(request: t.Any) -> None:
    return None


def _adder(name: str) -> t.Callable[[t.Any, t.Any], t.Any]:
    def after(request: t.Any, response: t.Any) -> t.Any:
        response.headers.add(name, "1")
        return response

    return after


def ours() -> t.Callable[..., t.Any]:
    from wsgi_flash.hooks import RequestHooks

    hooks = RequestHooks(bare_app)
    for _ in range(3):
        hooks.before_request(_before)
    for index in range(3):
        hooks.after_request(_adder(f"X-Hook-{index}"))
    return hooks


def webob_idiom() -> t.Callable[..., t.Any]:
    import webob.dec

    @webob.dec.wsgify.middleware
    def middleware(request: t.Any, app: t.Any) -> t.Any:
        for _ in range(3):
            _before(request)
        response = request.get_response(app)
        for index in range(3):
            response.headers.add(f"X-Hook-{index}", "1")
        return response

    return middleware(bare_app)  # type: ignore[no-any-return]


def werkzeug_idiom() -> t.Callable[..., t.Any]:
    from werkzeug.wrappers import Request, Response

    def middleware(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> t.Any:
        request = Request(environ)
        for _ in range(3):
            _before(request)
        response = Response.from_app(bare_app, environ)
        for index in range(3):
            response.headers.add(f"X-Hook-{index}", "1")
        return response(environ, start_response)

    return middleware


def hand_written() -> t.Callable[..., t.Any]:
    def middleware(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> t.Any:
        def add_headers(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Any:
            headers = [*headers, ("X-Hook-0", "1"), ("X-Hook-1", "1"), ("X-Hook-2", "1")]
            return start_response(status, headers, exc_info)

        return bare_app(environ, add_headers)

    return middleware


def run(bench: Bench) -> None:
    environ = make_environ("/")
    us = bench.best(
        {
            "bare": (bare_app, environ, None),
            "hand": (hand_written(), environ, None),
            "webob": (webob_idiom(), environ, None),
            "werkzeug": (werkzeug_idiom(), environ, None),
            "ours": (ours(), environ, None),
        }
    )
    bare = us["bare"]
    bench.row(GROUP, "bare app", bare)
    bench.row(GROUP, "hand-written start_response wrapper", us["hand"], added=us["hand"] - bare)
    webob_added = us["webob"] - bare
    bench.row(GROUP, "WebOb wsgify.middleware", us["webob"], added=webob_added)
    bench.row(
        GROUP,
        "Werkzeug Request + Response.from_app",
        us["werkzeug"],
        added=us["werkzeug"] - bare,
    )
    added = us["ours"] - bare
    ratio = webob_added / added if added > 0 else float("inf")
    bench.row(
        GROUP,
        "RequestHooks, 3 before + 3 after",
        us["ours"],
        added=added,
        compare=f"1/{ratio:.1f} of WebOb's added",
        goal=f"≤ 1/{GOAL_RATIO:g} of WebOb's",
        ok=ratio >= GOAL_RATIO,
    )
