"""One configuration for the whole stack
=======================================

A :class:`Config` holds the options of the four middlewares, in sections
named after them, gathered from a TOML file, ``WSGI_FLASH_*`` environment
variables and keyword arguments (later sources win). It checks every key
against :data:`OPTIONS`, one table with each option's converter for text
values (from the environment or a PasteDeploy ``.ini``) and check for typed
ones (TOML, keyword arguments), and builds each middleware once up front so
a mistake fails at start-up with the key and where it came from. Secret keys
are never printed.

Nothing in the text sources reads as "trust more" by accident: an empty or
blank value is an error (unset the variable for the default), numbers are
plain ASCII decimals of bounded length, and ``none`` cannot switch off a
protection (trusted proxies, allowed hosts, rate limits, size limits).

.. code-block:: toml

    # wsgi_flash.toml
    secret_key = "..."            # turns the flash middleware on

    [proxy]                       # ProxyFix
    x_for = 1
    trusted_proxies = ["10.0.0.0/8"]

    [malformed]                   # MalformedRequestLogger
    reject = ["uri.percent_encoding"]

    [hooks]                       # RequestHooks around the app
    propagate_exceptions = false

    [metrics]                     # Prometheus counters, served at /metrics
    allow = ["loopback"]
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import stat
import sys
import typing as t
from dataclasses import dataclass, field

from ._logging import escape
from .exceptions import WsgiFlashError
from .metrics import MultiprocessDirectoryError

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

#: Sections, outermost middleware first: the order :meth:`Config.wrap` uses.
SECTIONS: dict[str, tuple[str, str]] = {
    "metrics": ("wsgi_flash.metrics", "MetricsEndpoint"),
    "proxy": ("wsgi_flash.proxy_fix", "ProxyFix"),
    "malformed": ("wsgi_flash.malformed", "MalformedRequestLogger"),
    "flash": ("wsgi_flash.messages", "FlashMiddleware"),
    "hooks": ("wsgi_flash.hooks", "RequestHooks"),
}
#: Parameters that take an object only code can make: never configured;
#: ``metrics`` is given to each middleware that counts when the ``metrics``
#: section is on.
CODE_ONLY = frozenset({"metrics", "registry"})
#: Keys allowed at the top level, and the section option each one sets.
TOP_LEVEL = {"secret_key": "flash", "fallback_secret_keys": "flash"}
ENV_PREFIX = "WSGI_FLASH_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Numbers in text: ASCII decimals only (int() also takes "1_000", other
# scripts' digits and thousands of digits), and short enough for any option.
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_FLOAT_TEXT = re.compile(
    r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})(?:[eE][+-]?[0-9]{1,3})?", re.ASCII
)

logger = logging.getLogger("wsgi_flash.config")


class ConfigError(WsgiFlashError, ValueError):
    """The configuration has an unknown key, a wrong type or value, or a
    missing secret; the message names the key and where it came from."""


def middleware_class(section: str) -> type[t.Any]:
    """The middleware class configured by ``section``."""
    module, name = SECTIONS[section]
    return t.cast("type[t.Any]", getattr(importlib.import_module(module), name))


def options_of(section: str) -> dict[str, inspect.Parameter]:
    """The middleware's keyword parameters (after ``app``), with their
    defaults, which :func:`format_reference` documents; :data:`OPTIONS`
    says how each is read, and a test keeps the two in step."""
    parameters = list(inspect.signature(middleware_class(section)).parameters.values())
    return {
        p.name: p for p in parameters[1:] if p.kind is not p.VAR_KEYWORD and p.name not in CODE_ONLY
    }


@dataclass(repr=False)
class Config:
    """Options per section and where each came from.

    .. code-block:: python

        from wsgi_flash.config import Config

        config = Config.load("wsgi_flash.toml", environ=os.environ, proxy={"x_for": 2})
        application = config.wrap(application)

    :param sections: section name to its options, as given.
    :param origins: ``(section, key)`` to the file, variable or argument
        that set it, for error messages.
    """

    sections: dict[str, dict[str, t.Any]] = field(default_factory=dict)
    origins: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        file: str | os.PathLike[str] | None = None,
        *,
        environ: t.Mapping[str, str] | None = None,
        **overrides: t.Any,
    ) -> Config:
        """Read ``file`` (TOML), then ``WSGI_FLASH_*`` variables of
        ``environ`` (``WSGI_FLASH_CONFIG`` names a file when ``file`` is
        None), then ``overrides`` (``secret_key=...``, ``proxy={...}``, ...),
        each overriding the one before, and validate the result."""
        config = cls()
        if file is None and environ is not None and ENV_PREFIX + "CONFIG" in environ:
            file = environ[ENV_PREFIX + "CONFIG"]
            if not file.strip():
                raise ConfigError(
                    f"environment variable {ENV_PREFIX}CONFIG is empty; unset it, or name a file"
                )
        if file is not None:
            config._merge_file(os.fspath(file))
        if environ is not None:
            config._merge_environ(environ)
        config.merge(overrides, "keyword argument", text=False)
        config.validate()
        return config

    def _merge_file(self, path: str) -> None:
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        try:
            with open(path, "rb") as stream:
                mode = os.fstat(stream.fileno()).st_mode
                data = tomllib.load(stream)
        except OSError as error:
            raise ConfigError(
                f"{path}: cannot read the configuration file: {error.strerror}"
            ) from None
        except ValueError as error:  # TOMLDecodeError, or an int over 4300 digits
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        self.merge(data, path, text=False)
        flash_options = data.get("flash")
        holds_secret = any(key in data for key in SECRET_OPTIONS) or (
            isinstance(flash_options, dict) and any(key in flash_options for key in SECRET_OPTIONS)
        )
        # Group-readable is how a secret is shared with the app's group
        # (root:app, mode 640); readable by every user is a leak.
        if holds_secret and os.name == "posix" and mode & stat.S_IROTH:
            logger.warning(
                "%s holds a secret key and every user of this machine can read it (mode %s);"
                " make it readable only by the app: chmod o-r %s",
                escape(path),
                oct(stat.S_IMODE(mode)),
                escape(path),
            )

    def _merge_environ(self, environ: t.Mapping[str, str]) -> None:
        values: dict[str, t.Any] = {}
        for name, value in environ.items():
            if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
                continue
            key = name[len(ENV_PREFIX) :].lower()
            if key in TOP_LEVEL:
                values[key] = value
                continue
            section, _, option = key.partition("_")
            if section not in SECTIONS or not option:
                raise ConfigError(
                    f"environment variable {name}: unknown; use {ENV_PREFIX}SECRET_KEY,"
                    f" {ENV_PREFIX}FALLBACK_SECRET_KEYS or {ENV_PREFIX}<SECTION>_<OPTION> with a"
                    f" section of {', '.join(s.upper() for s in SECTIONS)}"
                )
            values.setdefault(section, {})[option] = value
            self.origins[(section, option)] = f"environment variable {name}"
        for key in TOP_LEVEL:
            if key in values:
                self.origins[(TOP_LEVEL[key], key)] = (
                    f"environment variable {ENV_PREFIX}{key.upper()}"
                )
        self.merge(values, "environment", text=True)

    def merge(self, data: t.Mapping[str, t.Any], origin: str, *, text: bool) -> None:
        """Merge ``data`` (top-level keys and section tables); ``text``
        values are converted by each option's type."""
        for key, value in data.items():
            if key in TOP_LEVEL:
                section, items = TOP_LEVEL[key], {key: value}
            elif key in SECTIONS:
                section = key
                if value is True or value is False:
                    items = {"enabled": value}
                elif isinstance(value, t.Mapping):
                    items = dict(value)
                else:
                    raise ConfigError(f"{origin}: {key} must be a table of options, not {value!r}")
            else:
                raise ConfigError(
                    f"{origin}: unknown key {key!r}; expected {', '.join(TOP_LEVEL)} or a section:"
                    f" {', '.join(SECTIONS)}"
                )
            target = self.sections.setdefault(section, {})
            known = OPTIONS[section]
            for option, raw in items.items():
                where = self.origins.get((section, option)) if text else origin
                where = where or origin
                spec = ENABLED if option == "enabled" else known.get(option)
                if spec is None:
                    raise ConfigError(
                        f"{where}: unknown key {section}.{option}; {section} takes"
                        f" {', '.join(sorted([*known, 'enabled']))}"
                    )
                if text and isinstance(raw, str):
                    _check_text(raw, section, option, spec, where)
                try:
                    target[option] = spec.read(raw, text=text)
                except ValueError as error:
                    shown = "<hidden>" if spec.secret else escape(repr(raw), 80)
                    raise ConfigError(f"{where}: {section}.{option} = {shown}: {error}") from None
                self.origins[(section, option)] = where

    def __repr__(self) -> str:
        """The sections with secret keys hidden, as :meth:`describe` shows them."""
        sections = {
            section: {k: _hidden(v) if k in SECRET_OPTIONS else v for k, v in options.items()}
            for section, options in self.sections.items()
        }
        return f"{type(self).__name__}(sections={sections!r})"

    def enabled(self, section: str) -> bool:
        """Flash is on when a secret key is set; the others when their
        section is present; ``enabled = false`` turns any of them off."""
        options = self.sections.get(section)
        if options is None:
            return False
        if "enabled" in options:
            return bool(options["enabled"])
        return section != "flash" or "secret_key" in options

    def options(self, section: str) -> dict[str, t.Any]:
        """The keyword arguments for the section's middleware."""
        return {k: v for k, v in self.sections.get(section, {}).items() if k != "enabled"}

    def validate(self) -> None:
        """Build every enabled middleware around a placeholder app, so a bad
        value fails now; raises :class:`ConfigError`."""
        flash_options = self.sections.get("flash", {})
        if (
            flash_options
            and flash_options.get("enabled", True)
            and "secret_key" not in flash_options
        ):
            raise ConfigError(
                f"{self._where('flash')}: flash is configured but has no secret_key; set"
                f" {ENV_PREFIX}SECRET_KEY or secret_key at the top of the configuration file"
            )
        for section in SECTIONS:
            if self.enabled(section):
                self._build(section, _placeholder_app)

    def _where(self, section: str, option: str | None = None) -> str:
        if option is not None and (section, option) in self.origins:
            return self.origins[(section, option)]
        places = sorted({v for (s, _), v in self.origins.items() if s == section})
        return ", ".join(places) or "configuration"

    def _build(self, section: str, app: WSGIApplication) -> WSGIApplication:
        options = self.options(section)
        cls = middleware_class(section)
        try:
            if self.enabled("metrics") and "metrics" in inspect.signature(cls).parameters:
                from .metrics import PrometheusMetrics

                counting = {"metrics": PrometheusMetrics.shared()}
            else:
                counting = {}
            return t.cast("WSGIApplication", cls(app, **options, **counting))
        except ImportError as error:  # the prometheus extra is missing
            raise ConfigError(f"{self._where('metrics')}: [metrics] {error}") from None
        except MultiprocessDirectoryError as error:  # the message names the variable
            raise ConfigError(f"[metrics] {error}") from None
        except (TypeError, ValueError) as error:
            option = _failing_option(cls, options)
            where = self._where(section, option)
            # secret_key and fallback_secret_keys sit at the top of the file.
            label = "" if option in TOP_LEVEL else f"[{section}] "
            raise ConfigError(f"{where}: {label}{error}") from None

    def wrap(self, app: WSGIApplication) -> WSGIApplication:
        """Wrap ``app`` in the enabled middlewares: the metrics endpoint
        outermost, then ProxyFix, the malformed-request logger, flash, and
        hooks next to the app."""
        for section in reversed(list(SECTIONS)):
            if self.enabled(section):
                app = self._build(section, app)
        return app

    def describe(self) -> str:
        """The resulting stack, one line per middleware, secrets hidden (the
        optional metrics endpoint only when it is on)."""
        lines = []
        for section in SECTIONS:
            if not self.enabled(section):
                if section != "metrics":
                    lines.append(f"{section}: off")
                continue
            shown = ", ".join(
                f"{k}={_hidden(v) if k in SECRET_OPTIONS else repr(v)}"
                for k, v in sorted(self.options(section).items())
            )
            name = SECTIONS[section][1]
            lines.append(f"{section}: {name}({shown or 'defaults'})")
        return "\n".join(lines)


