"""RequestHooks: Flask's hook ordering around any WSGI app, checked against
real Flask, WSGI's rules (wsgiref's validator) and a 1 GiB streamed body."""

from __future__ import annotations

import builtins
import gc
import logging
import sys
import threading
import time
import tracemalloc
import typing as t
import weakref
from dataclasses import dataclass, field
from wsgiref.validate import validator

import flask
import pytest
import webob
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, NotFound
from werkzeug.test import Client, create_environ
from werkzeug.wrappers import Request, Response

from wsgi_flash.exceptions import HeadersAlreadySentError, NotInstalledError
from wsgi_flash.hooks import RequestHooks, after_this_request
from wsgi_flash.hooks._werkzeug import lazy_request

# -- helpers -----------------------------------------------------------------


@dataclass
class Result:
    status: str
    headers: Headers
    body: bytes
    calls: list[tuple[str, list[tuple[str, str]], t.Any]] = field(default_factory=list)


def run(app: t.Any, path: str = "/", **kwargs: t.Any) -> Result:
    """Be the WSGI server: call, read the whole body, close."""
    environ = create_environ(path, **kwargs)
    calls: list[tuple[str, list[tuple[str, str]], t.Any]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        calls.append((status, headers, exc_info))
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers, _ = calls[-1]
    return Result(status, Headers(headers), body, calls)


def text_app(body: bytes = b"app") -> t.Any:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


class Counted:
    """An app iterable that counts close() calls."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = 0

    def __iter__(self) -> t.Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise OSError("disk went away")
            yield chunk

    def close(self) -> None:
        self.closed += 1


def counted_app(iterable: Counted) -> t.Any:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> Counted:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iterable

    return app


# -- Flask's own hook tests, mirrored -----------------------------------------


def test_request_processing() -> None:
    # Flask's test_request_processing: before runs first, after can rewrite the body.
    events: list[str] = []
    hooks = RequestHooks(text_app(b"request"))

    @hooks.before_request
    def before(request: Request) -> None:
        events.append("before")

    @hooks.after_request
    def after(request: Request, response: Response) -> Response:
        events.append("after")
        response.set_data(response.get_data() + b"|after")
        return response

    result = run(hooks)
    assert events == ["before", "after"]
    assert result.body == b"request|after"
    assert result.headers["Content-Length"] == str(len(b"request|after"))


def test_early_return_skips_later_before_hooks_and_app_but_not_after_hooks() -> None:
    events: list[str] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        events.append("app")
        start_response("200 OK", [])
        return [b"app"]

    hooks = RequestHooks(app)
    admin = hooks.scope("/admin")
    hooks.before_request(lambda request: events.append("before 1"))
    hooks.before_request(lambda request: events.append("before 2") or "early")
    hooks.before_request(lambda request: events.append("before 3"))
    admin.before_request(lambda request: events.append("admin before"))

    @admin.after_request
    def admin_after(request: Request, response: Response) -> Response:
        events.append("admin after")
        return response

    @hooks.after_request
    def after(request: Request, response: Response) -> Response:
        events.append("after")
        return response

    result = run(hooks, "/admin/page")
    assert result.status == "200 OK"
    assert result.body == b"early"
    assert result.headers["Content-Type"] == "text/html; charset=utf-8"
    assert events == ["before 1", "before 2", "admin after", "after"]


def test_before_after_teardown_order() -> None:
    # Flask's test_before_after_request_order and test_teardown_request_handler.
    events: list[t.Any] = []
    hooks = RequestHooks(text_app())
    for name in ("1", "2"):
        hooks.before_request(lambda request, name=name: events.append(f"before {name}"))
        hooks.after_request(
            lambda request, response, name=name: events.append(f"after {name}") or response
        )
        hooks.teardown_request(
            lambda request, exc, name=name: events.append((f"teardown {name}", exc))
        )
    result = run(hooks)
    assert result.body == b"app"
    assert events == [
        "before 1",
        "before 2",
        "after 2",
        "after 1",
        ("teardown 2", None),
        ("teardown 1", None),
    ]


def test_nested_scopes_order() -> None:
    events: list[str] = []
    hooks = RequestHooks(text_app())
    outer = hooks.scope("/a")
    inner = outer.scope("/b")
    for label, scope in (("app", hooks), ("outer", outer), ("inner", inner)):
        for n in ("1", "2"):
            scope.before_request(lambda request, tag=f"before {label} {n}": events.append(tag))
            scope.after_request(
                lambda request, response, tag=f"after {label} {n}": events.append(tag) or response
            )
            scope.teardown_request(
                lambda request, exc, tag=f"teardown {label} {n}": events.append(tag)
            )
    run(hooks, "/a/b/c")
    assert events == [
        "before app 1", "before app 2", "before outer 1", "before outer 2",
        "before inner 1", "before inner 2",
        "after inner 2", "after inner 1", "after outer 2", "after outer 1",
        "after app 2", "after app 1",
        "teardown inner 2", "teardown inner 1", "teardown outer 2", "teardown outer 1",
        "teardown app 2", "teardown app 1",
    ]  # fmt: skip
    assert hooks.scope("/a/b") is inner


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/admin", ["app", "admin"], id="prefix-itself"),
        pytest.param("/admin/", ["app", "admin"], id="trailing-slash"),
        pytest.param("/admin/users/1", ["app", "admin", "users"], id="nested"),
        pytest.param("/admin/usersx", ["app", "admin"], id="not-a-path-segment"),
        pytest.param("/administrator", ["app"], id="longer-word"),
        pytest.param("/", ["app"], id="root"),
        pytest.param("//admin", ["app"], id="double-slash-is-another-path"),
        pytest.param("/Admin", ["app"], id="case-sensitive"),
    ],
)
def test_scope_matching(path: str, expected: list[str]) -> None:
    seen: list[str] = []
    hooks = RequestHooks(text_app())
    hooks.before_request(lambda request: seen.append("app"))
    admin = hooks.scope("/admin/")  # a trailing slash is ignored
    admin.before_request(lambda request: seen.append("admin"))
    admin.scope("/users").before_request(lambda request: seen.append("users"))
    run(hooks, path)
    assert seen == expected


def test_teardown_hooks_all_run_when_one_fails_and_errors_are_logged_then_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []
    hooks = RequestHooks(text_app())

    @hooks.teardown_request
    def last(request: Request, exc: BaseException | None) -> None:
        ran.append("last")

    @hooks.teardown_request
    def broken(request: Request, exc: BaseException | None) -> None:
        ran.append("broken")
        raise LookupError("teardown broke")

    @hooks.teardown_request
    def first(request: Request, exc: BaseException | None) -> None:
        ran.append("first")

    iterable = hooks(create_environ("/"), lambda status, headers, exc_info=None: None)
    assert b"".join(iterable) == b"app"
    with caplog.at_level(logging.ERROR, logger="wsgi_flash.hooks"):
        with pytest.raises(LookupError, match="teardown broke"):
            iterable.close()  # type: ignore[attr-defined]
    assert ran == ["first", "broken", "last"]
    assert "broken" in caplog.text and caplog.records[0].exc_info is not None
    iterable.close()  # type: ignore[attr-defined]
    assert ran == ["first", "broken", "last"]  # close() is idempotent


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python 3.11+")
def test_several_failing_teardowns_raise_together() -> None:
    group = getattr(builtins, "ExceptionGroup")  # noqa: B009 - a name ruff's py39 target lacks
    hooks = RequestHooks(text_app())
    hooks.teardown_request(lambda request, exc: 1 / 0)
    hooks.teardown_request(lambda request, exc: [][0])
    with pytest.raises(group) as caught:
        run(hooks)
    assert {type(e) for e in caught.value.exceptions} == {ZeroDivisionError, IndexError}


def test_error_handler_response_goes_through_after_hooks_and_teardown_sees_none() -> None:
    events: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise KeyError("missing")

    hooks = RequestHooks(app)

    @hooks.errorhandler(LookupError)
    def lookup(request: Request, exc: Exception) -> tuple[str, int]:
        events.append(("handler", type(exc).__name__))
        return "not here", 404

    @hooks.after_request
    def after(request: Request, response: Response) -> Response:
        events.append(("after", response.status_code))
        return response

    hooks.teardown_request(lambda request, exc: events.append(("teardown", exc)))
    result = run(hooks)
    assert (result.status, result.body) == ("404 NOT FOUND", b"not here")
    assert events == [("handler", "KeyError"), ("after", 404), ("teardown", None)]


def test_handlers_scope_before_app_and_most_specific_class_first() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise KeyError("k")

    hooks = RequestHooks(app)
    hooks.errorhandler(KeyError)(lambda request, exc: "app KeyError")
    hooks.errorhandler(Exception)(lambda request, exc: "app Exception")
    hooks.scope("/s").errorhandler(LookupError)(lambda request, exc: "scope LookupError")
    assert run(hooks, "/").body == b"app KeyError"
    assert run(hooks, "/s/x").body == b"scope LookupError"


def test_http_code_handlers_win_over_class_handlers_as_in_flask() -> None:
    # Flask looks up handlers for the error's code first (scope, then app),
    # and only then handlers by class, so the app's 404 handler beats the
    # scope's HTTPException handler.
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise NotFound()

    hooks = RequestHooks(app)
    hooks.errorhandler(404)(lambda request, exc: ("app 404", 404))
    hooks.scope("/s").errorhandler(HTTPException)(lambda request, exc: ("scope any", 400))
    assert run(hooks, "/s/x").body == b"app 404"
    assert run(RequestHooks(app), "/").status == "404 NOT FOUND"


def test_http_error_without_handler_is_its_own_response() -> None:
    teardown: list[t.Any] = []
    hooks = RequestHooks(text_app())

    @hooks.before_request
    def forbid(request: Request) -> None:
        raise Forbidden()

    hooks.teardown_request(lambda request, exc: teardown.append(exc))
    result = run(hooks)
    assert result.status == "403 FORBIDDEN"
    assert teardown == [None]


def test_unhandled_error_is_a_logged_500_and_teardown_gets_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    teardown: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise RuntimeError("boom")

    hooks = RequestHooks(app)
    hooks.teardown_request(lambda request, exc: teardown.append(exc))
    with caplog.at_level(logging.ERROR, logger="wsgi_flash.hooks"):
        result = run(hooks, "/", environ_overrides={"PATH_INFO": "/evil\r\nINFO forged"})
    assert result.status == "500 INTERNAL SERVER ERROR"
    assert b"Internal Server Error" in result.body
    assert isinstance(teardown[0], RuntimeError)
    record = caplog.records[0]
    assert record.name == "wsgi_flash.hooks" and record.exc_info is not None
    assert "\n" not in record.getMessage() and "/evil\\x0d\\x0aINFO forged" in record.getMessage()


def test_500_handler_gets_internal_server_error_with_the_original() -> None:
    seen: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise RuntimeError("boom")

    hooks = RequestHooks(app)

    @hooks.errorhandler(500)
    def server_error(request: Request, exc: InternalServerError) -> tuple[str, int]:
        seen.append(exc.original_exception)
        return "sorry", 500

    result = run(hooks)
    assert (result.status, result.body) == ("500 INTERNAL SERVER ERROR", b"sorry")
    assert isinstance(seen[0], RuntimeError)


def test_failing_500_handler_falls_back_to_a_plain_500() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise RuntimeError("boom")

    hooks = RequestHooks(app)
    hooks.errorhandler(500)(lambda request, exc: 1 / 0)
    result = run(hooks)
    assert result.status == "500 INTERNAL SERVER ERROR"
    assert b"Internal Server Error" in result.body


def test_after_hook_error_becomes_500_and_after_chain_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        after_this_request(
            environ, lambda request, response: events.append("this request") or response
        )
        start_response("200 OK", [])
        return [b"fine"]

    hooks = RequestHooks(app)

    @hooks.after_request
    def broken(request: Request, response: Response) -> Response:
        events.append(("broken", response.status_code))
        raise ValueError("after hook broke")

    @hooks.after_request
    def inner(request: Request, response: Response) -> Response:
        events.append(("inner", response.status_code))
        return response

    hooks.errorhandler(ValueError)(lambda request, exc: events.append("class handler"))
    hooks.teardown_request(lambda request, exc: events.append(("teardown", type(exc).__name__)))
    with caplog.at_level(logging.ERROR, logger="wsgi_flash.hooks"):
        result = run(hooks)
    assert result.status == "500 INTERNAL SERVER ERROR"
    assert events == [
        "this request", ("inner", 200), ("broken", 200),
        "this request", ("inner", 500), ("broken", 500),
        ("teardown", "ValueError"),
    ]  # fmt: skip
    assert len([r for r in caplog.records if r.exc_info]) == 2


@pytest.mark.parametrize(
    ("where", "error"),
    [
        pytest.param("app", RuntimeError, id="app"),
        pytest.param("before", RuntimeError, id="before-hook"),
        pytest.param("after", RuntimeError, id="after-hook"),
        pytest.param("after-none", TypeError, id="after-hook-returns-none"),
    ],
)
def test_propagate_exceptions_reraises_after_teardown(where: str, error: type[Exception]) -> None:
    iterable = Counted([b"x"])
    events: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> Counted:
        if where == "app":
            raise RuntimeError("from app")
        start_response("200 OK", [])
        return iterable

    def raises(*args: t.Any) -> None:
        raise RuntimeError(where)

    hooks = RequestHooks(app, propagate_exceptions=True)
    if where == "before":
        hooks.before_request(raises)
    if where == "after":
        hooks.after_request(raises)
    if where == "after-none":
        hooks.after_request(lambda request, response: None)
    hooks.teardown_request(lambda request, exc: events.append(type(exc)))
    with pytest.raises(error):
        hooks(create_environ("/"), lambda status, headers, exc_info=None: None)
    assert events == [error]
    assert iterable.closed == (1 if where.startswith("after") else 0)


def test_after_hook_returning_none_names_the_hook() -> None:
    hooks = RequestHooks(text_app(), propagate_exceptions=True)

    @hooks.after_request
    def forgot_to_return(request: Request, response: Response) -> None:
        response.headers["X-A"] = "1"

    with pytest.raises(TypeError, match=r"test_hooks\..*forgot_to_return returned None"):
        run(hooks)


@pytest.mark.parametrize(
    ("rv", "status", "body", "content_type"),
    [
        pytest.param("text", "200 OK", b"text", "text/html; charset=utf-8", id="str"),
        pytest.param(b"bytes", "200 OK", b"bytes", "text/html; charset=utf-8", id="bytes"),
        pytest.param(
            {"b": 1, "a": [2]}, "200 OK", b'{"a":[2],"b":1}\n', "application/json", id="dict"
        ),
        pytest.param([1, "x"], "200 OK", b'[1,"x"]\n', "application/json", id="list"),
        pytest.param(
            ("gone", 410), "410 GONE", b"gone", "text/html; charset=utf-8", id="body-status"
        ),
        pytest.param(
            ("x", "299 Custom"), "299 Custom", b"x", "text/html; charset=utf-8", id="status-str"
        ),
        pytest.param(
            ("x", {"Content-Type": "text/csv"}), "200 OK", b"x", "text/csv", id="body-headers"
        ),
        pytest.param(
            ("x", 201, [("Content-Type", "text/plain")]),
            "201 CREATED",
            b"x",
            "text/plain",
            id="body-status-headers",
        ),
        pytest.param(
            Response("r", 202, mimetype="text/csv"),
            "202 ACCEPTED",
            b"r",
            "text/csv; charset=utf-8",
            id="response",
        ),
        pytest.param(
            (Response("r"), 203),
            "203 NON AUTHORITATIVE INFORMATION",
            b"r",
            "text/plain; charset=utf-8",
            id="response-status",
        ),
        pytest.param(text_app(b"wsgi"), "200 OK", b"wsgi", "text/plain", id="wsgi-callable"),
        pytest.param(iter([b"a", "b"]), "200 OK", b"ab", "text/html; charset=utf-8", id="iterator"),
    ],
)
def test_return_values_convert_like_flask(
    rv: t.Any, status: str, body: bytes, content_type: str
) -> None:
    hooks = RequestHooks(text_app())
    hooks.before_request(lambda request: rv)
    result = run(hooks)
    assert (result.status, result.body, result.headers["Content-Type"]) == (
        status,
        body,
        content_type,
    )


@pytest.mark.parametrize(
    "rv",
    [
        pytest.param(42, id="int"),
        pytest.param(True, id="bool"),
        pytest.param({1, 2}, id="set"),
        pytest.param(("x",), id="1-tuple"),
        pytest.param(("x", 200, {}, 1), id="4-tuple"),
        pytest.param((None, 200), id="none-body"),
    ],
)
def test_invalid_return_values_raise_type_error_naming_the_hook(rv: t.Any) -> None:
    hooks = RequestHooks(text_app(), propagate_exceptions=True)

    def bad_hook(request: Request) -> t.Any:
        return rv

    hooks.before_request(bad_hook)
    with pytest.raises(TypeError, match="bad_hook did not return a valid response"):
        run(hooks)


def test_before_first_request_runs_once_and_again_after_failing() -> None:
    calls: list[int] = []
    fail = [True]
    hooks = RequestHooks(text_app())

    @hooks.before_first_request
    def setup(request: Request) -> None:
        calls.append(1)
        if fail[0]:
            fail[0] = False
            raise RuntimeError("db not ready")

    hooks.errorhandler(RuntimeError)(lambda request, exc: "handled")  # Flask: not used here
    assert run(hooks).status == "500 INTERNAL SERVER ERROR"
    assert run(hooks).body == b"app"
    assert run(hooks).body == b"app"
    assert calls == [1, 1]


def _waiting_for_first_request_hooks(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked where a request waits for another
    request's before-first-request hooks to finish."""
    frame = sys._current_frames().get(thread.ident)  # type: ignore[arg-type]
    return frame is not None and frame.f_code.co_name == "_run_first"


def test_before_first_request_waits_for_concurrent_first_requests() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    hooks = RequestHooks(text_app())

    @hooks.before_first_request
    def slow_setup(request: Request) -> None:
        calls.append("setup")
        started.set()
        assert release.wait(10), "the test never released the first request"
        calls.append("setup done")

    hooks.before_request(lambda request: calls.append("before"))
    first = threading.Thread(target=run, args=(hooks,))
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=run, args=(hooks,)) for _ in range(2)]
    for thread in others:
        thread.start()
    # Release the first request only once both others wait for it (polled
    # with a deadline: a version that does not make them wait never gets here).
    deadline = time.monotonic() + 10
    while not all(_waiting_for_first_request_hooks(thread) for thread in others):
        assert time.monotonic() < deadline, f"the other requests did not wait: {calls}"
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert calls == ["setup", "setup done", "before", "before", "before"]


