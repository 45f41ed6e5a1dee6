"""Flask extension
===============

``init_app(app)`` is the one way to use wsgi_flash with Flask. It wraps
``app.wsgi_app`` in the stack (so ``flask run``, the test client and any
server go through it), configured from ``app.config``, and puts Flask's own
flashing on the wsgi_flash cookie: :func:`flask.flash` and
:func:`flask.get_flashed_messages` in views and templates keep working,
unchanged, and their messages travel in the signed ``flash`` cookie that
any service sharing the key can read, not in Flask's session.

.. code-block:: python

    from flask import Flask, flash, redirect
    from wsgi_flash.flask import init_app

    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    init_app(app)

    @app.post("/save")
    def save():
        flash("Saved.", "success")
        return redirect("/", 303)

The core middlewares never import this module (nor Flask).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from flask import Flask, request
from flask.sessions import SessionInterface, SessionMixin

from ._adapter import FlashAround
from .config import ENV_PREFIX, SECTIONS, TOP_LEVEL, Config, ConfigError
from .hooks.middleware import CALLBACKS_KEY
from .malformed._reporting import REPORTER_KEY
from .messages.middleware import ENVIRON_KEY
from .messages.middleware import flash as _flash
from .messages.middleware import get_flashed_messages as _get_flashed_messages
from .messages.middleware import peek_flashed_messages as _peek_flashed_messages

if t.TYPE_CHECKING:
    import os

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask.wrappers import Request, Response

#: The session key under which Flask keeps flashed messages.
FLASHES_KEY = "_flashes"
# What each middleware leaves in the environ: present, that middleware
# already ran outside (a gunicorn config, a wrapped wsgi.py).
_MARKERS = {
    # The endpoint judges the client by REMOTE_ADDR: once a ProxyFix (ours or
    # Werkzeug's) ran outside, that may come from X-Forwarded-For.
    "metrics": "werkzeug.proxy_fix.orig",
    "proxy": "wsgi_flash.proxy_fix.orig",
    "malformed": REPORTER_KEY,
    "flash": ENVIRON_KEY,
    "hooks": CALLBACKS_KEY,
}
_NO_KEY = (
    "init_app() found no secret key for the flash cookie; set app.config['SECRET_KEY'] (or"
    " WSGI_FLASH_SECRET_KEY), or pass secret_key=...; generate one with"
    " python -c 'import secrets; print(secrets.token_hex(32))'"
)


def flash(message: t.Any, category: str = "message") -> None:
    """Flash ``message`` to the next request that reads messages; after
    :func:`init_app`, :func:`flask.flash` does the same.

    :param message: what :func:`wsgi_flash.flash` accepts: str, Markup or a
        JSON value.
    :param category: ``"message"``, ``"error"``, ``"info"``, ``"warning"``...
    """
    _flash(request, message, category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[t.Any]:
    """Return and consume the flashed messages of the current request, with
    :func:`flask.get_flashed_messages`'s signature and semantics.
    :func:`init_app` makes this the Jinja global of the same name.

    :param with_categories: return ``(category, message)`` tuples.
    :param category_filter: only return messages of these categories.
    """
    return _get_flashed_messages(request, with_categories, category_filter)


def init_app(
    app: Flask,
    config: Config | str | os.PathLike[str] | None = None,
    *,
    environ: t.Mapping[str, str] | None = None,
    **options: t.Any,
) -> None:
    """Install wsgi_flash on a Flask app.

    - Wraps ``app.wsgi_app`` in :func:`wsgi_flash.stack`, so ``flask run``,
      ``app.test_client()`` and every server go through it. A middleware
      that already ran outside (``gunicorn -c python:wsgi_flash.gunicorn``,
      a stack around the whole app) steps aside for that request, so a
      cookie or a forwarded header is never handled twice.
    - Makes :func:`flask.flash` and :func:`flask.get_flashed_messages`
      store in the flash cookie (a migrating app loses no message: any left
      in Flask's session move over on the next request), and makes
      :func:`get_flashed_messages` the templates' Jinja global.

    Options come from, last wins: the TOML ``config`` file, ``environ``'s
    ``WSGI_FLASH_*`` variables, ``app.config``'s ``WSGI_FLASH_*`` keys
    (``WSGI_FLASH_SECRET_KEY``, ``WSGI_FLASH_PROXY = {"x_for": 1}`` or
    ``WSGI_FLASH_PROXY_X_FOR = 1``), then keyword ``options``. Without a
    wsgi_flash key, Flask's ``SECRET_KEY`` (and ``SECRET_KEY_FALLBACKS``)
    signs the cookie, with a salt of its own so neither signature can pass
    for the other.

    .. code-block:: python

        init_app(app)                                   # app.config
        init_app(app, proxy={"x_for": 1, "x_proto": 1})
        init_app(app, "wsgi_flash.toml", environ=os.environ)

    :param app: the Flask application, configured.
    :param config: a :class:`~wsgi_flash.Config` or a TOML file, as for
        :func:`~wsgi_flash.stack`.
    :param environ: where to read ``WSGI_FLASH_*`` variables from
        (``os.environ``); not read unless given.
    :param options: ``secret_key``, ``fallback_secret_keys`` and the
        ``flash``, ``proxy``, ``malformed`` and ``hooks`` sections.
    :raises ConfigError: no secret key anywhere, or a bad option.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       Reads ``app.config``, always installs the stack, and carries
       :func:`flask.flash` and :func:`flask.get_flashed_messages`.
    """
    if isinstance(config, Config):
        if environ is not None or options:
            raise TypeError("init_app() takes either a Config or options to load one, not both")
        loaded = config
    else:
        loaded = _load(app, config, environ, options)
    explicitly_off = loaded.sections.get("flash", {}).get("enabled") is False
    if not loaded.enabled("flash") and not explicitly_off:
        raise ConfigError(_NO_KEY)
    # Flask types wsgi_app as its bound method; any WSGI callable works.
    app.wsgi_app = _stack(app.wsgi_app, loaded)  # type: ignore[method-assign,assignment]
    if loaded.enabled("flash"):
        flash_around = FlashAround(**loaded.options("flash"))
        app.session_interface = FlashSessionInterface(app.session_interface, flash_around)
        app.add_template_global(get_flashed_messages, "get_flashed_messages")


def _load(
    app: Flask,
    file: str | os.PathLike[str] | None,
    environ: t.Mapping[str, str] | None,
    options: dict[str, t.Any],
) -> Config:
    data = _deep_merge(_from_app_config(app), options)
    file_given = file is not None or (environ is not None and f"{ENV_PREFIX}CONFIG" in environ)
    key_given = "secret_key" in data or (
        environ is not None and f"{ENV_PREFIX}SECRET_KEY" in environ
    )
    if not (file_given or key_given) and app.config.get("SECRET_KEY"):
        data["secret_key"] = app.config["SECRET_KEY"]
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS")
        if fallbacks and "fallback_secret_keys" not in data:
            data["fallback_secret_keys"] = list(fallbacks)
    return Config.load(file, environ=environ, **data)


def _from_app_config(app: Flask) -> dict[str, t.Any]:
    """``app.config``'s ``WSGI_FLASH_*`` keys as :meth:`Config.load` options."""
    data: dict[str, t.Any] = {}
    for key, value in app.config.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        section, _, option = name.partition("_")
        if name in TOP_LEVEL:
            data[name] = value
        elif name in SECTIONS:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"app.config[{key!r}] must be a dict of {name} options, not {value!r}"
                )
            data.setdefault(name, {}).update(value)
        elif section in SECTIONS and option:
            data.setdefault(section, {})[option] = value
        else:
            raise ConfigError(
                f"app.config[{key!r}]: unknown; use {ENV_PREFIX}SECRET_KEY,"
                f" {ENV_PREFIX}FALLBACK_SECRET_KEYS, {ENV_PREFIX}<SECTION> (a dict) or"
                f" {ENV_PREFIX}<SECTION>_<OPTION>, with a section of"
                f" {', '.join(s.upper() for s in SECTIONS)}"
            )
    return data


