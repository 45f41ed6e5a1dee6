"""Every middleware alone and the full stack keep the WSGI contract.

Each case runs one middleware (or ``stack()`` with all four) between two
pairs of checkers, ``wsgiref.validate.validator`` and Werkzeug's
``LintMiddleware``: one pair on the server side, one on the app side. Their
complaints are warnings or ``AssertionError``, and warnings are errors here.
A small fake server plays PEP 3333's part (``exc_info`` rules, ``write()``,
closing the iterable, a client that goes away after the first chunk), and
the innermost iterable counts its ``close()`` calls. The last test drives
the full stack from many threads and cookie jars at once.
"""

from __future__ import annotations

import gc
import io
import random
import sys
import threading
import time
import typing as t
import weakref
from dataclasses import dataclass, field
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import Client, create_environ

from wsgi_flash import (
    FlashMiddleware,
    MalformedRequestLogger,
    ProxyFix,
    RequestHooks,
    after_this_request,
    flash,
    get_flashed_messages,
    stack,
)

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SECRET = "conformance-secret-key-0123456789"
CLIENT = "203.0.113.7"


class Sentinel(Exception):
    """The only exception the apps and hooks here raise on purpose."""


# --- the innermost iterable and the apps -----------------------------------------


class Body:
    """The app's response iterable; counts close() and closes what it wraps."""

    def __init__(self, chunks: t.Iterable[bytes]) -> None:
        self._chunks = chunks
        self._iterator = iter(chunks)
        self.closes = 0

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        return next(self._iterator)

    def close(self) -> None:
        self.closes += 1
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class CountingFile(io.BytesIO):
    """A file for ``wsgi.file_wrapper`` that counts close() calls."""

    closes = 0

    def close(self) -> None:
        self.closes += 1
        super().close()


@dataclass
class Probe:
    """What happened inside: the app's iterables, files and teardown calls."""

    bodies: list[Body] = field(default_factory=list)
    files: list[CountingFile] = field(default_factory=list)
    teardowns: list[BaseException | None] = field(default_factory=list)
    returned_inside: list[object] = field(default_factory=list)
    prelude: t.Callable[[WSGIEnvironment], None] = lambda environ: None

    def body(self, chunks: t.Iterable[bytes]) -> Body:
        self.bodies.append(Body(chunks))
        return self.bodies[-1]

    @property
    def closes(self) -> list[int]:
        return [b.closes for b in self.bodies] + [f.closes for f in self.files]


TEXT = [("Content-Type", "text/plain")]
App = t.Callable[[Probe], "WSGIApplication"]


def list_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        start_response("200 OK", list(TEXT))
        return probe.body([b"a", b"b"])

    return app


def generator_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        start_response("200 OK", list(TEXT))
        return probe.body(c for c in (b"a", b"b"))

    return app


