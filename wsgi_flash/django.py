"""Django integration
==================

Three settings put Django's messages framework on the wsgi_flash cookie,
without touching ``wsgi.py``:

.. code-block:: python

    # settings.py
    MIDDLEWARE = [
        ...,
        "wsgi_flash.django.FlashMiddleware",       # above MessageMiddleware
        "django.contrib.messages.middleware.MessageMiddleware",
        ...,
    ]
    MESSAGE_STORAGE = "wsgi_flash.django.FlashStorage"
    WSGI_FLASH = {"secret_key": os.environ["WSGI_FLASH_SECRET_KEY"]}

``messages.success(request, "Saved.")`` and ``{% for message in messages %}``
work as always; the messages travel in the signed ``flash`` cookie, which
any service sharing the key (a Flask app with ``wsgi_flash.flask``, a
Pyramid app...) reads and writes too. :func:`wsgi_flash.flash` and the
:func:`flash_messages` context processor work on the same requests.

The core middlewares never import this module.
"""

from __future__ import annotations

import functools
import re
import typing as t

from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
from django.contrib.messages.constants import DEFAULT_TAGS, INFO  # type: ignore[import-untyped,unused-ignore]
from django.contrib.messages.storage.base import BaseStorage, Message  # type: ignore[import-untyped,unused-ignore]
from django.contrib.messages.utils import get_level_tags  # type: ignore[import-untyped,unused-ignore]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped,unused-ignore]
from django.utils.cache import patch_vary_headers  # type: ignore[import-untyped,unused-ignore]
from django.utils.safestring import SafeData, mark_safe  # type: ignore[import-untyped,unused-ignore]
from markupsafe import Markup

from ._adapter import FlashAround
from .messages.middleware import ENVIRON_KEY, flash, get_flashed_messages, peek_flashed_messages

if t.TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase  # type: ignore[import-untyped,unused-ignore]

_SETTING = "WSGI_FLASH"
_LEVEL_WORD = re.compile(r"level-([0-9]{1,9})")
_MIDDLEWARE = "wsgi_flash.django.FlashMiddleware"
_MESSAGE_MIDDLEWARE = "django.contrib.messages.middleware.MessageMiddleware"


@functools.lru_cache(maxsize=8)
def _flash_around(options: tuple[tuple[str, t.Any], ...]) -> FlashAround:
    return FlashAround(**dict(options))


def _configured() -> FlashAround:
    """The FlashAround for ``settings.WSGI_FLASH`` (cached per value, so
    ``override_settings`` in tests gets its own)."""
    options = getattr(settings, _SETTING, None)
    if not isinstance(options, dict) or "secret_key" not in options:
        raise ImproperlyConfigured(
            f"settings.{_SETTING} must be a dict with a 'secret_key' of its own, such as"
            f' {_SETTING} = {{"secret_key": os.environ["WSGI_FLASH_SECRET_KEY"]}}; not'
            " SECRET_KEY, which also signs sessions and password-reset links and should not"
            " be shared with the other services that read the cookie. Generate one with"
            " python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    try:
        return _flash_around(tuple(sorted((k, _hashable(v)) for k, v in options.items())))
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"settings.{_SETTING}: {error}") from None


def _hashable(value: t.Any) -> t.Any:
    return tuple(value) if isinstance(value, list) else value