def test_after_this_request_runs_first_for_this_request_only() -> None:
    events: list[str] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/once":
            after_this_request(
                Request(environ), lambda request, response: events.append("this") or response
            )
        start_response("200 OK", [])
        return [b""]

    hooks = RequestHooks(app)
    hooks.after_request(lambda request, response: events.append("registered") or response)
    run(hooks, "/once")
    run(hooks, "/other")
    assert events == ["this", "registered", "registered"]


def test_after_this_request_misuse_says_what_to_do() -> None:
    with pytest.raises(NotInstalledError, match="RequestHooks"):
        after_this_request(create_environ("/"), lambda request, response: response)
    late: list[Exception] = []
    hooks = RequestHooks(text_app())

    @hooks.after_request
    def too_late(request: Request, response: Response) -> Response:
        try:
            after_this_request(request, lambda rq, rs: rs)
        except HeadersAlreadySentError as error:
            late.append(error)
        return response

    run(hooks)
    assert len(late) == 1


# -- WSGI: streaming, close(), exc_info, validator -------------------------------


def test_streams_one_gib_with_bounded_memory() -> None:
    chunk = b"x" * (1 << 20)
    teardown: list[t.Any] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (chunk for _ in range(1024))

    hooks = RequestHooks(app)
    hooks.after_request(lambda request, response: response.headers.add("X-Seen", "1") or response)
    hooks.teardown_request(lambda request, exc: teardown.append(exc))
    started = time.perf_counter()
    tracemalloc.start()
    try:
        headers: list[t.Any] = []
        iterable = hooks(create_environ("/"), lambda status, h, exc_info=None: headers.extend(h))
        total = 0
        for piece in iterable:
            total += len(piece)
        iterable.close()  # type: ignore[attr-defined]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 1 << 30
    assert ("X-Seen", "1") in headers
    assert teardown == [None]
    assert peak < 4 << 20, f"peak {peak} bytes: the body was buffered"
    assert time.perf_counter() - started < 10


