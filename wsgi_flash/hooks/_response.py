"""Request and response objects for :mod:`wsgi_flash.hooks`
=========================================================

A *flavour* knows one library's request and response classes (Werkzeug's
or WebOb's): how to build a request cheaply, how to show the wrapped app's
``start_response`` call to after hooks as a real response object without
reading the body, and how to turn a hook's return value into a response
the way Flask's ``make_response`` does.
"""

from __future__ import annotations

import importlib
import itertools
import json
import typing as t
from collections.abc import Iterator

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from ._werkzeug import lazy_request, response_over, sendable

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class Capture:
    """Stands in for the server's ``start_response`` while the wrapped app
    runs, so after hooks can see and change status and headers before they
    are sent. Once :meth:`send` has passed them on, later calls (an app
    reporting an error with ``exc_info`` while streaming) go to the server.

    It is also the app's body as one iterable: chunks already taken from
    the app (``write()`` calls, a first chunk pulled to get the headers)
    come first, and :meth:`close` closes the app's iterable exactly once,
    whoever calls it (Werkzeug registers it again when a hook reads the
    body). Fields default on the class so a request only pays for what it
    sets.
    """

    status: str | None = None
    headers: list[tuple[str, str]] = []  # noqa: RUF012 - replaced, never mutated
    exc_info: t.Any = None
    written: list[bytes] | None = None
    sent: StartResponse | None = None
    write_to: t.Callable[[bytes], object] | None = None
    #: The app's iterable once it returned one (None before, or if it raised).
    app_iter: t.Iterable[bytes] | None = None
    closed = False
    #: What the app iterable's ``close()`` raised, if anything.
    close_error: Exception | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], object]:
        if exc_info is not None:
            if self.sent is not None:
                return self.sent(status, headers, exc_info)
            self.exc_info = exc_info
        elif self.status is not None:
            raise RuntimeError(
                "start_response() was called a second time without exc_info (PEP 3333)"
            )
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data: bytes) -> None:
        if self.write_to is not None:
            self.write_to(data)
        elif self.sent is None:
            if self.written is None:
                self.written = []
            self.written.append(data)
        # After a hook replaced the body, late write() data has nowhere to go.

    def run(self, app: WSGIApplication, environ: WSGIEnvironment) -> Capture:
        """Call ``app`` and keep its iterable; returns this capture, the
        app's response."""
        app_iter = app(environ, self.start_response)
        if self.status is None:
            self.pull_until_started(app_iter, app)
        self.app_iter = app_iter
        return self

    def pull_until_started(self, app_iter: t.Iterable[bytes], app: WSGIApplication) -> None:
        """For an app that defers ``start_response`` to its first chunk (a
        generator app): pull chunks until it has called it, as Werkzeug's
        ``run_wsgi_app`` does, so the headers are known before any hook runs."""
        if self.written is None:
            self.written = []
        try:
            for chunk in app_iter:
                self.written.append(chunk)
                if self.status is not None:
                    return
        except BaseException:
            _close(app_iter)
            raise
        _close(app_iter)
        raise RuntimeError(f"WSGI app {app!r} returned without calling start_response()")

    def __iter__(self) -> t.Iterator[bytes]:
        if self.written:
            return itertools.chain(self.written, self.app_iter or ())
        return iter(self.app_iter or ())

    def close(self) -> None:
        """Close the app's iterable, once; keep what its ``close()`` raised in
        :attr:`close_error` before passing it on."""
        if not self.closed:
            self.closed = True
            try:
                _close(self.app_iter)
            except Exception as error:
                self.close_error = error
                raise

    def send(
        self, start_response: StartResponse, status: str, headers: list[t.Any]
    ) -> t.Iterable[bytes]:
        """Pass ``status`` and ``headers`` on to the server and return the
        body it gets: the app's own iterable when nothing was taken from it,
        so ``wsgi.file_wrapper`` and ``close()`` pass through untouched."""
        self.sent = start_response
        if self.exc_info is None:
            self.write_to = start_response(status, headers)
        else:
            self.write_to = start_response(status, headers, self.exc_info)
        if self.written:
            return self
        return self.app_iter  # type: ignore[return-value]


def _close(iterable: object) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


def hook_name(hook: object) -> str:
    module = getattr(hook, "__module__", None)
    name = getattr(hook, "__qualname__", None) or repr(hook)
    return f"{module}.{name}" if module else name


def _invalid(hook: object, rv: object, detail: str = "") -> TypeError:
    return TypeError(
        f"{hook_name(hook)} did not return a valid response{detail}. Return a str, bytes,"
        " dict or list (JSON), a (body, status), (body, headers) or (body, status, headers)"
        f" tuple, a response object or a WSGI callable, not {type(rv).__name__}."
    )