def lazy_generator_app(probe: Probe) -> WSGIApplication:
    """start_response runs on the first next(), as in a generator function app."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        def chunks() -> t.Iterator[bytes]:
            probe.prelude(environ)
            start_response("200 OK", list(TEXT))
            yield b"a"
            yield b"b"

        return probe.body(chunks())

    return app


def generator_raises_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        def chunks() -> t.Iterator[bytes]:
            yield b"a"
            raise Sentinel("the database went away mid-stream")

        probe.prelude(environ)
        start_response("200 OK", list(TEXT))
        return probe.body(chunks())

    return app


def exc_info_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        start_response("200 OK", list(TEXT))
        try:
            raise Sentinel("failed before the body")
        except Sentinel:
            start_response("500 Internal Server Error", list(TEXT), sys.exc_info())
        return probe.body([b"error"])

    return app


def write_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        write = start_response("200 OK", list(TEXT))
        write(b"written ")
        return probe.body([b"body"])

    return app


def empty_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        start_response("200 OK", list(TEXT))
        return probe.body([])

    return app


def file_wrapper_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        probe.files.append(CountingFile(b"abcdefgh"))
        return environ["wsgi.file_wrapper"](probe.files[-1], 4)  # type: ignore[no-any-return]

    return app


def raising_app(probe: Probe) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        probe.prelude(environ)
        raise Sentinel("the view failed")

    return app


@dataclass
class Row:
    """One wrapped app and how the server treats it; the outcome without
    any middleware in between."""

    app: App
    status: str | None = "200 OK"
    body: bytes = b"ab"
    method: str = "GET"
    disconnect: bool = False
    raises_on_call: bool = False
    raises_in_body: bool = False
    file: bool = False


ROWS = [
    pytest.param(Row(list_app), id="list"),
    pytest.param(Row(generator_app), id="generator"),
    pytest.param(Row(lazy_generator_app), id="lazy-generator"),
    pytest.param(Row(generator_raises_app, body=b"a", raises_in_body=True), id="generator-raises"),
    pytest.param(Row(exc_info_app, "500 Internal Server Error", b"error"), id="exc-info"),
    pytest.param(Row(write_app, body=b"written body"), id="write"),
    pytest.param(Row(empty_app, body=b""), id="empty"),
    pytest.param(Row(list_app, method="HEAD"), id="head"),
    pytest.param(Row(file_wrapper_app, body=b"abcdefgh", file=True), id="file-wrapper"),
    pytest.param(Row(raising_app, None, b"", raises_on_call=True), id="app-raises"),
    pytest.param(Row(list_app, body=b"a", disconnect=True), id="list-disconnect"),
    pytest.param(Row(generator_app, body=b"a", disconnect=True), id="generator-disconnect"),
    pytest.param(
        Row(file_wrapper_app, body=b"abcd", disconnect=True, file=True),
        id="file-wrapper-disconnect",
    ),
]


# --- the server ---------------------------------------------------------------------


@dataclass
class Served:
    status: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: Sentinel | None = None
    close_error: Sentinel | None = None
    iterable: object = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def serve(app: WSGIApplication, environ: WSGIEnvironment, *, disconnect: bool = False) -> Served:
    """Be a PEP 3333 server: headers count as sent with the first non-empty
    chunk; exc_info then re-raises; a disconnect stops after one chunk.
    Only :class:`Sentinel` is caught, anything else fails the test."""
    served = Served()
    sent = False

    def write(data: bytes) -> None:
        nonlocal sent
        assert served.status is not None, "write() before start_response()"
        sent = True
        served.chunks.append(data)

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], None]:
        if exc_info is not None:
            if sent:
                raise exc_info[1].with_traceback(exc_info[2])
        elif served.status is not None:
            raise AssertionError("start_response() called twice without exc_info")
        served.status, served.headers = status, list(headers)
        return write

    try:
        iterable = app(environ, start_response)
    except Sentinel as error:
        served.error = error
        return served
    served.iterable = iterable
    try:
        for chunk in iterable:
            if chunk:
                assert served.status is not None, "a body chunk before start_response()"
                sent = True
            served.chunks.append(chunk)
            if disconnect:
                break
    except Sentinel as error:
        served.error = error
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            try:
                close()
            except Sentinel as error:
                served.close_error = error
    return served


# Each checks ``app`` and whoever calls it. They cannot be stacked:
# validator wants wsgi.input.readlines(), which Lint's input wrapper lacks.
CHECKERS = [
    pytest.param(validator, id="validator"),
    pytest.param(LintMiddleware, id="lint"),
]


def recording(app: WSGIApplication, seen: list[object]) -> WSGIApplication:
    def record(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        result = app(environ, start_response)
        seen.append(result)
        return result

    return record


# --- the middlewares ----------------------------------------------------------------


def flash_cookie(*messages: str) -> str:
    """A valid flash cookie, as the middleware itself issues it."""
    jar = Client(FlashMiddleware(_flashing_app(list(messages)), secret_key=SECRET))
    jar.get("/")
    cookie = jar.get_cookie("flash")
    assert cookie is not None
    return f"flash={cookie.value}"


def _flashing_app(messages: list[str]) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        for message in messages:
            flash(environ, message)
        start_response("200 OK", list(TEXT))
        return [b""]

    return app


def read_and_flash(environ: WSGIEnvironment) -> None:
    assert get_flashed_messages(environ) == ["old"]
    flash(environ, "new")


def proxied(environ: WSGIEnvironment) -> None:
    assert environ["REMOTE_ADDR"] == CLIENT
    assert environ["wsgi.url_scheme"] == "https"


def full(environ: WSGIEnvironment) -> None:
    proxied(environ)
    read_and_flash(environ)
    after_this_request(environ, lambda request, response: response)


@dataclass
class Variant:
    """A middleware set-up and what it changes about a row's outcome."""

    wrap: t.Callable[[WSGIApplication, Probe], WSGIApplication]
    environ: dict[str, str] = field(default_factory=dict)
    prelude: t.Callable[[WSGIEnvironment], None] = lambda environ: None
    #: The app's error before start_response becomes a 500.
    converts_errors: bool = False
    #: Teardown hooks are registered: each runs exactly once.
    teardown: bool = False
    #: What a request always gets instead of the app's response, if anything.
    override: t.Literal["reject", "before-raises", "after-raises"] | None = None
    #: A teardown hook raises: the server's close() gets the error.
    close_raises: bool = False
    #: The app's file wrapper (any iterable) reaches the server as it is.
    passthrough: bool = True
    #: A response header the middleware adds.
    header: tuple[str, str] | None = None