def test_error_while_streaming_reaches_teardown_and_close_runs_once() -> None:
    iterable = Counted([b"a", b"b"], fail_at=1)
    teardown: list[t.Any] = []
    hooks = RequestHooks(counted_app(iterable))
    hooks.teardown_request(lambda request, exc: teardown.append(exc))
    body = hooks(create_environ("/"), lambda status, headers, exc_info=None: None)
    received = []
    with pytest.raises(OSError, match="disk went away"):
        for piece in body:
            received.append(piece)
    assert teardown == []  # the request is not over before close()
    body.close()  # type: ignore[attr-defined]
    body.close()  # type: ignore[attr-defined]
    assert received == [b"a"]
    assert isinstance(teardown[0], OSError) and len(teardown) == 1
    assert iterable.closed == 1


def _no_hooks(hooks: RequestHooks) -> None:
    pass


def _after_keeps(hooks: RequestHooks) -> None:
    hooks.after_request(lambda request, response: response)


def _after_replaces(hooks: RequestHooks) -> None:
    hooks.after_request(lambda request, response: Response("new"))


def _after_reads(hooks: RequestHooks) -> None:
    hooks.after_request(lambda request, response: response.get_data() and response)


def _after_raises(hooks: RequestHooks) -> None:
    hooks.after_request(lambda request, response: 1 / 0)