class Flavour:
    """The Werkzeug flavour; :class:`WebObFlavour` overrides what differs."""

    response_class: t.Any = Response
    http_exceptions: tuple[type[BaseException], ...] = (HTTPException,)

    def __init__(self, request_class: t.Any) -> None:
        #: Builds a hook's request from the environ.
        self.make_request: t.Callable[[WSGIEnvironment], t.Any] = (
            lazy_request if request_class is Request else request_class
        )

    #: ``passthrough(capture)``: a response over the captured status, headers
    #: and body, as after hooks see it; the body is not read.
    # mypy 1.19 (the newest that runs on Python 3.9) reads a staticmethod
    # assigned to a Callable attribute as a mismatch.
    passthrough: t.Callable[[Capture], t.Any] = staticmethod(  # type: ignore[assignment,unused-ignore]
        response_over
    )

    #: ``untouched(response, capture)``: unless the hooks replaced the
    #: passthrough response's body, its status, its WSGI header list and the
    #: callbacks to run on close.
    untouched: t.Callable[
        [t.Any, Capture],
        tuple[str, list[tuple[str, str]], t.Sequence[t.Callable[[], object]]] | None,
    ] = staticmethod(sendable)  # type: ignore[assignment,unused-ignore]

    def make_body(self, body: t.Any, status: t.Any, headers: t.Any) -> t.Any:
        # Flask's default mimetype, unless the hook gave a Content-Type.
        typed = headers is not None and "content-type" in Headers(headers)
        return Response(
            body, status=status, headers=headers, mimetype=None if typed else "text/html"
        )

    def make_json(self, data: t.Any) -> t.Any:
        return Response(_dumps(data), mimetype="application/json")

    def make_from_app(self, app: t.Any, environ: WSGIEnvironment) -> t.Any:
        return self.passthrough(Capture().run(app, environ))

    def set_status(self, response: t.Any, status: t.Any) -> None:
        if isinstance(status, (str, bytes, bytearray)):
            response.status = status
        else:
            response.status_code = status

    def update_headers(self, response: t.Any, headers: t.Any) -> None:
        response.headers.update(headers)

    def make_response(self, rv: t.Any, environ: WSGIEnvironment, hook: object) -> t.Any:
        """Flask's ``make_response`` rules, naming ``hook`` in errors."""
        if isinstance(rv, self.response_class):
            return rv
        status = headers = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise _invalid(hook, rv, " (a tuple must have 2 or 3 items)")
        if rv is None:
            raise _invalid(hook, rv)
        if isinstance(rv, self.response_class):
            response = rv
        elif isinstance(rv, (str, bytes, bytearray, Iterator)):
            return self.make_body(rv, status, headers)
        elif isinstance(rv, (dict, list)):
            response = self.make_json(rv)
        elif callable(rv):
            response = self.make_from_app(rv, environ)
        else:
            raise _invalid(hook, rv)
        if status is not None:
            self.set_status(response, status)
        if headers:
            self.update_headers(response, headers)
        return response


def _dumps(data: t.Any) -> str:
    # Flask's DefaultJSONProvider outside debug mode.
    return json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":")) + "\n"


class WebObFlavour(Flavour):
    """WebOb's request and response classes (``request_class=webob.Request``)."""

    def __init__(self, request_class: t.Any) -> None:
        webob_exc = importlib.import_module("webob.exc")
        self.make_request = request_class
        self.response_class = request_class.ResponseClass
        self.http_exceptions = (HTTPException, webob_exc.HTTPException)

    def passthrough(self, capture: Capture) -> t.Any:
        return self.response_class(
            status=capture.status, headerlist=list(capture.headers), app_iter=capture
        )

    def untouched(
        self, response: t.Any, capture: Capture
    ) -> tuple[str, list[tuple[str, str]], t.Sequence[t.Callable[[], object]]] | None:
        if response.app_iter is not capture or response.conditional_response:
            return None
        return response.status, list(response.headerlist), ()

    def make_body(self, body: t.Any, status: t.Any, headers: t.Any) -> t.Any:
        response = self.response_class(status=status)
        if isinstance(body, str):
            response.text = body
        elif isinstance(body, (bytes, bytearray)):
            response.body = bytes(body)
        else:
            response.app_iter = (c.encode() if isinstance(c, str) else c for c in body)
            del response.content_length
        if headers:
            items = headers.items() if hasattr(headers, "items") else headers
            for key, value in items:
                response.headers.add(key, value)
        return response

    def make_json(self, data: t.Any) -> t.Any:
        return self.response_class(
            body=_dumps(data).encode(), content_type="application/json", charset=None
        )

    def set_status(self, response: t.Any, status: t.Any) -> None:
        if isinstance(status, (bytes, bytearray)):
            status = status.decode("latin-1")
        if isinstance(status, str):
            response.status = status
        else:
            response.status_code = status

    def update_headers(self, response: t.Any, headers: t.Any) -> None:
        items = list(headers.items() if hasattr(headers, "items") else headers)
        for key in {key.lower() for key, _ in items}:
            response.headers.pop(key, None)
        for key, value in items:
            response.headers.add(key, value)


def flavour_for(request_class: t.Any) -> Flavour:
    """The flavour of ``request_class``; TypeError for anything else."""
    if isinstance(request_class, type) and issubclass(request_class, Request):
        return Flavour(request_class)
    if isinstance(request_class, type):
        try:
            webob = importlib.import_module("webob")
        except ImportError:
            pass
        else:
            if issubclass(request_class, webob.BaseRequest):
                return WebObFlavour(request_class)
    raise TypeError(
        "request_class must be werkzeug.wrappers.Request, webob.Request or a subclass of"
        f" either, not {request_class!r}"
    )