def _deep_merge(base: dict[str, t.Any], overrides: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _stack(app: WSGIApplication, config: Config) -> WSGIApplication:
    """``config.wrap(app)``, each middleware stepping aside for requests
    that the same middleware already handled outside."""
    for section in reversed(list(SECTIONS)):
        if config.enabled(section):
            # Built by the whole config, so that each counts when metrics are on.
            app = _StepAside(app, config._build(section, app), _MARKERS[section])
    return app


class _StepAside:
    """Call ``wrapped`` (a middleware around ``app``), or ``app`` directly
    when ``marker`` shows that middleware already ran outside."""

    __slots__ = ("app", "marker", "wrapped")

    def __init__(self, app: WSGIApplication, wrapped: WSGIApplication, marker: str) -> None:
        self.app, self.wrapped, self.marker = app, wrapped, marker

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if self.marker in environ:
            return self.app(environ, start_response)
        return self.wrapped(environ, start_response)


class FlashSessionInterface(SessionInterface):
    """Flask's session interface, with the session's flashed messages
    (``session["_flashes"]``, which :func:`flask.flash` and
    :func:`flask.get_flashed_messages` use) kept in the flash cookie.
    Everything else goes to ``interface``, the app's own.

    :param interface: the app's session interface.
    :param flash_around: gives requests that no middleware handled (a
        ``test_request_context``) their flash state.
    """

    def __init__(self, interface: SessionInterface, flash_around: FlashAround) -> None:
        self.interface = interface
        self.flash_around = flash_around
        self.null_session_class = interface.null_session_class

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.interface, name)

    def open_session(self, app: Flask, request: Request) -> FlashingSession:
        session = self.interface.open_session(app, request)
        if session is None:
            session = self.interface.make_null_session(app)
        self.flash_around.prepare(request.environ)
        return FlashingSession(session, request.environ)

    def make_null_session(self, app: Flask) -> t.Any:
        return self.interface.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.interface.is_null_session(_unwrap(obj))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        self.interface.save_session(app, _unwrap(session), response)