def _teardown_only(hooks: RequestHooks) -> None:
    hooks.teardown_request(lambda request, exc: None)


def _early_return(hooks: RequestHooks) -> None:
    hooks.before_request(lambda request: "early")


@pytest.mark.parametrize(
    ("setup", "app_closes", "body"),
    [
        pytest.param(_no_hooks, 1, b"ab", id="no-hooks"),
        pytest.param(_after_keeps, 1, b"ab", id="after-keeps-body"),
        pytest.param(_after_replaces, 1, b"new", id="after-replaces-body"),
        pytest.param(_after_reads, 1, b"ab", id="after-reads-body"),
        pytest.param(_after_raises, 1, None, id="after-raises"),
        pytest.param(_teardown_only, 1, b"ab", id="teardown-only"),
        pytest.param(_early_return, 0, b"early", id="app-not-called"),
    ],
)
def test_app_iterable_closed_exactly_once(
    setup: t.Callable[[RequestHooks], None], app_closes: int, body: bytes | None
) -> None:
    iterable = Counted([b"a", b"b"])
    hooks = RequestHooks(counted_app(iterable))
    setup(hooks)
    result = run(hooks)
    assert iterable.closed == app_closes
    if body is not None:
        assert result.body == body


def test_app_without_hooks_gets_its_own_iterable_back() -> None:
    iterable = Counted([b"a"])
    hooks = RequestHooks(counted_app(iterable))
    assert hooks(create_environ("/"), lambda status, headers, exc_info=None: None) is iterable
    iterable.close()