PROXY_ENVIRON = {
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_X_FORWARDED_FOR": CLIENT,
    "HTTP_X_FORWARDED_PROTO": "https",
}
PROXY_OPTIONS: dict[str, t.Any] = {"x_for": 1, "x_proto": 1, "trusted_proxies": ["loopback"]}


def _hooks(
    *,
    before: bool = False,
    after: bool = False,
    teardown: bool = False,
    raises: str = "",
    propagate: bool = False,
) -> t.Callable[[WSGIApplication, Probe], WSGIApplication]:
    def wrap(app: WSGIApplication, probe: Probe) -> WSGIApplication:
        hooks = RequestHooks(app, propagate_exceptions=propagate)
        _register(hooks, probe, before=before, after=after, teardown=teardown, raises=raises)
        return hooks

    return wrap


def _register(
    hooks: RequestHooks,
    probe: Probe,
    *,
    before: bool = False,
    after: bool = False,
    teardown: bool = False,
    raises: str = "",
) -> None:
    def before_hook(request: t.Any) -> None:
        if raises == "before":
            raise Sentinel("a before hook failed")

    def after_hook(request: t.Any, response: t.Any) -> t.Any:
        if raises == "after":
            raise Sentinel("an after hook failed")
        response.headers["X-After"] = "1"
        return response

    def teardown_hook(request: t.Any, exc: BaseException | None) -> None:
        probe.teardowns.append(exc)

    def failing_teardown(request: t.Any, exc: BaseException | None) -> None:
        raise Sentinel("a teardown hook failed")

    if before or raises == "before":
        hooks.before_request(before_hook)
    if after or raises == "after":
        hooks.after_request(after_hook)
    if teardown:
        hooks.teardown_request(teardown_hook)
    if raises == "teardown":
        # Registered last, so it runs first: the counting one must still run.
        hooks.teardown_request(failing_teardown)


def _stack(*, hooks: bool) -> t.Callable[[WSGIApplication, Probe], WSGIApplication]:
    def wrap(app: WSGIApplication, probe: Probe) -> WSGIApplication:
        wrapped = stack(
            app,
            secret_key=SECRET,
            proxy=PROXY_OPTIONS,
            malformed={"log_client_errors": True},
            hooks={},
        )
        inner: t.Any = wrapped
        while not isinstance(inner, RequestHooks):
            inner = inner.app
        if hooks:
            _register(inner, probe, before=True, after=True, teardown=True)
        return wrapped

    return wrap


VARIANTS = {
    "flash": Variant(
        lambda app, probe: FlashMiddleware(app, secret_key=SECRET),
        {"HTTP_COOKIE": "<old>"},
        read_and_flash,
        header=("Vary", "Cookie"),
    ),
    "flash-untouched": Variant(lambda app, probe: FlashMiddleware(app, secret_key=SECRET)),
    "proxy": Variant(lambda app, probe: ProxyFix(app, **PROXY_OPTIONS), PROXY_ENVIRON, proxied),
    "malformed": Variant(
        lambda app, probe: MalformedRequestLogger(app, log_client_errors=True),
        {"QUERY_STRING": "a=%zz", "RAW_URI": "/?a=%zz"},
    ),
    "malformed-rejects": Variant(
        lambda app, probe: MalformedRequestLogger(app, reject=["uri.percent_encoding"]),
        {"QUERY_STRING": "a=%zz", "RAW_URI": "/?a=%zz"},
        override="reject",
    ),
    "hooks-none": Variant(_hooks(), converts_errors=True),
    "hooks-after": Variant(_hooks(after=True), converts_errors=True, header=("X-After", "1")),
    "hooks": Variant(
        _hooks(before=True, after=True, teardown=True),
        converts_errors=True,
        teardown=True,
        passthrough=False,
        header=("X-After", "1"),
    ),
    "hooks-before-raises": Variant(
        _hooks(teardown=True, raises="before"),
        converts_errors=True,
        teardown=True,
        override="before-raises",
        passthrough=False,
    ),
    "hooks-after-raises": Variant(
        _hooks(teardown=True, raises="after"),
        converts_errors=True,
        teardown=True,
        override="after-raises",
        passthrough=False,
    ),
    "hooks-teardown-raises": Variant(
        _hooks(after=True, teardown=True, raises="teardown"),
        converts_errors=True,
        teardown=True,
        close_raises=True,
        passthrough=False,
    ),
    "hooks-propagate": Variant(
        _hooks(after=True, teardown=True, propagate=True), teardown=True, passthrough=False
    ),
    "stack": Variant(
        _stack(hooks=True),
        {**PROXY_ENVIRON, "HTTP_COOKIE": "<old>", "QUERY_STRING": "a=%zz"},
        full,
        converts_errors=True,
        teardown=True,
        passthrough=False,
        header=("X-After", "1"),
    ),
    "stack-untouched": Variant(_stack(hooks=False), converts_errors=True),
}


