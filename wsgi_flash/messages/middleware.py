"""Flash messages in a signed cookie
==================================

One-shot messages that survive a redirect, with Flask's
``flash``/``get_flashed_messages`` semantics, for any WSGI app. The messages
live in a cookie of their own, signed with itsdangerous's token format, so
any worker process or machine that shares the secret key can read them.

Each request's messages live in one ``_RequestFlashes`` object in the
environ under ``wsgi_flash.flash``; the middleware object holds only
configuration, so it is thread-safe.
"""

from __future__ import annotations

import logging
import re
import typing as t
from collections.abc import Container
from datetime import timedelta
from functools import partial

from .._logging import DEFAULT_RATE_LIMIT, LimitedLog, escape
from .._wsgi import get_environ
from ..exceptions import CookieTooLargeError, HeadersAlreadySentError, NotInstalledError
from ._http import add_vary, cookie_value
from ._payload import Message, dump, parse, storable
from ._signing import MAX_PAYLOAD, InvalidToken, TimedSigner

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..metrics import PrometheusMetrics

logger = logging.getLogger("wsgi_flash.flash")

#: The environ key holding the request's flash messages (``_RequestFlashes``).
ENVIRON_KEY = "wsgi_flash.flash"

_SALT = "wsgi_flash.flash"
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
# RFC 6265's path-value (printable ASCII but ";"), less the space and the
# comma that some clients and proxies split cookies on; a control or
# non-ASCII character would make servers refuse the Set-Cookie header
# (gunicorn raises InvalidResponseHeader on every response that sets it).
_PATH = re.compile(r"/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*")
# A host name (RFC 1123 labels), with the leading dot RFC 6265 ignores.
_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
#: The longest ``max_age``: 400 days, the longest cookie lifetime browsers
#: keep (RFC 6265bis); a flash message is meant for the next request.
MAX_MAX_AGE = 400 * 86400
#: Browsers keep cookies of up to 4096 bytes, name and attributes included.
_BROWSER_COOKIE_LIMIT = 4096
# Keys with fewer distinct bytes than this are guessable.
_MIN_DISTINCT_KEY_BYTES = 6
_INSTALL_HINT = (
    "wrap the app: app = FlashMiddleware(app, secret_key=...) "
    "(Flask: app.wsgi_app = FlashMiddleware(app.wsgi_app, secret_key=...))"
)