def test_exc_info_is_forwarded() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late problem")
        except ValueError:
            start_response("503 Service Unavailable", [("Retry-After", "5")], sys.exc_info())
        return [b"try later"]

    for hooks in (RequestHooks(app), RequestHooks(app, request_class=webob.Request)):
        hooks.after_request(lambda request, response: response)
        result = run(hooks)
        assert result.status == "503 Service Unavailable"
        assert result.calls[0][2][0] is ValueError


def _generator_app(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"lazy "
    yield b"body"


def _write_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"lazy ")
    return [b"body"]


def _list_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"lazy ", b"body"]


@pytest.mark.parametrize(
    "inner", [pytest.param(a, id=a.__name__) for a in (_generator_app, _write_app, _list_app)]
)
@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(s, id=s.__name__)
        for s in (
            _no_hooks,
            _after_keeps,
            _after_reads,
            _after_replaces,
            _teardown_only,
            _early_return,
        )
    ],
)
@pytest.mark.parametrize(
    "request_class", [pytest.param(Request, id="werkzeug"), pytest.param(webob.Request, id="webob")]
)
def test_passes_wsgiref_validator_on_both_sides(
    inner: t.Any, setup: t.Callable[[RequestHooks], None], request_class: type
) -> None:
    hooks = RequestHooks(validator(inner), request_class=request_class)
    if request_class is webob.Request and setup is _after_replaces:
        hooks.after_request(lambda request, response: webob.Response("new"))
    elif request_class is webob.Request and setup is _after_reads:
        hooks.after_request(lambda request, response: response.body and response)
    else:
        setup(hooks)
    result = run(validator(hooks))
    expected = {_after_replaces: b"new", _early_return: b"early"}.get(setup, b"lazy body")
    assert result.body == expected