LINT_HEAD = "Content-Length and the number of bytes sent:werkzeug.middleware.lint.WSGIWarning"


def _cases() -> t.Iterator[t.Any]:
    for name, variant in VARIANTS.items():
        for row in ROWS:
            for checker in CHECKERS:
                values = (variant, *row.values, *checker.values)
                marks = ()
                if row.id == "head" and checker.id == "lint" and variant.override:
                    # A Werkzeug 500 to HEAD keeps the Content-Length of its
                    # GET body and sends no body, as RFC 9110 9.3.2 allows;
                    # Lint counts that as a mismatch.
                    marks = (pytest.mark.filterwarnings(f"ignore:{LINT_HEAD}"),)
                yield pytest.param(*values, id=f"{name}-{row.id}-{checker.id}", marks=marks)


@pytest.fixture(scope="module")
def old_cookie() -> str:
    return flash_cookie("old")


@pytest.mark.parametrize(("variant", "row", "checked"), list(_cases()))
def test_conformance(
    variant: Variant,
    row: Row,
    checked: t.Callable[[WSGIApplication], WSGIApplication],
    old_cookie: str,
) -> None:
    probe = Probe(prelude=variant.prelude)
    from_app: list[object] = []
    from_middleware: list[object] = []
    inner = recording(checked(row.app(probe)), from_app)
    app = checked(recording(variant.wrap(inner, probe), from_middleware))
    extra = {k: old_cookie if v == "<old>" else v for k, v in variant.environ.items()}
    environ = create_environ("/", method=row.method)
    environ["wsgi.file_wrapper"] = ServerFileWrapper
    environ.update(extra)
    served = serve(app, environ, disconnect=row.disconnect)

    app_called = variant.override not in ("reject", "before-raises")
    app_returned = app_called and not row.raises_on_call
    error_in_request = (
        variant.override in ("before-raises", "after-raises")
        or (app_called and row.raises_on_call)
        or (row.raises_in_body and variant.override is None)
    )

    # The app's iterable (or the file behind its file wrapper) is closed
    # exactly once, whatever happened; never if there was none.
    assert probe.closes == ([1] if app_returned else [])
    if variant.teardown:
        assert len(probe.teardowns) == 1
        assert isinstance(probe.teardowns[0], Sentinel) == error_in_request
    assert (served.close_error is not None) == variant.close_raises

    if variant.override == "reject":
        assert served.status == "400 Bad Request"
        assert served.body == b"Bad Request (uri.percent_encoding)\n"
    elif variant.override is not None or (row.raises_on_call and variant.converts_errors):
        assert served.status is not None and served.status.startswith("500 ")
        assert served.error is None
    elif row.raises_on_call:
        assert isinstance(served.error, Sentinel)
        assert served.status is None
    else:
        assert served.status == row.status
        assert served.body == row.body
        assert isinstance(served.error, Sentinel) == row.raises_in_body
        if variant.header is not None:
            assert variant.header in served.headers
    if variant.prelude is read_and_flash or variant.prelude is full:
        if app_returned and variant.override is None:
            cookies = [v for k, v in served.headers if k == "Set-Cookie"]
            assert len(cookies) == 1 and cookies[0].startswith("flash=")

    if row.file and app_returned and variant.override is None:
        # Nothing needed the body: the app's iterable reached the server side.
        assert (from_middleware[0] is from_app[0]) == variant.passthrough


# --- no reference cycles -------------------------------------------------------------


class _Marker:
    """Rides in the environ; its weak reference tells when the environ is freed."""


# Errors are left out: a traceback holds the frames that hold the environ.
ORDERLY_ROWS = [
    row for row in ROWS if not (row.values[0].raises_on_call or row.values[0].raises_in_body)
]
ORDERLY_ROWS = [row for row in ORDERLY_ROWS if row.id != "exc-info"]


