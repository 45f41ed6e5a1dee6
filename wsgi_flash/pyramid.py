"""Pyramid integration
===================

``config.include("wsgi_flash.pyramid")`` reads ``wsgi_flash.*`` settings
(from the ``.ini``'s app section, as ``pserve`` loads it), adds a tween that
reads and writes the flash cookie, and gives the request Pyramid's flash
queue API, backed by that cookie rather than a session:

.. code-block:: ini

    [app:main]
    use = egg:myapp
    wsgi_flash.secret_key = %(flash_secret)s
    wsgi_flash.samesite = Strict

.. code-block:: python

    def main(global_config, **settings):
        with Configurator(settings=settings) as config:
            config.include("wsgi_flash.pyramid")
            ...
            return config.make_wsgi_app()

    def save(request):
        request.flash("Saved.")                   # queue "", like session.flash
        request.flash("Disk almost full.", "warning")
        return HTTPSeeOther(location="/")

    def index(request):
        return {"messages": request.pop_flash(), "warnings": request.pop_flash("warning")}

A queue is the message's category in the cookie; the default queue ``""``
is the category ``"message"``, Flask's default, so the apps sharing the
cookie read each other's messages. The core middlewares never import this
module.
"""

from __future__ import annotations

import typing as t

from pyramid.exceptions import ConfigurationError  # type: ignore[import-untyped,unused-ignore]
from pyramid.tweens import EXCVIEW  # type: ignore[import-untyped,unused-ignore]

from ._adapter import FlashAround
from .config import Config
from .messages._payload import storable
from .messages.middleware import flash as _flash
from .messages.middleware import get_flashed_messages, peek_flashed_messages

if t.TYPE_CHECKING:
    from pyramid.config import Configurator  # type: ignore[import-untyped,unused-ignore]
    from pyramid.registry import Registry  # type: ignore[import-untyped,unused-ignore]
    from pyramid.request import Request  # type: ignore[import-untyped,unused-ignore]
    from pyramid.response import Response  # type: ignore[import-untyped,unused-ignore]

PREFIX = "wsgi_flash."
_REGISTRY_KEY = "wsgi_flash.flash_around"
_PENDING_KEY = "wsgi_flash.pyramid.pending"
#: The category of Pyramid's default queue ``""``.
DEFAULT_CATEGORY = "message"


def includeme(config: Configurator) -> None:
    """Configure from the ``wsgi_flash.*`` settings, add the tween and the
    request methods ``flash``, ``pop_flash`` and ``peek_flash``.

    :raises ConfigurationError: no ``wsgi_flash.secret_key``, or a bad option.

    .. versionadded:: 0.2
    """
    settings = config.get_settings()
    options = {k[len(PREFIX) :]: v for k, v in settings.items() if k.startswith(PREFIX)}
    if "secret_key" not in options:
        raise ConfigurationError(
            "config.include('wsgi_flash.pyramid') needs wsgi_flash.secret_key in the settings"
            " (the .ini's [app:main] section, or Configurator(settings=...)); generate one with"
            " python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    origin = "Pyramid settings (wsgi_flash.*)"
    loaded = Config()
    text = {k: v for k, v in options.items() if isinstance(v, str)}
    typed = {k: v for k, v in options.items() if not isinstance(v, str)}
    try:
        loaded.merge({"flash": text}, origin, text=True)
        loaded.merge({"flash": typed}, origin, text=False)
        config.registry[_REGISTRY_KEY] = FlashAround(**loaded.options("flash"))
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{origin}: {error}") from None
    # Over the exception view tween, so an exception view can flash too.
    config.add_tween("wsgi_flash.pyramid.tween_factory", over=EXCVIEW)
    config.add_request_method(flash, "flash")
    config.add_request_method(pop_flash, "pop_flash")
    config.add_request_method(peek_flash, "peek_flash")


def tween_factory(
    handler: t.Callable[[Request], Response], registry: Registry
) -> t.Callable[[Request], Response]:
    """The tween: the request's flash cookie is read before the view and
    written on its response, as :class:`wsgi_flash.FlashMiddleware` does
    around a WSGI app (which, if it wraps this app, handles it instead)."""
    around: FlashAround = registry[_REGISTRY_KEY]

    def respond(request: Request) -> Response:
        response = handler(request)
        _store(request)
        return response

    def tween(request: Request) -> Response:
        response, headers = around.handle(
            request.environ,
            lambda: respond(request),
            lambda response: str(response.status),
            lambda response: list(response.headerlist),
        )
        if headers is not None:
            response.headerlist = headers
        return response

    return tween


class _Pending:
    """The request's messages as Pyramid's queues see them: read from the
    cookie on first use, written back before the response goes out."""

    __slots__ = ("changed", "loaded", "messages")

    def __init__(self, request: Request) -> None:
        self.loaded: list[tuple[str, t.Any]] = peek_flashed_messages(request, True)
        self.messages = list(self.loaded)
        self.changed = False


def _pending(request: Request) -> _Pending:
    pending: _Pending | None = request.environ.get(_PENDING_KEY)
    if pending is None:
        pending = request.environ[_PENDING_KEY] = _Pending(request)
    return pending


def _category(queue: str) -> str:
    if type(queue) is not str:
        raise TypeError(f"queue must be a str, not {type(queue).__name__}")
    return queue or DEFAULT_CATEGORY


def flash(request: Request, msg: t.Any, queue: str = "", allow_duplicate: bool = True) -> None:
    """``request.flash``: add ``msg`` to the end of ``queue``, as
    Pyramid's ``session.flash`` does; with ``allow_duplicate=False``, not
    if the queue already holds it.

    :param msg: a str, Markup or JSON value, as :func:`wsgi_flash.flash`
        takes (a TypeError names what cannot be stored).
    """
    category = _category(queue)
    msg = storable(msg)
    pending = _pending(request)
    if allow_duplicate or (category, msg) not in pending.messages:
        pending.messages.append((category, msg))
        pending.changed = True


def pop_flash(request: Request, queue: str = "") -> list[t.Any]:
    """``request.pop_flash``: remove ``queue`` and return its messages,
    oldest first; the other queues stay for later."""
    category = _category(queue)
    pending = _pending(request)
    taken = [m for c, m in pending.messages if c == category]
    if taken:
        pending.messages = [(c, m) for c, m in pending.messages if c != category]
        pending.changed = True
    return taken


def peek_flash(request: Request, queue: str = "") -> list[t.Any]:
    """``request.peek_flash``: the messages of ``queue``, left in place."""
    category = _category(queue)
    return [m for c, m in _pending(request).messages if c == category]


def _store(request: Request) -> None:
    """Write the queues back, if they changed, before the response's
    headers go out."""
    pending: _Pending | None = request.environ.get(_PENDING_KEY)
    if pending is None or not pending.changed:
        return
    # What wsgi_flash.flash() added meanwhile stays, after the queues.
    current = get_flashed_messages(request, True)
    loaded = pending.loaded
    if current[: len(loaded)] == loaded:
        others = current[len(loaded) :]
    else:
        others = [pair for pair in current if pair not in loaded]
    for category, message in pending.messages + others:
        _flash(request, message, category)
    pending.changed = False
