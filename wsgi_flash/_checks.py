"""The malformed-request check catalogue
======================================

Every check :class:`~wsgi_flash.malformed.MalformedRequestLogger` runs, with
its stable id, default action and origin, and the function that looks for it.
A detector takes the :class:`Facts` of one request and returns a short,
log-safe description of what it found, or None.

Detectors run only after the middleware's cheap pre-scan found something
worth a closer look, so they favour clarity over speed.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote_to_bytes

from ._logging import escape
from ._net import parse_ip, split_host_port

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

Action = t.Literal["log", "reject", "off"]

#: Methods every HTTP/1.1 app may meet; anything else is ``method.unusual``.
COMMON_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
#: CRS's ``tx.allowed_http_versions`` (rule 920430).
ALLOWED_PROTOCOLS = frozenset(
    ("HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0")
)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_PERCENT = re.compile(r"%(?![uU][0-9A-Fa-f]{4})(?![0-9A-Fa-f]{2})")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")
# Every escape (a bare "%" is an invalid one) and every byte outside
# printable ASCII in a raw target; scan_uri sorts them out.
_URI_SCAN = re.compile(r"%(?:[uU][0-9A-Fa-f]{4}|25[0-9A-Fa-f]|[0-9A-Fa-f]{2})?|[^\x20-\x7e]")
_RAW_ODD = re.compile(r"[^\x20-\x7e]")
# In header values TAB is legal; CR, LF and NUL are not either.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# django.http.request.host_validation_re, matched against the lowercased Host.
_DJANGO_HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?")
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")
_RANGE_SPEC = re.compile(r"[ \t]*(?:([0-9]+)-([0-9]*)|-([0-9]+))[ \t]*\Z")
_MAX_RANGES = 16


@dataclass(frozen=True)
class Limits:
    """Per-middleware settings the detectors read."""

    allowed_hosts: tuple[str, ...] | None = None
    max_arguments: int = 1000
    max_argument_name_length: int = 100
    max_argument_length: int = 4000
    max_content_length: int | None = None


class Facts:
    """The parts of one request the detectors look at, each decoded on
    first use and then kept."""

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method = _text(environ, "REQUEST_METHOD")
        self.protocol = _text(environ, "SERVER_PROTOCOL")
        self.query = _text(environ, "QUERY_STRING")
        host = environ.get("HTTP_HOST")
        self.host: str | None = host if isinstance(host, str) else None
        # The raw request target where the server provides it (gunicorn and
        # Werkzeug set RAW_URI, uWSGI REQUEST_URI); PATH_INFO is decoded.
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        self.target: str | None = target if isinstance(target, str) else None

    @cached_property
    def content_length(self) -> str:
        return _text(self.environ, "CONTENT_LENGTH").strip()

    @cached_property
    def content_type(self) -> str:
        return _text(self.environ, "CONTENT_TYPE")

    @cached_property
    def transfer_encoding(self) -> str | None:
        value = self.environ.get("HTTP_TRANSFER_ENCODING")
        return value if isinstance(value, str) else None

    @cached_property
    def encoded(self) -> str:
        """The request as the client percent-encoded it: the raw target, or
        only the query string when the server gives no raw target."""
        return self.target if self.target is not None else self.query

    @cached_property
    def uri_findings(self) -> dict[str, str]:
        return scan_uri(self)

    @cached_property
    def path_bytes(self) -> bytes:
        if self.target is None:
            return _text(self.environ, "PATH_INFO").encode("latin-1", "replace")
        return _decode(self.target.partition("#")[0].partition("?")[0])

    @cached_property
    def query_bytes(self) -> bytes:
        if self.target is None:
            return _decode(self.query)
        return _decode(self.target.partition("#")[0].partition("?")[2])


def _text(environ: WSGIEnvironment, key: str) -> str:
    value = environ.get(key)
    return value if isinstance(value, str) else ""


def _decode(text: str) -> bytes:
    return unquote_to_bytes(text.encode("latin-1", "replace"))


def _excerpt(text: str, start: int, length: int = 8) -> str:
    return escape(text[start : start + length], 40)


def scan_uri(facts: Facts) -> dict[str, str]:
    """Find every odd escape or byte in the path and query in one pass, as
    ``{check id: description}`` (the first occurrence of each)."""
    found: dict[str, str] = {}
    non_ascii = False
    if facts.target is not None:
        encoded = facts.target.partition("#")[0]
        query_start = encoded.find("?")
        if query_start == -1:
            query_start = len(encoded)
    else:
        encoded = facts.query
        query_start = 0
        for char in _RAW_ODD.findall(_text(facts.environ, "PATH_INFO")):
            non_ascii = _classify(ord(char), "path", found) or non_ascii
    for match in _URI_SCAN.finditer(encoded):
        where = "path" if match.start() < query_start else "query string"
        text = match.group()
        if text[0] != "%":
            non_ascii = _classify(ord(text), where, found) or non_ascii
        elif len(text) == 1:
            found.setdefault(
                "uri.percent_encoding",
                f"invalid percent-escape {_excerpt(encoded, match.start(), 3)!r} in the {where}",
            )
        elif text[1] in "uU":
            found.setdefault("uri.percent_u", f"IIS-style escape {text!r} in the {where}")
        elif len(text) == 4:
            found.setdefault("uri.double_encoding", f"double encoding {text!r} in the {where}")
        else:
            non_ascii = _classify(int(text[1:], 16), where, found) or non_ascii
    if non_ascii:
        for where, data in (("path", facts.path_bytes), ("query string", facts.query_bytes)):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                found["uri.invalid_utf8"] = (
                    f"invalid UTF-8 in the {where}: byte"
                    f" {data[error.start : error.end].hex(' ')} at offset {error.start}"
                )
                break
    return found


def _classify(code: int, where: str, found: dict[str, str]) -> bool:
    """Record a decoded byte that a check cares about; True if non-ASCII."""
    if code >= 0x80:
        return True
    if code == 0:
        found.setdefault("uri.nul_byte", f"NUL byte in the {where}")
    elif code in (0x0A, 0x0D):
        found.setdefault("uri.crlf", f"CR or LF in the {where} (response splitting)")
    elif (code < 0x20 and code != 0x09) or code == 0x7F:
        found.setdefault("uri.control_characters", f"control character {code:#04x} in the {where}")
    return False


def _uri_finding(check_id: str) -> Detector:
    def detect(facts: Facts, limits: Limits) -> str | None:
        return facts.uri_findings.get(check_id)

    detect.__name__ = check_id.replace(".", "_")
    return detect


def _fragment(facts: Facts, limits: Limits) -> str | None:
    if facts.target is None or "#" not in facts.target:
        return None
    return "request target contains '#', which clients never send"


def _target_form(facts: Facts, limits: Limits) -> str | None:
    target = facts.target
    if target is None or target.startswith("/"):
        return None
    if target == "*":
        return None if facts.method == "OPTIONS" else f"'*' target with {escape(facts.method)}"
    match = _ABSOLUTE_FORM.match(target)
    if match is None:
        return f"request target {escape(target, 40)!r} is not a path or absolute URL"
    authority = match.group(1).rpartition("@")[2].lower()
    host = (facts.host or "").lower()
    if authority == host:
        return None
    return (
        f"absolute-form target names {escape(authority, 60)!r}"
        f" but Host is {escape(facts.host or '', 60)!r}"
    )


def _method_token(facts: Facts, limits: Limits) -> str | None:
    if _TOKEN.match(facts.method):
        return None
    return f"method {escape(facts.method, 40)!r} is not an HTTP token"


def _method_unusual(facts: Facts, limits: Limits) -> str | None:
    if facts.method in COMMON_METHODS or not _TOKEN.match(facts.method):
        return None
    return f"unusual method {escape(facts.method, 40)!r}"


def _protocol_version(facts: Facts, limits: Limits) -> str | None:
    if facts.protocol in ALLOWED_PROTOCOLS:
        return None
    return f"protocol {escape(facts.protocol, 40)!r} is not HTTP/1.0, 1.1, 2 or 3"


def _host_missing(facts: Facts, limits: Limits) -> str | None:
    if facts.host is not None or facts.protocol == "HTTP/1.0":
        return None
    return f"no Host header on an {escape(facts.protocol, 20) or 'HTTP'} request"


def _host_empty(facts: Facts, limits: Limits) -> str | None:
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


def _host_invalid(facts: Facts, limits: Limits) -> str | None:
    if not facts.host or not facts.host.strip() or split_domain_port(facts.host)[0]:
        return None
    return f"Host {escape(facts.host, 80)!r} is not a valid host name (RFC 1034/1035)"


def _host_not_allowed(facts: Facts, limits: Limits) -> str | None:
    if limits.allowed_hosts is None or not facts.host:
        return None
    domain = split_domain_port(facts.host)[0]
    if not domain or host_is_allowed(domain, limits.allowed_hosts):
        return None
    return f"Host {escape(domain, 80)!r} is not in allowed_hosts"


def _host_numeric_ip(facts: Facts, limits: Limits) -> str | None:
    if not facts.host:
        return None
    split = split_host_port(facts.host)
    if split is None or parse_ip(split[0].strip("[]")) is None:
        return None
    return f"Host is the IP address {escape(split[0], 60)!r}"


def _header_control(facts: Facts, limits: Limits) -> str | None:
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


def _content_length(facts: Facts, limits: Limits) -> str | None:
    value = facts.content_length
    if not value or (value.isascii() and value.isdigit()):
        return None
    return f"Content-Length {escape(value, 40)!r} is not a number"


def _has_body(facts: Facts) -> bool:
    length = facts.content_length
    return facts.transfer_encoding is not None or (bool(length) and length.strip("0") != "")


def _get_with_body(facts: Facts, limits: Limits) -> str | None:
    if facts.method not in ("GET", "HEAD") or not _has_body(facts):
        return None
    return f"{facts.method} request with a body"


def _length_missing(facts: Facts, limits: Limits) -> str | None:
    if facts.method not in ("POST", "PUT", "PATCH") or not facts.protocol.startswith("HTTP/1"):
        return None
    if facts.content_length or facts.transfer_encoding is not None:
        return None
    return f"{facts.method} without Content-Length or Transfer-Encoding"


def _length_and_chunked(facts: Facts, limits: Limits) -> str | None:
    if not facts.content_length or facts.transfer_encoding is None:
        return None
    return "both Content-Length and Transfer-Encoding (request smuggling)"


def _content_type_missing(facts: Facts, limits: Limits) -> str | None:
    if facts.content_type.strip() or not _has_body(facts):
        return None
    return "request body without Content-Type"


def _too_large(facts: Facts, limits: Limits) -> str | None:
    length = facts.content_length
    maximum = limits.max_content_length
    if maximum is None or not (length.isascii() and length.isdigit()) or int(length) <= maximum:
        return None
    return f"Content-Length {int(length):,} exceeds max_content_length {maximum:,}"


def _range(facts: Facts, limits: Limits) -> str | None:
    value = facts.environ.get("HTTP_RANGE")
    if not isinstance(value, str):
        return None
    unit, sep, ranges = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return f"Range {escape(value, 60)!r} is not a bytes range"
    specs = ranges.split(",")
    if len(specs) > _MAX_RANGES:
        return f"Range asks for {len(specs)} ranges"
    for spec in specs:
        match = _RANGE_SPEC.match(spec)
        if match is None:
            return f"Range {escape(value, 60)!r} does not parse"
        first, last = match.group(1), match.group(2)
        if first and last and int(last) < int(first):
            return f"Range {escape(spec.strip(), 40)!r} ends before it starts"
    return None


def _cookie(facts: Facts, limits: Limits) -> str | None:
    value = facts.environ.get("HTTP_COOKIE")
    if not isinstance(value, str):
        return None
    for part in value.split(";"):
        name, sep, _ = part.strip().partition("=")
        if not name and not sep:
            continue
        if not sep:
            return f"cookie {escape(name, 40)!r} has no '='"
        if not _TOKEN.match(name.strip()):
            return f"cookie name {escape(name, 40)!r} is not a token"
    return None


def arguments_problem(text: str, where: str, limits: Limits) -> tuple[str, str] | None:
    """Check an ``a=1&b=2`` string against the argument limits; returns the
    check id and a description, or None."""
    if len(text) <= min(limits.max_arguments, limits.max_argument_name_length):
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


def _args_too_many(facts: Facts, limits: Limits) -> str | None:
    found = arguments_problem(facts.query, "query string", limits)
    return found[1] if found is not None and found[0] == "args.too_many" else None


def _args_too_long(facts: Facts, limits: Limits) -> str | None:
    found = arguments_problem(facts.query, "query string", limits)
    return found[1] if found is not None and found[0] == "args.too_long" else None


# Body detectors: given the buffered body of a request whose Content-Type
# declares their format.


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


def body_json(body: bytes) -> str | None:
    """Describe why ``body`` is not JSON (RFC 8259: UTF-8, no NaN), or None."""
    try:
        json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as error:
        return f"JSON body is not UTF-8 (byte offset {error.start})"
    except RecursionError:
        return "JSON body nests too deeply to parse"
    except ValueError as error:
        return f"body is not JSON: {escape(str(error), 80)}"
    return None


def body_urlencoded(body: bytes) -> str | None:
    """Describe a bad percent-escape in a form body, or None."""
    text = body.decode("latin-1")
    match = _BAD_PERCENT.search(text) or _PERCENT_U.search(text)
    if match is None:
        return None
    return f"invalid percent-escape {_excerpt(text, match.start(), 3)!r} in the form body"


def multipart_boundary(content_type: str) -> str | None:
    """The ``boundary`` parameter of a multipart Content-Type, or None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
            return boundary or None
    return None