class FlashMiddleware:
    """Store flashed messages in a signed cookie and hand them to the next
    request that reads them.

    .. code-block:: python

        from wsgi_flash import FlashMiddleware, flash, get_flashed_messages

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/save":
                flash(environ, "Saved.", "success")
                start_response("303 See Other", [("Location", "/")])
                return [b""]
            messages = get_flashed_messages(environ, with_categories=True)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [repr(messages).encode()]

        app = FlashMiddleware(app, secret_key="a long random secret from your config")

    :param app: the WSGI app to wrap.
    :param secret_key: signs the cookie; at least 16 bytes. Generate one with
        ``python -c 'import secrets; print(secrets.token_hex(32))'``.
    :param fallback_secret_keys: older keys still accepted when reading, for
        key rotation. A cookie read with one is re-signed with
        ``secret_key`` the next time it is written.
    :param cookie_name: the cookie's name.
    :param max_age: seconds (or a :class:`~datetime.timedelta`) a cookie stays
        valid after it was last written; older ones count as no messages.
        Flask's session default, 31 days; at most 400 days.
    :param path: the cookie's Path attribute: ``/`` and printable ASCII
        without ``;``, ``,`` or spaces.
    :param domain: the cookie's Domain attribute (a host name), None for
        host-only.
    :param secure: the Secure attribute; None sets it when
        ``wsgi.url_scheme`` is ``https``.
    :param httponly: the HttpOnly attribute.
    :param samesite: ``"Lax"``, ``"Strict"``, ``"None"`` (needs Secure) or
        None to leave it out.
    :param max_cookie_size: the longest ``Set-Cookie`` value ever emitted,
        name and attributes included, 128 to 4096. Browsers silently drop
        cookies over 4096 bytes.
    :param on_oversize: ``"drop_oldest"`` drops the oldest messages until the
        cookie fits and logs a WARNING; ``"raise"`` makes the ``flash()``
        call that overflows raise :class:`~wsgi_flash.exceptions.CookieTooLargeError`.
    :param keep_filtered_out: when True, a read with ``category_filter``
        consumes only the categories it returned; the others stay for a later
        request. Flask (and the default) discards them.
    :param rate_limit: ``(burst, period)``: at most ``burst`` WARNINGs of one
        kind (invalid cookies, oversized flashes) at once on
        ``wsgi_flash.flash``, refilled over ``period`` seconds; the next one
        says how many were suppressed. None logs every one.
    :param metrics: a :class:`~wsgi_flash.metrics.PrometheusMetrics` that
        counts refused cookies and messages written and read; None counts
        nothing.

    .. versionadded:: 0.1
    .. versionchanged:: 0.3
        The ``metrics`` parameter.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        secret_key: str | bytes,
        fallback_secret_keys: t.Sequence[str | bytes] = (),
        cookie_name: str = "flash",
        max_age: float | timedelta = timedelta(days=31),
        path: str = "/",
        domain: str | None = None,
        secure: bool | None = None,
        httponly: bool = True,
        samesite: t.Literal["Lax", "Strict", "None"] | None = "Lax",
        max_cookie_size: int = 4093,
        on_oversize: t.Literal["drop_oldest", "raise"] = "drop_oldest",
        keep_filtered_out: bool = False,
        rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable; FlashMiddleware(app, secret_key=...)")
        _check_key("secret_key", secret_key)
        for key in _sequence("fallback_secret_keys", fallback_secret_keys):
            _check_key("fallback_secret_keys", key)
        if (
            not isinstance(cookie_name, str)
            or not cookie_name
            or not set(cookie_name) <= _TOKEN_CHARS
        ):
            raise ValueError(
                f"cookie_name must be a non-empty HTTP token, not {_shown(cookie_name)}"
            )
        if isinstance(max_age, timedelta):
            max_age = max_age.total_seconds()
        # (not 0 < x <= limit) also refuses nan and inf.
        if (
            isinstance(max_age, bool)
            or not isinstance(max_age, (int, float))
            or not 0 < max_age <= MAX_MAX_AGE
        ):
            raise ValueError(
                "max_age must be a number of seconds (or a timedelta) above 0 and at most 400"
                f" days ({MAX_MAX_AGE}), not {_shown(max_age)}"
            )
        if not isinstance(path, str):
            raise TypeError(f"path must be a str such as '/', not {_shown(path)}")
        if not _PATH.fullmatch(path):
            raise ValueError(
                "path must start with '/' and hold only printable ASCII without ';', ',' or"
                f" spaces (RFC 6265 path-value), not {_shown(path)}"
            )
        if domain is not None:
            if not isinstance(domain, str):
                raise TypeError(f"domain must be a host name or None, not {_shown(domain)}")
            if len(domain) > 254 or not _DOMAIN.fullmatch(domain):
                raise ValueError(
                    "domain must be a host name such as 'example.com' (letters, digits, '-' and"
                    f" '.'), or None for a host-only cookie, not {_shown(domain)}"
                )
        if secure not in (None, True, False):
            raise TypeError(f"secure must be True, False or None (automatic), not {secure!r}")
        if samesite is not None:
            if str(samesite).lower() not in _SAMESITE:
                raise ValueError(
                    f"samesite must be 'Lax', 'Strict', 'None' or None, not {samesite!r}"
                )
            samesite = t.cast(t.Literal["Lax", "Strict", "None"], _SAMESITE[samesite.lower()])
            if samesite == "None" and secure is False:
                raise ValueError("samesite='None' needs a Secure cookie; leave secure=None or True")
        if type(max_cookie_size) is not int or not 128 <= max_cookie_size <= _BROWSER_COOKIE_LIMIT:
            raise ValueError(
                "max_cookie_size must be an int from 128 to 4096 (browsers drop larger"
                f" cookies), not {_shown(max_cookie_size)}"
            )
        if on_oversize not in ("drop_oldest", "raise"):
            raise ValueError(f"on_oversize must be 'drop_oldest' or 'raise', not {on_oversize!r}")
        if metrics is not None:
            from ..metrics import check_metrics

            check_metrics(metrics, "FlashMiddleware")

        self.app = app
        self.secret_key = secret_key
        self.fallback_secret_keys = tuple(fallback_secret_keys)
        self.cookie_name = cookie_name
        self.max_age = float(max_age)
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httponly = bool(httponly)
        self.samesite = samesite
        self.max_cookie_size = max_cookie_size
        self.on_oversize = on_oversize
        self.keep_filtered_out = bool(keep_filtered_out)
        self._log = LimitedLog(logger, rate_limit)
        self.rate_limit = self._log.rate_limit
        self.metrics = metrics

        for name, key in (
            ("secret_key", secret_key),
            *((f"fallback_secret_keys[{i}]", k) for i, k in enumerate(self.fallback_secret_keys)),
        ):
            weakness = _key_weakness(key)
            if weakness:
                logger.warning(
                    "%s %s, so it may be guessed; use a random one:"
                    " python -c 'import secrets; print(secrets.token_hex(32))'",
                    name,
                    weakness,
                )

        self._signer = TimedSigner(secret_key, self.fallback_secret_keys, _SALT)
        self._cookie_marker = cookie_name + "="
        # The state of every request that has no flash cookie, until it
        # flashes or reads (see _RequestFlashes).
        self._untouched = _RequestFlashes(self, shared=True)
        self._untouched_after_headers = _RequestFlashes(self, headers_sent=True, shared=True)
        # Attribute strings, built once: [insecure, secure].
        self._attributes = [self._format_attributes(s) for s in (False, True)]
        expired = "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"
        self._deletions = [f"{cookie_name}={expired}{attrs}" for attrs in self._attributes]

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Counters of the WARNINGs about client data, per kind
        (``invalid_cookie``, ``oversize``, ``read_after_start_response``):
        ``{"logged": n, "suppressed": n}``.

        .. versionadded:: 0.2
        """
        return self._log.stats()

    def _format_attributes(self, secure: bool) -> str:
        parts = [f"; Domain={self.domain}" if self.domain else ""]
        if secure:
            parts.append("; Secure")
        if self.httponly:
            parts.append("; HttpOnly")
        parts.append(f"; Path={self.path}")
        if self.samesite:
            parts.append(f"; SameSite={self.samesite}")
        return "".join(parts)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        cookie_header = environ.get("HTTP_COOKIE")
        # A server breaking PEP 3333 with a non-str value gets no messages, not a 500.
        if cookie_header and type(cookie_header) is str and self._cookie_marker in cookie_header:
            # Verified now, so a forged or expired cookie is deleted even if
            # nobody reads it; its JSON is parsed only when the app reads or flashes.
            state = environ[ENVIRON_KEY] = _RequestFlashes(self)
            state.read_cookie(cookie_header, environ)
        else:
            environ[ENVIRON_KEY] = self._untouched
        # A partial of a module function costs less per request than a closure.
        return self.app(environ, partial(_start_response, self, environ, start_response))

    def _set_cookie(self, messages: list[Message], secure: bool) -> str:
        """The Set-Cookie value storing ``messages``, dropping the oldest
        ones if it would not fit (or deleting the cookie if none fit)."""
        header = self._cookie_for(messages, secure)
        if header is not None and len(header) <= self.max_cookie_size:
            return header
        # Find the fewest oldest messages to drop; sizes grow with the count.
        low, high = 1, len(messages)
        while low < high:
            middle = (low + high) // 2
            header = self._cookie_for(messages[middle:], secure)
            if header is not None and len(header) <= self.max_cookie_size:
                high = middle
            else:
                low = middle + 1
        self._log.warning(
            "oversize",
            "flash cookie would exceed max_cookie_size=%d bytes: dropped the %d oldest of %d"
            " message(s)",
            self.max_cookie_size,
            low,
            len(messages),
        )
        kept = messages[low:]
        header = self._cookie_for(kept, secure) if kept else None
        return self._deletions[secure] if header is None else header

    def _cookie_for(self, messages: list[Message], secure: bool) -> str | None:
        """The Set-Cookie value storing ``messages``, or None when their
        payload is longer than a reader accepts (:data:`MAX_PAYLOAD`, which
        a compressible message can exceed inside a small cookie)."""
        payload = dump(messages)
        try:
            token = self._signer.sign(payload)
        except ValueError:  # over MAX_PAYLOAD
            return None
        return f"{self.cookie_name}={token}{self._attributes[secure]}"

    def _discarded(self, environ: WSGIEnvironment, error: InvalidToken) -> None:
        if self.metrics is not None:
            self.metrics.flash_cookie_rejected(error.code)
        self._log.warning(
            "invalid_cookie",
            "discarded an invalid flash cookie from %s (%s); treating it as no messages",
            escape(environ.get("REMOTE_ADDR", "-")),
            error.reason,
        )


