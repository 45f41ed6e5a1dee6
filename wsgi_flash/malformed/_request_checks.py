"""Detectors for the request line, Host, headers and arguments
=============================================================

A detector takes the :class:`Facts` of one request and the middleware's
:class:`Limits` and returns a short, log-safe description of what it found,
or None. The request target's escapes and bytes are looked at by
:mod:`wsgi_flash.malformed._uri_checks`, bodies by :mod:`wsgi_flash.malformed._body_checks`; the
catalogue that names them all is :mod:`wsgi_flash.malformed._checks`.

Detectors run only after the middleware's cheap pre-scan found something
worth a closer look, so they favour clarity over speed.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from .._logging import escape
from .._net import parse_ip, split_host_port

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Methods every HTTP/1.1 app may meet; anything else is ``method.unusual``.
COMMON_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
#: CRS's ``tx.allowed_http_versions`` (rule 920430).
ALLOWED_PROTOCOLS = frozenset(("HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0"))

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
#: The first pair of a Cookie header that breaks the grammar (RFC 6265
#: 4.2.1, with blanks and empty pairs tolerated as browsers send them): a
#: non-empty part that is not a token name, optional blanks and "=". Found
#: with one search: linear in the header, and with no per-pair state (a
#: repeated group would keep some for every pair, 100 bytes each).
COOKIE_BAD_PAIR = re.compile(
    r"(?:^|;)[ \t]*(?![ \t;])(?=.)(?![!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=)", re.DOTALL
)
# In header values TAB is legal; CR, LF and NUL are not either.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# django.http.request.host_validation_re, matched against the lowercased Host.
_DJANGO_HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?")
_RANGE_SPEC = re.compile(r"[ \t]*(?:([0-9]+)-([0-9]*)|-([0-9]+))[ \t]*\Z")
_MAX_RANGES = 16
#: Digits of the largest number a request may carry where a number belongs
#: (a length, a byte position): 2**63 - 1 has 19. Longer is a finding, not an
#: ``int()`` call, whose cost grows with the square of the digits and which
#: refuses 4,300 or more.
MAX_DIGITS = 19


def parse_decimal(text: str) -> int | None:
    """``text`` as a non-negative decimal of at most :data:`MAX_DIGITS`
    digits (leading zeros aside), or None."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if len(digits) > MAX_DIGITS:
        return None
    return int(digits or "0")


@dataclass(frozen=True)
class Limits:
    """Per-middleware settings the detectors read."""

    allowed_hosts: tuple[str, ...] | None = None
    max_arguments: int = 1000
    max_argument_name_length: int = 100
    max_argument_length: int = 4000
    max_content_length: int | None = None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class Facts:
    """The parts of one request the detectors look at.

    The request line and Host are read once, since most detectors need them;
    the body headers are read when a body detector asks, and the findings of
    the one pass over the target are kept once made.
    """

    __slots__ = ("environ", "host", "method", "protocol", "query", "target", "uri_findings")

    def __init__(self, environ: WSGIEnvironment) -> None:
        get = environ.get
        self.environ = environ
        method, protocol, query, host = (
            get("REQUEST_METHOD"),
            get("SERVER_PROTOCOL"),
            get("QUERY_STRING"),
            get("HTTP_HOST"),
        )
        self.method = method if isinstance(method, str) else ""
        self.protocol = protocol if isinstance(protocol, str) else ""
        self.query = query if isinstance(query, str) else ""
        self.host: str | None = host if isinstance(host, str) else None
        # The raw request target where the server provides it (gunicorn and
        # Werkzeug set RAW_URI, uWSGI REQUEST_URI); PATH_INFO is decoded.
        target = get("RAW_URI") or get("REQUEST_URI")
        self.target: str | None = target if isinstance(target, str) else None
        self.uri_findings: dict[str, str] | None = None

    @property
    def content_length(self) -> str:
        # HTTP's blanks only: str.strip() would also take "\xa0" off "\xa05".
        return _text(self.environ.get("CONTENT_LENGTH")).strip(" \t")

    @property
    def content_type(self) -> str:
        return _text(self.environ.get("CONTENT_TYPE"))

    @property
    def transfer_encoding(self) -> str | None:
        value = self.environ.get("HTTP_TRANSFER_ENCODING")
        return value if isinstance(value, str) else None


# Request line -------------------------------------------------------------------


def method_token(facts: Facts, limits: Limits) -> str | None:
    if TOKEN.match(facts.method):
        return None
    return f"method {escape(facts.method, 40)!r} is not an HTTP token"


def method_unusual(facts: Facts, limits: Limits) -> str | None:
    if facts.method in COMMON_METHODS or not TOKEN.match(facts.method):
        return None
    return f"unusual method {escape(facts.method, 40)!r}"