def _unwrap(session: t.Any) -> t.Any:
    return session.session if isinstance(session, FlashingSession) else session


class FlashingSession(SessionMixin):
    """The app's session for one request, but for ``"_flashes"``, which
    reads and writes the request's flash cookie: ``flask.flash`` appends a
    message, ``flask.get_flashed_messages`` pops them all. Code that reads
    or pops ``session["_flashes"]`` itself gets the cookie's rule: the
    request's first read takes every message, and later reads in that
    request see the same ones (what is flashed after it goes to the next
    request).

    :param session: the session the app's interface opened.
    :param environ: the request's WSGI environ, with its flash state.
    """

    def __init__(self, session: t.Any, environ: WSGIEnvironment) -> None:
        object.__setattr__(self, "session", session)
        object.__setattr__(self, "environ", environ)
        object.__setattr__(self, "_flashes_modified", False)
        self._migrate()

    def _migrate(self) -> None:
        """Move messages left in Flask's session (by the app before it
        used wsgi_flash) into the flash cookie."""
        session = self.session
        if FLASHES_KEY not in session:
            return
        flashes = session.pop(FLASHES_KEY)
        if not isinstance(flashes, (list, tuple)):
            return  # not what flask.flash stores: nothing to move
        for entry in flashes:
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                continue
            category, message = entry
            try:
                _flash(self.environ, message, str(category))
            except TypeError:  # a value the session's JSON kept but flash() does not
                _flash(self.environ, str(message), str(category))

    # Mapping: "_flashes" is the flash cookie, the rest the app's session.

    def __getitem__(self, key: str) -> t.Any:
        if key == FLASHES_KEY:
            return self._pending()
        return self.session[key]

    def __setitem__(self, key: str, value: t.Any) -> None:
        if key != FLASHES_KEY:
            self.session[key] = value
            return
        value = list(value)
        pending = self._pending()
        if value[: len(pending)] == pending:
            added = value[len(pending) :]  # flask.flash: what it got, plus one
        else:
            _get_flashed_messages(self.environ)  # replaced: drop what was there
            added = value
        for category, message in added:
            _flash(self.environ, message, category)
        object.__setattr__(self, "_flashes_modified", True)

    def __delitem__(self, key: str) -> None:
        if key == FLASHES_KEY:
            _get_flashed_messages(self.environ)
        else:
            del self.session[key]

    def __contains__(self, key: object) -> bool:
        # The queue is always there, maybe empty: get_flashed_messages()
        # then pops it, which marks the read even when nothing was pending,
        # so a later flash goes to the next request, as in Flask.
        return key == FLASHES_KEY or key in self.session

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.session)

    def __len__(self) -> int:
        return len(self.session)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        if key == FLASHES_KEY:
            return self._pending()
        return self.session.get(key, default)

    _MISSING = object()

    def pop(self, key: str, default: t.Any = _MISSING) -> t.Any:
        if key != FLASHES_KEY:
            if default is FlashingSession._MISSING:
                return self.session.pop(key)
            return self.session.pop(key, default)
        taken = _get_flashed_messages(self.environ, with_categories=True)
        if taken:
            object.__setattr__(self, "_flashes_modified", True)
        return taken

    def clear(self) -> None:
        self.session.clear()

    def _pending(self) -> list[t.Any]:
        return _peek_flashed_messages(self.environ, with_categories=True)

    # Attributes: the app's session's, with flashing counted as a change.

    @property
    def modified(self) -> bool:
        return bool(self.session.modified or self._flashes_modified)

    @modified.setter
    def modified(self, value: bool) -> None:
        object.__setattr__(self, "_flashes_modified", value)
        self.session.modified = value

    @property
    def accessed(self) -> bool:
        return bool(self.session.accessed)

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self.session.accessed = value

    @property
    def new(self) -> bool:  # type: ignore[override]
        return bool(self.session.new)

    @property
    def permanent(self) -> bool:
        return bool(self.session.permanent)

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self.session.permanent = value

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.session, name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        if name in ("modified", "accessed", "permanent"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.session, name, value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session!r}>"