def _start_response(
    middleware: FlashMiddleware,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    status: str,
    headers: list[tuple[str, str]],
    exc_info: OptExcInfo | None = None,
) -> t.Callable[[bytes], object]:
    """FlashMiddleware's start_response: the request's messages are settled
    now, so the cookie is written (or deleted) as they say."""
    state: _RequestFlashes | None = environ.get(ENVIRON_KEY)
    if state is middleware._untouched:
        # The cookie stays as it is; a flash() from now on must raise.
        environ[ENVIRON_KEY] = middleware._untouched_after_headers
    # (The state of a FlashMiddleware inside is that one's to finish.)
    elif state is not None and not state.shared and state.middleware is middleware:
        headers = state.finish(headers, environ)
    return start_response(status, headers, exc_info)


class _RequestFlashes:
    """One request's flash messages, kept in the environ under
    :data:`ENVIRON_KEY`.

    :func:`flash` calls :meth:`add`, :func:`get_flashed_messages`
    :meth:`take`, :func:`peek_flashed_messages` :meth:`peek`, and the
    middleware's start_response :meth:`finish`, which writes the cookie back
    when the messages changed; after it, the cookie can no longer change.

    :meth:`read_cookie` verifies the cookie when the request starts (so a
    forged or expired one is deleted even if nobody reads it) and keeps its
    ``payload``; :meth:`open` parses that on first use, into ``loaded``:
    most requests that carry a cookie never look at it, and parsing would
    cost them as much again as verifying.
    ``pending`` is what will be written back: before the first read, the
    cookie's messages plus new flashes; the first read moves them into
    ``snapshot``, which later reads return from, and ``pending`` then holds
    only the flashes made since.

    Most requests bring no flash cookie and never touch their messages, so
    they make no state of their own: they share two instances the
    middleware made with ``shared=True`` (``_untouched`` before
    start_response, ``_untouched_after_headers`` after), which are never
    changed, and :func:`_state` gives a request its own on first use. (A
    state made for every request cost 1,400 instructions, a sixth of what an
    untouched request costs.) The state holds no reference to the environ,
    which holds it: the pair would be a reference cycle, left for the
    garbage collector on every request.
    """

    __slots__ = (
        "accessed",
        "filters",
        "flashed",
        "headers_sent",
        "invalid",
        "loaded",
        "middleware",
        "payload",
        "pending",
        "shared",
        "snapshot",
    )

    def __init__(
        self, middleware: FlashMiddleware, headers_sent: bool = False, *, shared: bool = False
    ) -> None:
        self.middleware = middleware
        self.headers_sent = headers_sent
        self.shared = shared
        self.payload: bytes | None = None
        self.loaded: list[Message] = []
        self.invalid = False
        self.pending: list[Message] = []
        self.snapshot: list[Message] | None = None
        # Category filters of the reads so far; None once a read took all.
        self.filters: tuple[t.Container[str], ...] | None = ()
        self.accessed = False
        self.flashed = 0  # messages added, for the metrics

    def read_cookie(self, cookie_header: str, environ: WSGIEnvironment) -> None:
        """Verify the flash cookie in ``cookie_header`` and keep its payload."""
        middleware = self.middleware
        value = cookie_value(cookie_header, middleware.cookie_name)
        if value is None:
            return
        try:
            self.payload = middleware._signer.unsign(value, middleware.max_age)[0]
        except InvalidToken as error:
            middleware._discarded(environ, error)
            self.invalid = True

    def open(self, payload: bytes, environ: WSGIEnvironment) -> None:
        """Parse the verified payload into ``loaded`` (only a holder of the
        key can sign one that does not parse: no messages, and a WARNING)."""
        self.payload = None
        try:
            self.loaded = parse(payload)
        except InvalidToken as error:
            self.middleware._discarded(environ, error)
            self.invalid = True
        else:
            self.pending = list(self.loaded)

    def add(self, category: str, message: t.Any) -> None:
        """Store a message for the next request that reads (:func:`flash`)."""
        if self.headers_sent:
            raise HeadersAlreadySentError(
                "flash() was called after the response headers were sent, so the message cannot"
                " be stored; flash before calling start_response (not from inside a streamed body)"
            )
        self.accessed = True
        self.pending.append((category, message))
        middleware = self.middleware
        if middleware.on_oversize == "raise":
            header = middleware._cookie_for(self.to_write(), True)
            if header is None or len(header) > middleware.max_cookie_size:
                self.pending.pop()
                size = (
                    f"{len(header)} bytes" if header else f"hold over {MAX_PAYLOAD} bytes of JSON"
                )
                raise CookieTooLargeError(
                    f"flash() would make the flash cookie {size}, over max_cookie_size="
                    f"{middleware.max_cookie_size}; flash less, or read pending messages first"
                )
        self.flashed += 1

    def take(self, category_filter: t.Container[str]) -> list[Message]:
        """The messages of the first read of this request, which consumes
        them (:func:`get_flashed_messages`); ``category_filter`` is
        recorded for ``keep_filtered_out``."""
        self.accessed = True
        snapshot = self.snapshot
        if snapshot is None:
            snapshot = self.snapshot = self.pending
            self.pending = []
            if self.headers_sent and snapshot:
                self.middleware._log.warning(
                    "read_after_start_response",
                    "get_flashed_messages() was called after start_response: the %d message(s)"
                    " it returned stay in the cookie and will show again; read them before"
                    " start_response",
                    len(snapshot),
                )
        if self.filters is not None:
            if category_filter:
                self.filters = (*self.filters, category_filter)
            else:
                self.filters = None
        return snapshot

    def peek(self) -> list[Message]:
        """What :meth:`take` would return now, consuming nothing."""
        self.accessed = True
        return self.pending if self.snapshot is None else self.snapshot

    def to_write(self) -> list[Message]:
        """The messages the cookie should hold after this request."""
        if self.snapshot is None or self.filters is None or not self.middleware.keep_filtered_out:
            return self.pending
        # keep_filtered_out: what filtered reads left out stays, oldest first.
        filters = self.filters
        kept = [m for m in self.snapshot if not any(m[0] in f for f in filters)]
        return kept + self.pending

    def finish(
        self, headers: list[tuple[str, str]], environ: WSGIEnvironment
    ) -> list[tuple[str, str]]:
        """The app's response headers with Set-Cookie and Vary added as
        needed; from now on the cookie can no longer change."""
        self.headers_sent = True
        if not (self.accessed or self.invalid):
            return headers  # nobody touched the messages: the cookie stays as it is
        metrics = self.middleware.metrics
        if metrics is not None:
            metrics.flash_messages_counted(self.flashed, len(self.snapshot or ()))
        messages = self.to_write()
        changed = self.invalid or messages != self.loaded
        headers = list(headers)
        add_vary(headers, "Cookie")
        if changed:
            middleware = self.middleware
            secure = middleware.secure
            if secure is None:
                secure = environ.get("wsgi.url_scheme") == "https"
            if messages:
                headers.append(("Set-Cookie", middleware._set_cookie(messages, secure)))
            elif self.loaded or self.invalid:
                headers.append(("Set-Cookie", middleware._deletions[secure]))
        return headers