class FlashMiddleware:
    """Django middleware: the request's flash cookie is read before the
    view and written on its response, as :class:`wsgi_flash.FlashMiddleware`
    does around a WSGI app, with the options of ``settings.WSGI_FLASH``
    (``secret_key`` and the FlashMiddleware's keyword options). Put it above
    ``MessageMiddleware``. When a FlashMiddleware already wraps the WSGI
    application (``wsgi.py``), it steps aside.

    .. code-block:: python

        MIDDLEWARE = [
            "wsgi_flash.django.FlashMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ]
        WSGI_FLASH = {"secret_key": os.environ["WSGI_FLASH_SECRET_KEY"], "samesite": "Strict"}

    :param get_response: the rest of Django's handler chain.
    :raises ImproperlyConfigured: ``WSGI_FLASH`` has no ``secret_key`` or a
        bad option.

    .. versionadded:: 0.2
    """

    def __init__(self, get_response: t.Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        _configured()  # a mistake in the settings fails at start-up

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response, headers = _configured().handle(
            _environ(request),
            lambda: self.get_response(request),
            lambda response: f"{response.status_code} {response.reason_phrase}",
        )
        if headers:
            _apply(response, headers)
        return response


def _environ(request: HttpRequest) -> dict[str, t.Any]:
    environ = getattr(request, "environ", None)
    if not isinstance(environ, dict):
        raise ImproperlyConfigured(
            "wsgi_flash needs the request's WSGI environ; serve Django with a WSGI server"
            f" (get_wsgi_application), not ASGI ({type(request).__name__} has no .environ)"
        )
    return environ


def _apply(response: HttpResponseBase, headers: list[tuple[str, str]]) -> None:
    for name, value in headers:
        if name == "Set-Cookie":
            response.cookies.load(value)
        elif name == "Vary":
            patch_vary_headers(response, [v.strip() for v in value.split(",")])
        else:
            response[name] = value


class FlashStorage(BaseStorage):  # type: ignore[misc,unused-ignore]
    """``MESSAGE_STORAGE`` for django.contrib.messages: messages live in the
    flash cookie, one ``(category, message)`` pair each.

    The category is the message's ``tags``: its ``extra_tags``, then its
    level's tag (``"urgent error"``), so a Flask app reading the cookie gets
    the class names Django templates use. A level without a tag is written
    ``level-N``. Reading, the last word that names a level (by
    ``MESSAGE_TAGS``, then Django's default tags) gives the level and the
    rest the extra tags; a category naming no level (Flask's default
    ``"message"``) reads as INFO with the category as extra tags. Messages
    marked safe stay safe.

    .. code-block:: python

        MESSAGE_STORAGE = "wsgi_flash.django.FlashStorage"

    :param request: the request; its WSGI environ holds the flash state that
        :class:`FlashMiddleware` (or a FlashMiddleware around ``wsgi.py``'s
        application) made. A ``RequestFactory`` request gets one from its
        ``Cookie`` header.

    .. versionadded:: 0.2
    """

    def __init__(self, request: HttpRequest, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.environ = _environ(request)
        if ENVIRON_KEY not in self.environ:
            _check_middleware()
            # A RequestFactory request, which no middleware handled.
            _configured().prepare(self.environ)
        self._peeked: list[tuple[str, t.Any]] = []

    def _get(self, *args: t.Any, **kwargs: t.Any) -> tuple[list[Message], bool]:
        self._peeked = peek_flashed_messages(self.environ, with_categories=True)
        return [_to_message(category, text) for category, text in self._peeked], True

    def _store(
        self, messages: list[Message], response: t.Any, *args: t.Any, **kwargs: t.Any
    ) -> list[Message]:
        # Replace what Django loaded by what it keeps; messages that other
        # code flashed meanwhile (wsgi_flash.flash) stay after them.
        current = get_flashed_messages(self.environ, with_categories=True)
        peeked = self._peeked
        if current[: len(peeked)] == peeked:
            others = current[len(peeked) :]
        else:
            others = [pair for pair in current if pair not in peeked]
        for message in messages:
            flash(self.environ, _safe_message(message.message), _category(message))
        for category, text in others:
            flash(self.environ, text, category)
        return []


def _check_middleware() -> None:
    """Raise if nothing would write the cookie of requests that Django's
    handler serves."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if _MIDDLEWARE not in middleware:
        raise ImproperlyConfigured(
            f"FlashStorage found no flash cookie for this request: add {_MIDDLEWARE!r} to"
            f" MIDDLEWARE, above {_MESSAGE_MIDDLEWARE!r} (or wrap wsgi.py's application in"
            " wsgi_flash.stack)"
        )
    if _MESSAGE_MIDDLEWARE in middleware and middleware.index(
        _MESSAGE_MIDDLEWARE
    ) < middleware.index(_MIDDLEWARE):
        raise ImproperlyConfigured(
            f"MIDDLEWARE lists {_MIDDLEWARE!r} below {_MESSAGE_MIDDLEWARE!r}; move it above,"
            " so the flash cookie is read before the messages and written after them"
        )


def _level_by_tag() -> dict[str, int]:
    levels = {tag: level for level, tag in DEFAULT_TAGS.items()}
    levels.update((tag, level) for level, tag in get_level_tags().items() if tag)
    return levels


def _category(message: Message) -> str:
    original = getattr(message, "category", None)
    if original is not None:
        return str(original)
    level_tag = message.level_tag or f"level-{int(message.level)}"
    return " ".join(tag for tag in (message.extra_tags, level_tag) if tag)


def _to_message(category: str, text: t.Any) -> Message:
    words = category.split()
    level, extra = INFO, category
    if words:
        last = words[-1]
        by_number = _LEVEL_WORD.fullmatch(last)
        known = _level_by_tag().get(last)
        if known is not None or by_number:
            level = known if known is not None else int(by_number.group(1))  # type: ignore[union-attr]
            extra = " ".join(words[:-1])
    if hasattr(text, "__html__"):
        text = mark_safe(str(text))
    elif not isinstance(text, str):
        text = str(text)  # a JSON value from another service: shown as text
    return StoredMessage(level, text, extra, category)


def _safe_message(text: t.Any) -> t.Any:
    # SafeString has __html__ too; Markup keeps it safe for the other readers.
    return Markup(str(text)) if isinstance(text, SafeData) else text


class StoredMessage(Message):  # type: ignore[misc,unused-ignore]
    """A message read from the cookie; it remembers its category, so an
    unread message is written back as it came."""

    def __init__(self, level: int, message: t.Any, extra_tags: str, category: str) -> None:
        super().__init__(level, message, extra_tags)
        self.category = category


def flash_messages(request: t.Any) -> dict[str, t.Any]:
    """Template context processor: the request's flashed messages, read
    (and consumed) only if the template uses them.

    ``get_flashed_messages`` is :func:`wsgi_flash.get_flashed_messages`
    bound to the request: Jinja2 templates call it as Flask templates do,
    the Django template language calls it without arguments (messages
    only). ``flashed_messages`` gives ``(category, message)`` pairs, for
    Django templates that need the category. With ``FlashStorage``, Django's
    own ``messages`` context processor reads the same cookie.

    .. code-block:: python

        TEMPLATES = [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": ["wsgi_flash.django.flash_messages"]},
        }]

    .. code-block:: html+django

        {% for category, message in flashed_messages %}
          <li class="{{ category }}">{{ message }}</li>
        {% endfor %}

    :param request: the Django request (``HttpRequest`` with ``.environ``).

    .. versionadded:: 0.1
    """
    # Callables, not lists: templates call them only when they show the
    # messages, so a page that does not show them leaves them stored.
    return {
        "get_flashed_messages": functools.partial(get_flashed_messages, request),
        "flashed_messages": functools.partial(get_flashed_messages, request, True),
    }
