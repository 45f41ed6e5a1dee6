"""The malformed-request pre-scan
===============================

Every request passes through :meth:`PreScan.suspects` before the app runs,
so it must cost a clean request almost nothing: a few dictionary lookups,
one pass over all environ strings at C speed, and a handful of short
comparisons. It names the scopes (``uri``, ``host``, ``body``...) whose
detectors must look closer, and may name one in vain but never misses one:
a request it passes cannot fail any enabled check.
"""

from __future__ import annotations

import re
import typing as t

from .._cache import BoundedCache
from ._checks import BODY_CHECKS
from ._request_checks import COMMON_METHODS, COOKIE_BAD_PAIR, Limits, argument_text_limit

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from ._checks import Action

# Pre-scan patterns: a request that none of them flags cannot fail any check.
# Anything but an escape of printable ASCII, or an escaped "%" that decodes
# to another escape (what _uri_checks calls double encoding).
_ODD_ESCAPE = re.compile(r"%(?![2-6][0-9A-Fa-f]|7[0-9A-Ea-e])|%25(?:[0-9A-Fa-f]|%[346])")
_CONTROL_BYTES = frozenset((*range(32), 127))
# Map every control byte to a space, or to NUL, and leave the rest. Without
# deletions CPython translates in a tight loop and, when nothing changed,
# hands back the same object, which != then compares by identity.
_CONTROLS_TO_SPACE = bytes(0x20 if byte in _CONTROL_BYTES else byte for byte in range(256))
_CONTROLS_TO_NUL = bytes(0 if byte in _CONTROL_BYTES else byte for byte in range(256))
_URI_KEYS = ("PATH_INFO", "QUERY_STRING", "RAW_URI", "REQUEST_URI", "SCRIPT_NAME")
_HTTP_1 = frozenset(("HTTP/1.1", "HTTP/1.0"))
_NEEDS_LENGTH = frozenset(("POST", "PUT", "PATCH"))
_is_str = str.__instancecheck__
# Browsers resend the same Cookie header with every request, so one that
# parsed is remembered and the next costs a lookup instead of the regex.
_MAX_CLEAN_COOKIES = 256
_MAX_CLEAN_COOKIE_LENGTH = 2048


def printable_ascii(text: str) -> bool:
    """Whether ``text`` is all printable ASCII (or spaces): the answer of
    ``text.isascii() and text.isprintable()`` at a fraction of the cost,
    since ``isprintable`` looks up each character's Unicode category."""
    if not text.isascii():
        return False
    ascii = text.encode()
    return ascii.translate(_CONTROLS_TO_SPACE) == ascii


def _odd_count(text: str) -> int:
    """How many characters of ``text`` are not printable ASCII."""
    ascii_only = text.encode("ascii", "ignore")
    return len(text) - len(ascii_only) + ascii_only.translate(_CONTROLS_TO_NUL).count(0)


class PreScan:
    """The pre-scan of one middleware.

    :param clean_hosts: Host values that passed every host check (as keys);
        the middleware adds to it.
    :param query_limit: query length below which no argument limit can trip.
    :param checks_bodies: whether a body check is enabled.
    :param checks_length: whether ``max_content_length`` is set.
    """

    def __init__(
        self,
        clean_hosts: BoundedCache[str, bool],
        query_limit: int,
        checks_bodies: bool,
        checks_length: bool,
    ) -> None:
        self.clean_hosts = clean_hosts
        self.query_limit = query_limit
        self.checks_bodies = checks_bodies
        self.checks_length = checks_length
        self.clean_cookies: BoundedCache[str, bool] = BoundedCache(
            _MAX_CLEAN_COOKIES, _MAX_CLEAN_COOKIE_LENGTH
        )

    @classmethod
    def for_settings(
        cls,
        limits: Limits,
        actions: t.Mapping[str, Action],
        clean_hosts: BoundedCache[str, bool],
    ) -> PreScan:
        """The pre-scan of a middleware with these ``limits`` and
        ``actions`` (check id to action)."""
        return cls(
            clean_hosts,
            argument_text_limit(limits),
            any(actions[check] != "off" for check in BODY_CHECKS),
            limits.max_content_length is not None,
        )

    def suspects(self, environ: WSGIEnvironment) -> list[str]:
        """A cheap pre-scan naming the scopes (``uri``, ``host``, ``body``...)
        whose checks must look closer; empty means no enabled check can find
        anything. It may name a scope in vain, never miss one.

        The costly part is one pass over all environ strings at C speed
        instead of a Python loop over the headers.
        """
        get = environ.get
        suspects: list[str] = []
        method = get("REQUEST_METHOD")
        if method not in COMMON_METHODS:
            suspects.append("method")
        if get("SERVER_PROTOCOL") not in _HTTP_1:
            suspects.append("protocol")
        if get("HTTP_HOST") not in self.clean_hosts:
            suspects.append("host")
        # Every header, the path and the query are printable ASCII.
        text = " ".join(filter(_is_str, environ.values()))
        # printable_ascii(text), inline: this runs on every request.
        if not text.isascii() or (ascii := text.encode()).translate(_CONTROLS_TO_SPACE) != ascii:
            suspects += _odd_values(environ, text)
        # What the client percent-encoded, as scan_uri reads it: the raw
        # target, or the query string if the server gives none.
        query = get("QUERY_STRING", "")
        target = get("RAW_URI") or get("REQUEST_URI")
        if type(target) is str:
            if target[:1] != "/" or "#" in target:
                suspects.append("target")
            encoded = target
        else:
            encoded = query
        if (
            type(encoded) is not str or ("%" in encoded and _ODD_ESCAPE.search(encoded))
        ) and "uri" not in suspects:
            suspects.append("uri")
        if type(query) is not str or len(query) > self.query_limit:
            suspects.append("args")
        length = get("CONTENT_LENGTH", "")
        content_type = get("CONTENT_TYPE")
        if "HTTP_TRANSFER_ENCODING" in environ or (self.checks_bodies and content_type):
            # body.multipart also judges a Content-Type that comes without a body.
            suspects.append("body")
        elif length == "":
            if method in _NEEDS_LENGTH:
                suspects.append("body")
        elif length != "0" and (
            method in ("GET", "HEAD")
            or type(length) is not str
            or not (length.isascii() and length.isdigit())
            # As body.content_type_missing reads it: blank is only HTTP's.
            or type(content_type) is not str
            or not content_type.strip(" \t")
            or self.checks_bodies
            or self.checks_length
        ):
            suspects.append("body")
        if "HTTP_RANGE" in environ:
            suspects.append("range")
        cookie = get("HTTP_COOKIE")
        if cookie is not None and (type(cookie) is not str or cookie not in self.clean_cookies):
            if type(cookie) is str and COOKIE_BAD_PAIR.search(cookie) is None:
                self.clean_cookies.remember(cookie, True)
            else:
                suspects.append("cookie")
        return suspects


def _odd_values(environ: WSGIEnvironment, text: str) -> list[str]:
    """Whether the URI values, the other values (headers), or both hold
    the characters outside printable ASCII that ``text`` holds, so that a
    decoded ``%00`` in the path does not send every header through a
    Python loop."""
    get = environ.get
    in_uri = _odd_count(" ".join([v for key in _URI_KEYS if isinstance(v := get(key), str)]))
    scopes = ["uri"] if in_uri else []
    if _odd_count(text) > in_uri:
        scopes.append("headers")
    return scopes