def _state(environ_or_request: t.Any, function_name: str) -> _RequestFlashes:
    """The request's own flash messages; NotInstalledError without a
    middleware."""
    environ = get_environ(environ_or_request, function_name)
    state: _RequestFlashes | None = environ.get(ENVIRON_KEY)
    if state is None:
        raise NotInstalledError(
            f"{function_name}() found no FlashMiddleware for this request; {_INSTALL_HINT}"
        )
    if state.shared:  # first use: the request gets a state of its own
        state = _RequestFlashes(state.middleware, state.headers_sent)
        environ[ENVIRON_KEY] = state
    elif state.payload is not None:
        state.open(state.payload, environ)
    return state


def flash(environ_or_request: t.Any, message: t.Any, category: str = "message") -> None:
    """Flash ``message`` to the next request that reads messages, like
    Flask's :func:`flask.flash`.

    :param environ_or_request: the WSGI environ or a request object carrying
        it (``.environ`` or ``.env``).
    :param message: a str, :class:`~markupsafe.Markup` (anything with
        ``__html__`` comes back as Markup) or a JSON value (dict with str
        keys, list, str, int, finite float, bool, None).
    :param category: a str such as ``"message"``, ``"error"``, ``"info"``.
    :raises TypeError: the message or category cannot be stored.
    :raises HeadersAlreadySentError: the response headers already went out
        (inside a streamed body), so the message could not be stored.
    """
    state = _state(environ_or_request, "flash")
    if type(category) is not str:
        raise TypeError(f"flash() category must be a str, not {type(category).__name__}")
    if type(message) is not str:
        message = storable(message)
    state.add(category, message)


