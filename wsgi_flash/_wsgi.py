"""WSGI plumbing shared by the middlewares
=========================================

Small helpers that every middleware needs: finding the environ behind a
request object and a closing iterator that keeps the WSGI ``close()``
contract.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


def get_environ(environ_or_request: t.Any, function_name: str) -> WSGIEnvironment:
    """Return the WSGI environ of ``environ_or_request``.

    Accepts the environ dict itself or any request object that carries it:
    ``.environ`` (Werkzeug, WebOb, Django, Bottle) or ``.env`` (Falcon).

    :param environ_or_request: the environ or a request object.
    :param function_name: named in the error raised for anything else.
    """
    if type(environ_or_request) is dict:
        return environ_or_request
    environ = getattr(environ_or_request, "environ", None)
    if environ is None:
        environ = getattr(environ_or_request, "env", None)
    if isinstance(environ, dict):
        return environ
    if isinstance(environ_or_request, dict):
        return environ_or_request
    raise TypeError(
        f"{function_name}() takes the WSGI environ or a request object with an"
        f" .environ or .env attribute, not {type(environ_or_request).__name__!r}"
    )


class ClosingIterator:
    """Iterate over ``iterable`` and, on ``close()``, close it first and then
    run ``callbacks`` in order.

    Each step runs even if an earlier one raised; the first error is
    re-raised at the end with the later ones attached as ``__notes__`` so
    nothing is lost. ``close()`` is idempotent: the wrapped iterable and the
    callbacks run exactly once however often the server calls it.
    """

    __slots__ = ("_callbacks", "_closed", "_iterable", "_iterator")

    def __init__(
        self, iterable: t.Iterable[bytes], callbacks: t.Sequence[t.Callable[[], object]] = ()
    ) -> None:
        self._iterable = iterable
        self._iterator = iter(iterable)
        self._callbacks = callbacks
        self._closed = False

    def __iter__(self) -> ClosingIterator:
        return self

    def __next__(self) -> bytes:
        return next(self._iterator)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        close = getattr(self._iterable, "close", None)
        steps: list[t.Callable[[], object]] = [close] if close is not None else []
        steps.extend(self._callbacks)
        for step in steps:
            try:
                step()
            except Exception as error:
                errors.append(error)
        if errors:
            first = errors[0]
            for later in errors[1:]:
                note = f"also raised while closing: {type(later).__name__}: {later}"
                if hasattr(first, "add_note"):
                    first.add_note(note)
                else:  # Python < 3.11: the same attribute, set by hand
                    notes = [*getattr(first, "__notes__", ()), note]
                    first.__notes__ = notes  # type: ignore[attr-defined,unused-ignore]
            raise first