def _failing_option(cls: type[t.Any], options: dict[str, t.Any]) -> str | None:
    """The option that the middleware refuses on its own (with only the
    required ones beside it), or None when only a combination fails, so an
    error names the variable or file that set it."""
    required = {
        name: options[name]
        for name, parameter in inspect.signature(cls).parameters.items()
        if parameter.default is parameter.empty and name in options
    }
    # The required ones first: the others are tried beside them.
    for name in sorted(options, key=lambda name: name not in required):
        try:
            cls(_placeholder_app, **{**required, name: options[name]})
        except (TypeError, ValueError):
            return name
    return None


def _hidden(value: t.Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"<{len(value)} hidden key(s)>"
    return "<hidden>"


def _check_text(raw: str, section: str, option: str, spec: Option, where: str) -> None:
    """Refuse text that would quietly trust more than the user meant: an
    empty or blank value, or ``none`` where None switches a protection off."""
    if not raw.strip():
        raise ConfigError(
            f"{where}: {section}.{option} is empty; leave it unset for the default, or give a value"
        )
    if spec.none_refused is not None and raw.strip().lower() == "none":
        raise ConfigError(
            f"{where}: {section}.{option} = none would {spec.none_refused}; leave it unset for the"
            " default, or set None in code if you mean it"
        )


def _placeholder_app(environ: t.Any, start_response: t.Any) -> t.Iterable[bytes]:
    start_response("204 No Content", [])
    return []


def import_string(path: str) -> t.Any:
    """Import ``module:attribute`` or ``module.attribute``."""
    module, sep, attribute = path.strip().partition(":")
    if not sep:
        module, _, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"cannot import {path!r}; write it as module:attribute") from None