def get_flashed_messages(
    environ_or_request: t.Any,
    with_categories: bool = False,
    category_filter: t.Iterable[str] = (),
) -> list[t.Any]:
    """Return the flashed messages and remove them from the cookie, like
    Flask's :func:`flask.get_flashed_messages`.

    The first call in a request takes every stored message (also those a
    ``category_filter`` leaves out, unless the middleware has
    ``keep_filtered_out=True``); later calls in the same request return from
    that snapshot, and messages flashed after it go to the next request.
    Called after ``start_response``, the messages are returned but stay
    stored (the cookie can no longer change), so they show again.

    :param with_categories: return ``(category, message)`` tuples.
    :param category_filter: only return messages of these categories.
    """
    state = _state(environ_or_request, "get_flashed_messages")
    if category_filter and not isinstance(category_filter, (str, Container)):
        category_filter = tuple(category_filter)  # a generator would be used up by one test
    flashes = state.take(category_filter)  # type: ignore[arg-type]
    return _select(flashes, with_categories, category_filter)


def peek_flashed_messages(
    environ_or_request: t.Any,
    with_categories: bool = False,
    category_filter: t.Iterable[str] = (),
) -> list[t.Any]:
    """Return what :func:`get_flashed_messages` would return now, without
    consuming anything.

    .. versionadded:: 0.1
    """
    state = _state(environ_or_request, "peek_flashed_messages")
    return _select(state.peek(), with_categories, category_filter)