def protocol_version(facts: Facts, limits: Limits) -> str | None:
    if facts.protocol in ALLOWED_PROTOCOLS:
        return None
    return f"protocol {escape(facts.protocol, 40)!r} is not HTTP/1.0, 1.1, 2 or 3"


# Host -----------------------------------------------------------------------------


def host_missing(facts: Facts, limits: Limits) -> str | None:
    if facts.host is not None or facts.protocol == "HTTP/1.0":
        return None
    return f"no Host header on an {escape(facts.protocol, 20) or 'HTTP'} request"


def host_empty(facts: Facts, limits: Limits) -> str | None:
    if facts.host is None or facts.host.strip():
        return None
    return "empty Host header"


def split_domain_port(host: str) -> tuple[str, str]:
    """Django's ``split_domain_port``: the lowercased domain without a
    trailing dot, and the port; ``("", "")`` if ``host`` is not valid."""
    match = _DJANGO_HOST.fullmatch(host.lower())
    if match is None:
        return "", ""
    domain, port = match.group(1), match.group(2) or ""
    return domain.removesuffix("."), port


def host_is_allowed(domain: str, allowed_hosts: t.Iterable[str]) -> bool:
    """Django's ``validate_host``: ``*`` matches anything, ``.example.com``
    matches example.com and its subdomains, anything else exactly.
    ``domain`` comes from :func:`split_domain_port`; patterns are lowercase."""
    for pattern in allowed_hosts:
        if pattern == "*" or pattern == domain:
            return True
        if pattern.startswith(".") and (domain.endswith(pattern) or domain == pattern[1:]):
            return True
    return False


def host_invalid(facts: Facts, limits: Limits) -> str | None:
    if not facts.host or not facts.host.strip() or split_domain_port(facts.host)[0]:
        return None
    return f"Host {escape(facts.host, 80)!r} is not a valid host name (RFC 1034/1035)"


def host_not_allowed(facts: Facts, limits: Limits) -> str | None:
    """An allow-list denies what it cannot parse: a Host is allowed only if
    it is an allowed name, with at most a port of 1-65535 after it. A Host
    that fails the grammar (``good.example@evil.example``,
    ``evil.example\\good.example``, ``evil_x.example``) is not allowed,
    whatever else it holds. No Host, or an empty one, names no host: apps
    then build URLs from ``SERVER_NAME``, which the server sets."""
    if limits.allowed_hosts is None or not facts.host:
        return None
    domain, port = split_domain_port(facts.host)
    if not domain:
        return f"Host {escape(facts.host, 80)!r} is not a valid host name, so not allowed"
    if port and not (len(port) <= 5 and 1 <= int(port) <= 65535):
        return f"Host {escape(facts.host, 80)!r} has an invalid port, so is not allowed"
    if host_is_allowed(domain, limits.allowed_hosts):
        return None
    return f"Host {escape(domain, 80)!r} is not in allowed_hosts"


_NUMBER_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9A-Fa-f]*)\Z")


def _ends_in_a_number(host: str) -> bool:
    """The WHATWG URL parser's test: a host whose last label (after one
    trailing dot) is a decimal or ``0x`` number is an IPv4 address to a
    browser, so ``127.1``, ``2130706433`` and ``0x7f.0.0.1`` are all
    127.0.0.1."""
    if host.endswith("."):
        host = host[:-1]
    return _NUMBER_LABEL.match(host.rpartition(".")[2]) is not None


def host_numeric_ip(facts: Facts, limits: Limits) -> str | None:
    if not facts.host:
        return None
    split = split_host_port(facts.host)
    if split is None:
        return None
    name = split[0]
    if parse_ip(name.strip("[]")) is None and not _ends_in_a_number(name):
        return None
    return f"Host is the IP address {escape(name, 60)!r}"


# Other headers ----------------------------------------------------------------------


def header_control(facts: Facts, limits: Limits) -> str | None:
    for key, value in facts.environ.items():
        if (
            (key[:5] == "HTTP_" or key in ("CONTENT_TYPE", "CONTENT_LENGTH"))
            and type(value) is str
            and not (value.isascii() and value.isprintable())
            and _HEADER_CONTROL.search(value)
        ):
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            return f"control character in the {escape(name, 60)} header"
    return None