def _boolean(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValueError("expected a boolean: 1/true/yes/on or 0/false/no/off")


def _integer(text: str) -> int:
    if _INT_TEXT.fullmatch(text.strip()):
        return int(text)
    raise ValueError("expected a number, as int: at most 18 plain ASCII digits, such as 8")


def _real(text: str) -> float:
    if _FLOAT_TEXT.fullmatch(text.strip()):
        number = float(text)
        if number not in (float("inf"), float("-inf")):
            return number
    raise ValueError("expected a number, as float: at most 18 plain ASCII digits, such as 2.5")


def _items(text: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise ValueError("expected comma-separated items, with none of them empty")
    return items


def _items_or_boolean(text: str) -> tuple[str, ...] | bool:
    # reject = true: every check.
    return _boolean(text) if text.strip().lower() in _TRUE | _FALSE else _items(text)


def _rate(text: str) -> tuple[int, float]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise ValueError("expected two numbers separated by a comma, like 20,60")
    return (_integer(parts[0]), _real(parts[1]))


def _text(text: str) -> str:
    return text  # as given: a secret key may hold spaces


def _unchanged(value: t.Any) -> t.Any:
    return value


def _true_or_false(value: t.Any) -> bool:
    # enabled = "false" in TOML is a truthy str: it turned a section on.
    if type(value) is not bool:
        raise ValueError("expected true or false")
    return value


def _optional_true_or_false(value: t.Any) -> bool | None:
    return None if value is None else _true_or_false(value)


def _pair(value: t.Any) -> t.Any:
    # TOML has no tuples: rate_limit = [5, 30].
    return tuple(value) if isinstance(value, list) else value


def _class(value: t.Any) -> t.Any:
    return import_string(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Option:
    """How one option is read from the configuration.

    :param parse: text (an environment variable, an ``.ini`` value; never
        blank) to the option's value; ValueError says what it expected.
    :param check: a typed value (TOML, a keyword argument) to the option's
        value; ValueError says what it expected. The middleware's own
        ``__init__`` then validates the value as for any caller.
    :param optional: ``none`` in text means None.
    :param none_refused: what ``none`` in text would do, where that switches
        a protection off (or is ambiguous); such text is an error. Keyword
        arguments can still pass None.
    :param secret: never shown, in errors or in :meth:`Config.describe`.
    """

    parse: t.Callable[[str], t.Any]
    check: t.Callable[[t.Any], t.Any] = _unchanged
    optional: bool = False
    none_refused: str | None = None
    secret: bool = False

    def read(self, raw: t.Any, *, text: bool) -> t.Any:
        """The value of ``raw``, read as text or as a typed value."""
        if not text or not isinstance(raw, str):
            return self.check(raw)
        if self.optional and raw.strip().lower() == "none":
            return None
        return self.parse(raw)


_FLOOD = "log every record of a flood"
_BOOLEAN = Option(_boolean, _true_or_false)
_INTEGER = Option(_integer)
_ITEMS = Option(_items)
_RATE_LIMIT = Option(_rate, _pair, none_refused=_FLOOD)
#: Every option of every section: how text becomes its value, what a typed
#: value must be, and what ``none`` may mean. A test keeps it in step with
#: the middlewares' keyword options.
OPTIONS: dict[str, dict[str, Option]] = {
    "proxy": {
        # None: 1, unless ``forwarded`` is on.
        "x_for": Option(_integer, optional=True),
        "x_proto": Option(_integer, optional=True),
        "x_host": _INTEGER,
        "x_port": _INTEGER,
        "x_prefix": _INTEGER,
        "forwarded": _INTEGER,
        "trusted_proxies": Option(_items, none_refused="trust every peer"),
        "remove_untrusted_headers": _BOOLEAN,
        "rate_limit": _RATE_LIMIT,
    },
    "malformed": {
        "reject": Option(_items_or_boolean),
        "allowed_hosts": Option(_items, none_refused="allow every host"),
        "enable": _ITEMS,
        "disable": _ITEMS,
        "log_client_errors": _BOOLEAN,
        "rate_limit": _RATE_LIMIT,
        "max_value_length": _INTEGER,
        "request_id_header": Option(_text, optional=True),
        "max_arguments": _INTEGER,
        "max_argument_name_length": _INTEGER,
        "max_argument_length": _INTEGER,
        "max_content_length": Option(_integer, none_refused="allow any body size"),
        "body_buffer_size": _INTEGER,
    },
    "flash": {
        "secret_key": Option(_text, secret=True),
        "fallback_secret_keys": Option(_items, secret=True),
        "cookie_name": Option(_text),
        "max_age": Option(_real),
        "path": Option(_text),
        "domain": Option(_text, optional=True),
        "secure": Option(_boolean, _optional_true_or_false, optional=True),
        "httponly": _BOOLEAN,
        "samesite": Option(
            _text, none_refused="either drop the SameSite attribute or send SameSite=None"
        ),
        "max_cookie_size": _INTEGER,
        "on_oversize": Option(_text),
        "keep_filtered_out": _BOOLEAN,
        "rate_limit": _RATE_LIMIT,
    },
    "hooks": {
        "request_class": Option(import_string, _class),
        "propagate_exceptions": _BOOLEAN,
    },
    "metrics": {
        "path": Option(_text),
        "allow": Option(_items, none_refused="let every client read the metrics"),
    },
}
#: ``enabled``, which every section takes.
ENABLED = _BOOLEAN
SECRET_OPTIONS = frozenset(
    name for options in OPTIONS.values() for name, option in options.items() if option.secret
)


def _env_name(section: str, option: str) -> str:
    if option in TOP_LEVEL:
        return f"{ENV_PREFIX}{option.upper()}"
    return f"{ENV_PREFIX}{section.upper()}_{option.upper()}"


def _plain(text: str) -> str:
    """Docstring text for a table: roles like :class:`~a.B` become ``B``."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"``{m.group(1).rsplit('.', 1)[-1]}``", text)
    return " ".join(text.split())


def format_reference() -> str:
    """Every option of every section as a reStructuredText table: key, its
    environment variable, default and meaning (from the middleware's
    docstring). The docs generate their options tables from it (docs/_ext)."""
    rows = [("key", "environment variable", "default", "meaning")]
    for section in SECTIONS:
        cls = middleware_class(section)
        doc = inspect.getdoc(cls) or ""
        meanings = dict(re.findall(r":param (\w+):\s*(.*?)(?=\n\s*:param|\n\n|\Z)", doc, re.S))
        rows.append(
            (
                f"``[{section}]``",
                f"``{ENV_PREFIX}{section.upper()}_ENABLED``",
                "on with ``secret_key``" if section == "flash" else "off",
                f"``{cls.__name__}``: on when the section is given; ``enabled = false``"
                " turns it off",
            )
        )
        for option, parameter in options_of(section).items():
            if parameter.default is inspect.Parameter.empty:
                default = "(required)"
            elif isinstance(parameter.default, type):
                default = f"``{parameter.default.__module__}.{parameter.default.__name__}``"
            else:
                default = f"``{parameter.default!r}``"
            key = option if option in TOP_LEVEL else f"{section}.{option}"
            rows.append(
                (
                    f"``{key}``",
                    f"``{_env_name(section, option)}``",
                    default,
                    _plain(meanings.get(option, "")),
                )
            )
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 20 30 15 35", ""]
    for row in rows:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines)


def stack(
    app: WSGIApplication,
    config: Config | str | os.PathLike[str] | None = None,
    *,
    environ: t.Mapping[str, str] | None = None,
    **options: t.Any,
) -> WSGIApplication:
    """Wrap ``app`` in the configured middlewares, in the one correct order.

    ProxyFix is outermost, so everything inside sees the real client; then
    the malformed-request logger, which logs that real address and can
    reject before anything else runs; then flash; then the request hooks,
    right around the app, so a before hook can flash and redirect. Only the
    middlewares that are configured are added; each stays usable alone.

    .. code-block:: python

        from wsgi_flash import RequestHooks, stack

        hooks = RequestHooks(app)          # register hooks on it as usual
        application = stack(
            hooks,
            secret_key=os.environ["SECRET_KEY"],
            proxy={"x_for": 1, "x_proto": 1},
            malformed={"reject": ["uri.percent_encoding"]},
        )

    :param app: the WSGI app (a :class:`~wsgi_flash.RequestHooks` instance
        if you register hooks in code).
    :param config: a :class:`Config`, or a TOML file to load.
    :param environ: a mapping to read ``WSGI_FLASH_*`` variables from (pass
        ``os.environ``); not read unless given.
    :param options: ``secret_key``, ``fallback_secret_keys`` and one dict per
        section (``flash``, ``proxy``, ``malformed``, ``hooks``), overriding
        the file and the environment.

    .. versionadded:: 0.1
    """
    if isinstance(config, Config):
        if options or environ is not None:
            raise TypeError("stack() takes either a Config or options to load one, not both")
        return config.wrap(app)
    return Config.load(config, environ=environ, **options).wrap(app)
