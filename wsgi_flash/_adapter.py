"""FlashMiddleware inside a framework's own middleware chain
==========================================================

Django middlewares and Pyramid tweens see request and response objects, not
a WSGI call. :class:`FlashAround` runs the real :class:`~wsgi_flash.FlashMiddleware`
around such a handler: the middleware reads the cookie and puts the
request's flash state in the environ as it always does, the handler makes
the response, and the headers the middleware adds (``Set-Cookie``,
``Vary``) are handed back for the adapter to put on the framework's
response. One code path decides what the cookie says, whoever serves it.

When a FlashMiddleware already wraps the WSGI application (``wsgi.py``, a
gunicorn config), the request's environ holds its state and FlashAround
steps aside, so a cookie is never handled twice.

Only the framework adapters import this module; the core never does.
"""

from __future__ import annotations

import typing as t

from .messages.middleware import ENVIRON_KEY, FlashMiddleware

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

R = t.TypeVar("R")

# Where the handler waits for the middleware to call it, for one request.
_HANDLER_KEY = "wsgi_flash.adapter.handler"


class FlashAround:
    """A :class:`~wsgi_flash.FlashMiddleware` for handlers that return
    response objects.

    :param options: the FlashMiddleware's keyword options.
    """

    def __init__(self, **options: t.Any) -> None:
        self.middleware = FlashMiddleware(_call_handler, **options)

    def handle(
        self,
        environ: WSGIEnvironment,
        handler: t.Callable[[], R],
        status_of: t.Callable[[R], str],
        headers_of: t.Callable[[R], list[tuple[str, str]]] = lambda response: [],
    ) -> tuple[R, list[tuple[str, str]] | None]:
        """Call ``handler`` inside the middleware; return its response and
        the response headers the middleware settled on: ``headers_of(response)``
        with ``Set-Cookie`` and ``Vary`` added as needed. None instead of
        headers when a FlashMiddleware outside already handles the request."""
        if ENVIRON_KEY in environ:
            return handler(), None
        responses: list[R] = []
        settled: list[tuple[str, str]] = []

        def respond() -> tuple[str, list[tuple[str, str]]]:
            response = handler()
            responses.append(response)
            return status_of(response), headers_of(response)

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            settled[:] = headers
            return _no_write

        environ[_HANDLER_KEY] = respond
        try:
            self.middleware(environ, start_response)
        finally:
            environ.pop(_HANDLER_KEY, None)
        return responses[0], settled

    def prepare(self, environ: WSGIEnvironment) -> None:
        """Give a request that no middleware handles (a Flask
        ``test_request_context``, a Django ``RequestFactory`` request) its
        flash state, read from its ``Cookie`` header, so that flash() and
        get_flashed_messages() work on it. Nothing writes a cookie for it."""
        if ENVIRON_KEY not in environ:
            self.middleware(environ, _no_start_response)


def _call_handler(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
    respond = environ.get(_HANDLER_KEY)
    if respond is not None:  # None: FlashAround.prepare, which only wants the state
        start_response(*respond())
    return ()


def _no_write(data: bytes) -> None:
    raise RuntimeError("a framework adapter's response has no WSGI write()")


def _no_start_response(
    status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
) -> t.Callable[[bytes], object]:
    return _no_write