def body_multipart(content_type: str, body: bytes | None) -> str | None:
    """Describe a multipart request without a usable boundary, or None."""
    boundary = multipart_boundary(content_type)
    if boundary is None:
        return "multipart Content-Type without a boundary"
    if body is not None and b"--" + boundary.encode("latin-1", "replace") not in body:
        return "multipart body does not contain its boundary"
    return None


# The catalogue -----------------------------------------------------------

Detector = t.Callable[[Facts, Limits], t.Optional[str]]


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue."""

    id: str
    action: Action
    origin: str
    description: str
    detect: Detector | None = None


CHECKS: tuple[Check, ...] = (
    Check("method.token", "log", "RFC 9110 9.1", "method is not an HTTP token", _method_token),
    Check("method.unusual", "off", "CRS 911100", "method outside GET HEAD POST PUT PATCH"
          " DELETE OPTIONS", _method_unusual),
    Check("protocol.version", "log", "CRS 920430", "HTTP version other than 1.0, 1.1, 2, 3",
          _protocol_version),
    Check("uri.percent_encoding", "log", "CRS 920220", "invalid percent-escape such as %zz",
          _uri_finding("uri.percent_encoding")),
    Check("uri.percent_u", "log", "CRS 920260", "IIS-style %uXXXX escape",
          _uri_finding("uri.percent_u")),
    Check("uri.double_encoding", "log", "CRS 920230", "double percent-encoding such as %252e",
          _uri_finding("uri.double_encoding")),
    Check("uri.invalid_utf8", "log", "CRS 920250", "path or query decodes to invalid UTF-8",
          _uri_finding("uri.invalid_utf8")),
    Check("uri.nul_byte", "log", "CRS 920270", "NUL byte (%00) in the path or query",
          _uri_finding("uri.nul_byte")),
    Check("uri.crlf", "log", "CRS 921150, 921160", "CR or LF (%0d %0a) in the path or query",
          _uri_finding("uri.crlf")),
    Check("uri.control_characters", "log", "CRS 920271", "other control character in the"
          " path or query", _uri_finding("uri.control_characters")),
    Check("uri.fragment", "log", "RFC 9112 3.2", "raw '#' in the request target", _fragment),
    Check("uri.target_form", "log", "RFC 9112 3.2", "absolute-form target whose host differs"
          " from Host, or an unknown target form", _target_form),
    Check("host.missing", "log", "CRS 920280", "no Host header (HTTP/1.1 and later)",
          _host_missing),
    Check("host.empty", "log", "CRS 920290", "empty Host header", _host_empty),
    Check("host.invalid", "log", "Django DisallowedHost", "Host fails Django's host grammar",
          _host_invalid),
    Check("host.not_allowed", "log", "Django ALLOWED_HOSTS", "Host not in allowed_hosts"
          " (only with allowed_hosts)", _host_not_allowed),
    Check("host.numeric_ip", "off", "CRS 920350", "Host is an IP address", _host_numeric_ip),
    Check("header.control_characters", "log", "CRS 920270, 920271", "control character in a"
          " header value", _header_control),
    Check("header.content_length", "log", "CRS 920160", "Content-Length is not a number",
          _content_length),
    Check("header.range", "log", "CRS 920190, 920200", "Range that does not parse, ends"
          " before it starts, or has over 16 parts", _range),
    Check("header.cookie", "log", "RFC 6265 4.2.1", "Cookie pair without '=' or with a"
          " non-token name", _cookie),
    Check("body.get_with_body", "log", "CRS 920170", "GET or HEAD with a body", _get_with_body),
    Check("body.length_missing", "log", "CRS 920180", "HTTP/1.x POST/PUT/PATCH without"
          " Content-Length or Transfer-Encoding", _length_missing),
    Check("body.length_and_chunked", "log", "CRS 920181", "both Content-Length and"
          " Transfer-Encoding", _length_and_chunked),
    Check("body.content_type_missing", "log", "CRS 920340", "body without Content-Type",
          _content_type_missing),
    Check("body.too_large", "log", "CRS 920400, Django RequestDataTooBig", "Content-Length"
          " over max_content_length (only when set)", _too_large),
    Check("args.too_many", "log", "CRS 920380, Django TooManyFieldsSent", "more than"
          " max_arguments query (or form) fields", _args_too_many),
    Check("args.too_long", "log", "CRS 920360, 920370", "argument name or value over"
          " max_argument_name_length / max_argument_length", _args_too_long),
    Check("body.json", "off", "ModSecurity 200002", "declared JSON body that does not parse"
          " (buffers the body)"),
    Check("body.urlencoded", "off", "CRS 920220 on the body", "form body with a bad"
          " percent-escape (buffers the body)"),
    Check("body.multipart", "off", "ModSecurity 200003", "multipart without a boundary, or a"
          " body without it (buffers the body)"),
    Check("app.report", "log", "report_malformed()", "the application reported bad input"),
    Check("response.client_error", "off", "log_client_errors=True", "the application"
          " answered 4xx (logged at INFO)"),
)

CHECKS_BY_ID: dict[str, Check] = {check.id: check for check in CHECKS}
# What part of the middleware's pre-scan must flag a request before the
# check runs: the id's group, except for these header checks.
_SCOPE_OVERRIDES = {
    "header.control_characters": "headers",
    "header.content_length": "body",
    "header.range": "range",
    "header.cookie": "cookie",
}


def scope_of(check_id: str) -> str:
    """The pre-scan scope (``uri``, ``host``, ``body``...) of a check."""
    return _SCOPE_OVERRIDES.get(check_id, check_id.partition(".")[0])


BODY_CHECKS = frozenset(("body.json", "body.urlencoded", "body.multipart"))
#: Checks answered together by one :func:`scan_uri` pass.
SCANNED_URI_CHECKS = frozenset(
    (
        "uri.percent_encoding",
        "uri.percent_u",
        "uri.double_encoding",
        "uri.invalid_utf8",
        "uri.nul_byte",
        "uri.crlf",
        "uri.control_characters",
    )
)
#: Position of each check in the catalogue, the order findings are logged in.
ORDER = {check.id: index for index, check in enumerate(CHECKS)}
#: Ids that describe something the app did, so they cannot reject a request.
NOT_REJECTABLE = frozenset(("app.report", "response.client_error"))


def format_checks() -> str:
    """The catalogue as a plain-text table (``python -m wsgi_flash checks``)."""
    headers = ("id", "default", "origin", "description")
    rows = [(c.id, c.action, c.origin, c.description) for c in CHECKS]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: t.Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