@pytest.mark.parametrize("row", ORDERLY_ROWS)
@pytest.mark.parametrize(
    "name",
    [
        name
        for name, variant in VARIANTS.items()
        if variant.override in (None, "reject") and not variant.close_raises
    ],
)
def test_request_leaves_no_reference_cycle(name: str, row: Row, old_cookie: str) -> None:
    """Once served and closed, the environ is freed by reference counting
    alone, as with no middleware. A cycle (the environ holding an object
    that holds the environ) would leave every request to the garbage
    collector, which cost a busy gunicorn worker about 10 µs a request."""
    variant = VARIANTS[name]
    probe = Probe(prelude=variant.prelude)
    app = variant.wrap(row.app(probe), probe)
    environ = create_environ("/", method=row.method)
    environ["wsgi.file_wrapper"] = ServerFileWrapper
    environ.update({k: old_cookie if v == "<old>" else v for k, v in variant.environ.items()})
    marker = _Marker()
    environ["test.marker"] = marker
    freed = weakref.ref(marker)
    del marker
    gc.collect()
    gc.disable()
    try:
        served = serve(app, environ, disconnect=row.disconnect)
        assert served.error is None
        # This fake server's write() closure keeps ``served``; a real one
        # drops the iterable once closed (wsgiref) or never holds it (gunicorn).
        served.iterable = None
        del environ, served
        assert freed() is None, "the environ outlived its request: a reference cycle holds it"
    finally:
        gc.enable()


# --- the file wrapper itself, with no checker in between ---------------------------


class ServerFileWrapper(FileWrapper):
    """A server's own file wrapper class, which it would recognise to send
    the file with sendfile()."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, id=name)
        for name, variant in VARIANTS.items()
        if variant.passthrough and variant.override is None
    ],
)
def test_file_wrapper_reaches_the_server_as_the_same_object(name: str, old_cookie: str) -> None:
    variant = VARIANTS[name]
    probe = Probe(prelude=variant.prelude)
    app = variant.wrap(file_wrapper_app(probe), probe)
    environ = create_environ("/")
    environ["wsgi.file_wrapper"] = ServerFileWrapper
    environ.update({k: old_cookie if v == "<old>" else v for k, v in variant.environ.items()})
    served = serve(app, environ)
    assert type(served.iterable) is ServerFileWrapper
    assert served.iterable.filelike is probe.files[0]  # type: ignore[attr-defined]
    assert served.body == b"abcdefgh"
    assert probe.closes == [1]


# --- many clients at once -----------------------------------------------------------

THREADS = 16
JARS = 64
REQUESTS = 10_000


def _jar_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    path = environ["PATH_INFO"]
    if path.startswith("/flash/"):
        flash(environ, path[len("/flash/") :])
        body = b""
    else:
        body = "\n".join(get_flashed_messages(environ)).encode()
    start_response("200 OK", list(TEXT))
    return [body]


def test_threads_never_see_each_others_flashes() -> None:
    """16 threads share one stack and 64 cookie jars; each jar is used by one
    thread at a time, but jars interleave freely across threads. A jar
    flashes a few unique messages, then reads them: it must get exactly its
    own pending ones, each once, none lost."""
    app = stack(RequestHooks(_jar_app), secret_key=SECRET, proxy=PROXY_OPTIONS, malformed={})
    clients = [Client(app) for _ in range(JARS)]
    locks = [threading.Lock() for _ in range(JARS)]
    pending: list[list[str]] = [[] for _ in range(JARS)]
    flashed = [0] * JARS
    counter = iter(range(REQUESTS))
    counter_lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []
    deadline = time.monotonic() + 60

    def read(jar: int) -> None:
        response = clients[jar].get("/read")
        assert response.status_code == 200
        got = [m for m in response.text.split("\n") if m]
        assert got == pending[jar], (jar, got, pending[jar])
        pending[jar].clear()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                with counter_lock:
                    number = next(counter, None)
                if number is None:
                    return
                jar = rng.randrange(JARS)
                with locks[jar]:
                    # Reads often enough that a jar never holds more than a
                    # few messages, far from the cookie size limit.
                    if len(pending[jar]) < 3 and rng.random() < 0.6:
                        message = f"jar{jar}-msg{number}"
                        response = clients[jar].get(
                            f"/flash/{message}",
                            headers={"X-Forwarded-For": CLIENT},
                            environ_base={"REMOTE_ADDR": "127.0.0.1"},
                        )
                        assert response.status_code == 200
                        pending[jar].append(message)
                        flashed[jar] += 1
                    else:
                        read(jar)
        except BaseException as error:
            failures.append(error)
            stop.set()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, mid-request
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    assert failures == []
    assert next(counter, None) is None, "the deadline passed before all requests were made"
    for jar in range(JARS):  # what is still pending arrives too
        read(jar)
    assert sum(flashed) > REQUESTS // 4