# -- WebOb flavour ---------------------------------------------------------------


def test_webob_request_class_gives_webob_objects() -> None:
    seen: list[t.Any] = []
    hooks = RequestHooks(text_app(b"hello"), request_class=webob.Request)

    @hooks.before_request
    def before(request: webob.Request) -> t.Any:
        seen.append(type(request))
        if request.path_info == "/early":
            return "early", 202, {"X-Early": "1"}
        return None

    @hooks.after_request
    def after(request: webob.Request, response: webob.Response) -> webob.Response:
        seen.append(type(response))
        response.headers["X-After"] = "1"
        response.status = "201 Created"
        return response

    result = run(hooks)
    assert seen == [webob.Request, webob.Response]
    assert (result.status, result.body, result.headers["X-After"]) == ("201 Created", b"hello", "1")
    early = run(hooks, "/early")
    assert (early.body, early.headers["X-Early"]) == (b"early", "1")
    assert early.headers["Content-Type"] == "text/html; charset=UTF-8"


@pytest.mark.parametrize(
    "request_class", [pytest.param(Request, id="werkzeug"), pytest.param(webob.Request, id="webob")]
)
def test_request_is_unlinked_from_the_environ_when_it_ends(request_class: t.Any) -> None:
    """As Flask does: the environ no longer holds the request, and a late
    after_this_request() is refused."""
    hooks = RequestHooks(text_app(b"hello"), request_class=request_class)
    hooks.before_request(lambda request: None)
    environ = create_environ("/")
    body = hooks(environ, lambda status, headers, exc_info=None: lambda data: None)
    assert b"".join(body) == b"hello"
    assert environ.get("werkzeug.request") is None
    # Nothing the environ holds points back at it (a cycle for the collector).
    assert not any(getattr(value, "environ", None) is environ for value in environ.values())
    with pytest.raises(HeadersAlreadySentError):
        after_this_request(environ, lambda request, response: response)