def _select(
    flashes: list[Message], with_categories: bool, category_filter: t.Iterable[str]
) -> list[t.Any]:
    # ``f[0] in category_filter`` exactly as Flask does it, quirks included.
    if category_filter:
        flashes = [f for f in flashes if f[0] in category_filter]
    if not with_categories:
        return [f[1] for f in flashes]
    return list(flashes)


def _sequence(name: str, value: t.Any) -> t.Sequence[t.Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of keys, not {type(value).__name__}")
    return value  # type: ignore[no-any-return,unused-ignore]  # mypy < 2 (Python 3.9)


def _shown(value: object) -> str:
    """``value`` for an error message: short, and never failing (the repr
    of an int of over 4300 digits raises on Python 3.11+)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= 80 else f"{text[:80]}...({len(text) - 80} more)"


def _key_weakness(key: str | bytes) -> str | None:
    """Why ``key`` is obviously guessable, or None: few distinct bytes, or
    one short pattern repeated (``aaaa...``, ``abcabc...``). Keys too short
    to sign are refused before; this only warns."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    distinct = len(set(data))
    if distinct < _MIN_DISTINCT_KEY_BYTES:
        return f"has only {distinct} distinct byte(s)"
    # The shortest period, from the Knuth-Morris-Pratt failure function.
    border = [0] * len(data)
    matched = 0
    for index in range(1, len(data)):
        while matched and data[index] != data[matched]:
            matched = border[matched - 1]
        if data[index] == data[matched]:
            matched += 1
        border[index] = matched
    period = len(data) - border[-1]
    if period * 2 <= len(data):
        return f"repeats one {period}-byte pattern"
    return None


def _check_key(name: str, key: t.Any) -> None:
    if not isinstance(key, (str, bytes)):
        raise TypeError(f"{name} must be str or bytes, not {type(key).__name__}")
    if len(key.encode("utf-8") if isinstance(key, str) else key) < 16:
        raise ValueError(
            f"{name} must be at least 16 bytes; generate one with"
            " python -c 'import secrets; print(secrets.token_hex(32))'"
        )