def range_header(facts: Facts, limits: Limits) -> str | None:
    value = facts.environ.get("HTTP_RANGE")
    if not isinstance(value, str):
        return None
    unit, sep, ranges = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return f"Range {escape(value, 60)!r} is not a bytes range"
    # Counted before splitting: the split list would grow with the header.
    parts = ranges.count(",") + 1
    if parts > _MAX_RANGES:
        return f"Range asks for {parts:,} ranges"
    for spec in ranges.split(","):
        match = _RANGE_SPEC.match(spec)
        if match is None:
            return f"Range {escape(value, 60)!r} does not parse"
        numbers = [parse_decimal(text) for text in match.groups() if text]
        if None in numbers:
            return f"Range {escape(spec.strip(), 40)!r} has a number over {MAX_DIGITS} digits"
        first, last = match.group(1), match.group(2)
        if first and last and numbers[1] < numbers[0]:  # type: ignore[operator]
            return f"Range {escape(spec.strip(), 40)!r} ends before it starts"
    return None


def cookie(facts: Facts, limits: Limits) -> str | None:
    value = facts.environ.get("HTTP_COOKIE")
    if not isinstance(value, str):
        return None
    # One pass at C speed to the first pair that breaks the grammar, with no
    # list of pairs built however many the header holds.
    bad = COOKIE_BAD_PAIR.search(value)
    if bad is None:
        return None
    part = value[bad.end() :].partition(";")[0]
    name, sep, _ = part.partition("=")
    name = escape(name.strip(" \t"), 40)
    if not sep:
        return f"cookie {name!r} has no '='"
    return f"cookie name {name!r} is not a token"


# Body framing, from the headers alone ----------------------------------------------


def content_length(facts: Facts, limits: Limits) -> str | None:
    value = facts.content_length
    if not value or (value.isascii() and value.isdigit()):
        return None
    return f"Content-Length {escape(value, 40)!r} is not a number"


def _has_body(facts: Facts) -> bool:
    length = facts.content_length
    return facts.transfer_encoding is not None or (bool(length) and length.strip("0") != "")


def get_with_body(facts: Facts, limits: Limits) -> str | None:
    if facts.method not in ("GET", "HEAD") or not _has_body(facts):
        return None
    return f"{facts.method} request with a body"


def length_missing(facts: Facts, limits: Limits) -> str | None:
    if facts.method not in ("POST", "PUT", "PATCH") or not facts.protocol.startswith("HTTP/1"):
        return None
    if facts.content_length or facts.transfer_encoding is not None:
        return None
    return f"{facts.method} without Content-Length or Transfer-Encoding"


def length_and_chunked(facts: Facts, limits: Limits) -> str | None:
    if not facts.content_length or facts.transfer_encoding is None:
        return None
    return "both Content-Length and Transfer-Encoding (request smuggling)"


def content_type_missing(facts: Facts, limits: Limits) -> str | None:
    # Only HTTP's own blanks: the pre-scan reads it the same way.
    if facts.content_type.strip(" \t") or not _has_body(facts):
        return None
    return "request body without Content-Type"


def too_large(facts: Facts, limits: Limits) -> str | None:
    length = facts.content_length
    maximum = limits.max_content_length
    if maximum is None or not (length.isascii() and length.isdigit()):
        return None
    size = parse_decimal(length)
    if size is None:
        digits = len(length.lstrip("0"))
        return f"Content-Length of {digits:,} digits exceeds max_content_length {maximum:,}"
    if size <= maximum:
        return None
    return f"Content-Length {size:,} exceeds max_content_length {maximum:,}"


# Arguments --------------------------------------------------------------------------


def argument_text_limit(limits: Limits) -> int:
    """The length up to which an ``a=1&b=2`` string cannot trip any of the
    argument limits: it holds fewer characters than any limit counts."""
    return min(limits.max_arguments, limits.max_argument_name_length, limits.max_argument_length)


def arguments_problem(text: str, where: str, limits: Limits) -> tuple[str, str] | None:
    """Check an ``a=1&b=2`` string against the argument limits; returns the
    check id and a description, or None."""
    if len(text) <= argument_text_limit(limits):
        return None
    fields = [field for field in text.split("&") if field]
    if len(fields) > limits.max_arguments:
        return "args.too_many", f"{len(fields):,} arguments in the {where}"
    for field in fields:
        name, _, value = field.partition("=")
        if len(name) > limits.max_argument_name_length:
            return "args.too_long", f"argument name of {len(name):,} characters in the {where}"
        if len(value) > limits.max_argument_length:
            return "args.too_long", f"argument {escape(name, 40)!r} of {len(value):,} characters"
    return None


def args_too_many(facts: Facts, limits: Limits) -> str | None:
    found = arguments_problem(facts.query, "query string", limits)
    return found[1] if found is not None and found[0] == "args.too_many" else None


def args_too_long(facts: Facts, limits: Limits) -> str | None:
    found = arguments_problem(facts.query, "query string", limits)
    return found[1] if found is not None and found[0] == "args.too_long" else None
