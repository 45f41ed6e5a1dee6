"""Werkzeug internals used by :mod:`wsgi_flash.hooks`
=================================================

The one module that touches Werkzeug's private attributes, so a Werkzeug
release that changes them breaks one place, and
``tests/test_werkzeug_drift.py`` (run against the oldest and the newest
Werkzeug the package allows) says where: it compares what this module
builds with what the public constructors build.

Why not the public constructors: on every hooked request they cost more
than all the rest of RequestHooks (callgrind, Python 3.11, Werkzeug 3.1):
``Request(environ)`` about 20,000 instructions against 3,300 for
:func:`lazy_request`; ``Response(body, status, headers)`` about 29,000
against 4,300 for :func:`response_over` (``Headers`` checks each header
through ``collections.abc`` and the ``status`` setter parses the line
each time), while a whole request with three before and three after hooks
costs about 32,000.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from .._cache import BoundedCache

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# Instances made without calling their class (type.__call__ and __init__).
_new = object.__new__

#: What ``Request.__init__`` computes eagerly (server address, decoded
#: paths, a headers view): about 2.5 µs that most hooks never need.
EAGER_REQUEST_ATTRIBUTES = frozenset(
    ("method", "scheme", "server", "root_path", "path", "query_string", "headers", "remote_addr")
)


class LazyRequest(Request):
    """A Werkzeug :class:`~werkzeug.wrappers.Request` whose parsed attributes
    are computed on first use, by a real ``Request`` over the same environ,
    so their values are exactly Werkzeug's. Made by :func:`lazy_request`
    (calling the class runs Werkzeug's eager ``__init__``)."""

    def __getattr__(self, name: str) -> t.Any:
        # Only reached when normal lookup fails, so assigned values win.
        if name not in EAGER_REQUEST_ATTRIBUTES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        parsed = vars(Request(self.environ, populate_request=False))
        for key in EAGER_REQUEST_ATTRIBUTES:
            self.__dict__.setdefault(key, parsed[key])
        return self.__dict__[name]


def lazy_request(environ: WSGIEnvironment) -> LazyRequest:
    """A :class:`LazyRequest` over ``environ``, like
    ``Request(environ, populate_request=False)``: not registered as
    ``environ["werkzeug.request"]``, so that nothing in the environ refers
    back to it."""
    request: LazyRequest = _new(LazyRequest)
    request.environ = environ
    request.shallow = False
    return request


def _parse_status(status: str) -> tuple[str, int]:
    response = _new(Response)
    response.status = status
    return response.status, response.status_code


# The status setter costs 6,000 instructions a call and an app sends a
# handful of distinct lines: remembered, in the package's one cache type.
_parsed_status: BoundedCache[str, tuple[str, int]] = BoundedCache(
    max_entries=256, max_key_length=256, compute=_parse_status
)


class Captured(t.Protocol):
    """A WSGI app's response: its body, with the status line and header
    list it passed to ``start_response``."""

    status: str | None
    headers: list[tuple[str, str]]

    def __iter__(self) -> t.Iterator[bytes]: ...


def response_over(captured: Captured) -> Response:
    """``Response(captured, captured.status, captured.headers)``, without
    checking again what the server checks: the header list is copied (apps
    often pass a constant) and no Content-Type is added."""
    response: Response = _new(Response)
    headers: Headers = _new(Headers)
    headers._list = [*captured.headers]
    response.headers = headers
    # Set: a passthrough response is made only after the app's start_response.
    status = t.cast(str, captured.status)
    response._status, response._status_code = _parsed_status[status]
    response.response = captured
    response.direct_passthrough = False
    response._on_close = []
    return response


def sendable(
    response: Response, captured: Captured
) -> tuple[str, list[tuple[str, str]], list[t.Callable[[], t.Any]]] | None:
    """Unless a hook replaced the body of :func:`response_over`'s response:
    its status line, its WSGI header list (for our own ``Headers``, the
    list itself rather than a copy) and its ``call_on_close()`` callbacks."""
    if response.response is not captured:
        return None
    headers = response.headers
    wsgi_headers = headers._list if type(headers) is Headers else headers.to_wsgi_list()
    return response._status, wsgi_headers, response._on_close