@pytest.mark.parametrize(
    "request_class", [pytest.param(Request, id="werkzeug"), pytest.param(webob.Request, id="webob")]
)
def test_finished_request_is_freed_without_the_garbage_collector(request_class: t.Any) -> None:
    """No reference cycle through the environ: reference counting alone
    frees the request, its environ and the hooks' state once the server
    drops the response."""
    seen: list[weakref.ref[t.Any]] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        after_this_request(environ, lambda request, response: response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    hooks = RequestHooks(app, request_class=request_class)
    hooks.before_request(lambda request: seen.append(weakref.ref(request)))
    hooks.after_request(lambda request, response: response)
    hooks.teardown_request(lambda request, exc: None)
    gc.collect()
    gc.disable()
    try:
        assert run(hooks).body == b"hello"
        assert len(seen) == 1 and seen[0]() is None
    finally:
        gc.enable()


def test_webob_json_and_errors() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise KeyError("k")

    hooks = RequestHooks(app, request_class=webob.Request)
    hooks.errorhandler(KeyError)(lambda request, exc: ({"error": "k"}, 404))
    result = run(hooks)
    assert (result.status, result.body) == ("404 Not Found", b'{"error":"k"}\n')
    assert result.headers["Content-Type"] == "application/json"


# -- options and registration -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"app": None}, TypeError, "WSGI app", id="app-not-callable"),
        pytest.param({"request_class": dict}, TypeError, "request_class", id="bad-request-class"),
        pytest.param(
            {"propagate_exceptions": "yes"}, TypeError, "True or False", id="bad-propagate"
        ),
    ],
)
def test_options_are_validated(
    kwargs: dict[str, t.Any], error: type[Exception], message: str
) -> None:
    app = kwargs.pop("app", text_app())
    with pytest.raises(error, match=message):
        RequestHooks(app, **kwargs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda h: h.scope("admin"), ValueError, id="scope-without-slash"),
        pytest.param(lambda h: h.scope("/"), ValueError, id="scope-root"),
        pytest.param(lambda h: h.scope(3), TypeError, id="scope-not-str"),
        pytest.param(lambda h: h.errorhandler(999), ValueError, id="unknown-code"),
        pytest.param(lambda h: h.errorhandler(KeyError()), TypeError, id="instance"),
        pytest.param(lambda h: h.errorhandler(KeyboardInterrupt), TypeError, id="base-exception"),
        pytest.param(lambda h: h.before_request("f"), TypeError, id="not-callable"),
    ],
)
def test_registration_mistakes_raise(
    call: t.Callable[[RequestHooks], t.Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(RequestHooks(text_app()))


def test_decorators_return_the_function() -> None:
    hooks = RequestHooks(text_app())

    def f(*args: t.Any) -> None:
        return None

    scope = hooks.scope("/x")
    for registry in (hooks, scope):
        assert registry.before_request(f) is f
        assert registry.after_request(f) is f
        assert registry.teardown_request(f) is f
        assert registry.before_first_request(f) is f
        assert registry.errorhandler(KeyError)(f) is f
        assert registry.errorhandler(500)(f) is f


@given(
    path=st.text(st.characters(codec="latin-1"), max_size=30),
    query=st.text(st.characters(codec="ascii"), max_size=20),
    host=st.sampled_from(["example.com", "example.com:8080", "[::1]:80", ""]),
    script=st.sampled_from(["", "/app", "/app/"]),
    method=st.sampled_from(["GET", "post", "PUT"]),
)
@settings(max_examples=100)
def test_lazy_request_attributes_equal_werkzeug_request(
    path: str, query: str, host: str, script: str, method: str
) -> None:
    environ = create_environ("/")
    environ.update(PATH_INFO=path, QUERY_STRING=query, HTTP_HOST=host, SCRIPT_NAME=script,
                   REQUEST_METHOD=method)  # fmt: skip
    lazy, real = lazy_request(dict(environ)), Request(dict(environ))
    # Nothing parsed yet, and not registered in the environ (which would
    # make a reference cycle, as Request(environ, populate_request=False)).
    assert "path" not in vars(lazy) and "werkzeug.request" not in lazy.environ
    for name in ("method", "scheme", "server", "root_path", "path", "query_string", "remote_addr",
                 "url", "host", "args"):  # fmt: skip
        assert getattr(lazy, name) == getattr(real, name), name
    assert dict(lazy.headers) == dict(real.headers)


# -- differential test against Flask ---------------------------------------------

SCOPES = ("app", "bp", "child")
PREFIXES = {"bp": "/bp", "child": "/bp/child"}
PATHS = ["/", "/x", "/bpx", "/bp", "/bp/x", "/bp/child", "/bp/child/x"]


class HookError(Exception):
    """Raised by hooks for the registered error handlers to catch."""


def scope_config() -> st.SearchStrategy[dict[str, t.Any]]:
    before = st.sampled_from(["none", "none", "return", "raise_handled", "raise_unhandled"])
    return st.fixed_dictionaries(
        {
            "before": st.lists(before, max_size=3),
            "after": st.lists(st.sampled_from(["pass", "pass", "raise"]), max_size=3),
            "teardown": st.integers(0, 2),
            "handler": st.booleans(),
            "handler_500": st.booleans(),
        }
    )


def _act(kind: str, label: str) -> t.Any:
    if kind == "return":
        return f"early {label}"
    if kind == "raise_handled":
        raise HookError(label)
    if kind == "raise_unhandled":
        raise RuntimeError(label)
    return None


def build_flask(config: dict[str, dict[str, t.Any]], log: list[t.Any]) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    bp, child = flask.Blueprint("bp", __name__), flask.Blueprint("child", __name__)

    def view() -> str:
        _act(flask.request.args.get("view", "none"), "view")
        return f"view {flask.request.path}"

    for scope_name, registry in (("app", app), ("bp", bp), ("child", child)):
        cfg = config[scope_name]
        registry.add_url_rule("/x", f"{scope_name}_x", view)
        for i, kind in enumerate(cfg["before"]):
            label = f"before {scope_name} {i}"
            registry.before_request(
                lambda label=label, kind=kind: log.append(label) or _act(kind, label)
            )
        for i, kind in enumerate(cfg["after"]):
            label = f"after {scope_name} {i}"
            registry.after_request(
                lambda response, label=label, kind=kind: (
                    log.append(label)
                    or (_act("raise_unhandled", label) if kind == "raise" else response)
                )
            )
        for i in range(cfg["teardown"]):
            label = f"teardown {scope_name} {i}"
            registry.teardown_request(
                lambda exc, label=label: log.append((label, type(exc).__name__ if exc else None))
            )
        if cfg["handler"]:
            registry.register_error_handler(
                HookError, lambda e, s=scope_name: (f"handled {s} {e}", 409)
            )
        if cfg["handler_500"]:
            registry.register_error_handler(500, lambda e, s=scope_name: (f"500 {s}", 500))
    app.add_url_rule("/", "app_root", view)
    app.add_url_rule("/bpx", "app_bpx", view)
    bp.add_url_rule("", "bp_root", view)
    child.add_url_rule("", "child_root", view)
    bp.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(bp, url_prefix="/bp")
    return app


def build_ours(config: dict[str, dict[str, t.Any]], log: list[t.Any]) -> RequestHooks:
    def plain_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        request = Request(environ)
        _act(request.args.get("view", "none"), "view")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"view {request.path}".encode()]

    hooks = RequestHooks(plain_app)
    registries = {"app": hooks, "bp": hooks.scope("/bp")}
    registries["child"] = registries["bp"].scope("/child")
    for scope_name, registry in registries.items():
        cfg = config[scope_name]
        for i, kind in enumerate(cfg["before"]):
            label = f"before {scope_name} {i}"
            registry.before_request(
                lambda request, label=label, kind=kind: log.append(label) or _act(kind, label)
            )
        for i, kind in enumerate(cfg["after"]):
            label = f"after {scope_name} {i}"
            registry.after_request(
                lambda request, response, label=label, kind=kind: (
                    log.append(label)
                    or (_act("raise_unhandled", label) if kind == "raise" else response)
                )
            )
        for i in range(cfg["teardown"]):
            label = f"teardown {scope_name} {i}"
            registry.teardown_request(
                lambda request, exc, label=label: log.append(
                    (label, type(exc).__name__ if exc else None)
                )
            )
        if cfg["handler"]:
            registry.errorhandler(HookError)(
                lambda request, e, s=scope_name: (f"handled {s} {e}", 409)
            )
        if cfg["handler_500"]:
            registry.errorhandler(500)(lambda request, e, s=scope_name: (f"500 {s}", 500))
    return hooks


@given(
    config=st.fixed_dictionaries({name: scope_config() for name in SCOPES}),
    requests=st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from(["none", "none", "raise_handled", "raise_unhandled"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
@settings(max_examples=150)
def test_same_hook_calls_status_and_body_as_flask(
    config: dict[str, dict[str, t.Any]], requests: list[tuple[str, str]]
) -> None:
    flask_log: list[t.Any] = []
    our_log: list[t.Any] = []
    flask_client = Client(build_flask(config, flask_log))
    ours = build_ours(config, our_log)
    logging.getLogger("wsgi_flash.hooks").disabled = True
    try:
        for path, view in requests:
            query = {"view": view}
            expected = flask_client.get(path, query_string=query)
            expected_body = expected.get_data()
            expected.close()
            got = run(ours, path, query_string=query)
            assert our_log == flask_log, (path, view)
            assert (got.status, got.body) == (expected.status, expected_body), (path, view)
            flask_log.clear()
            our_log.clear()
    finally:
        logging.getLogger("wsgi_flash.hooks").disabled = False
