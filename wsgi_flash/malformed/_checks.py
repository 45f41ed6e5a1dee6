"""The malformed-request check catalogue
======================================

Every check :class:`~wsgi_flash.malformed.MalformedRequestLogger` runs, with
its stable id, default action and origin, and the detector that looks for it
(:mod:`wsgi_flash.malformed._request_checks`, :mod:`wsgi_flash.malformed._uri_checks`; the body
checks of :mod:`wsgi_flash.malformed._body_checks` have none, the middleware runs them
on the body). Also how the middleware's options turn into an action per
check.
"""

from __future__ import annotations

import difflib
import typing as t
from dataclasses import dataclass

from . import _request_checks as request
from . import _uri_checks as uri
from ._request_checks import Facts, Limits

Action = t.Literal["log", "reject", "off"]
#: What a check found: its id, a log-safe description, and its action.
Finding = tuple[str, str, Action]
Detector = t.Callable[[Facts, Limits], t.Optional[str]]


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue."""

    id: str
    action: Action
    origin: str
    description: str
    detect: Detector | None = None


# One check per entry, kept in table form: ruff format would give each field a line.
# fmt: off
CHECKS: tuple[Check, ...] = (
    Check("method.token", "log", "RFC 9110 9.1", "method is not an HTTP token",
          request.method_token),
    Check("method.unusual", "off", "CRS 911100", "method outside GET HEAD POST PUT PATCH"
          " DELETE OPTIONS", request.method_unusual),
    Check("protocol.version", "log", "CRS 920430", "HTTP version other than 1.0, 1.1, 2, 3",
          request.protocol_version),
    Check("uri.percent_encoding", "log", "CRS 920220", "invalid percent-escape such as %zz",
          uri.scanned("uri.percent_encoding")),
    Check("uri.percent_u", "log", "CRS 920260", "IIS-style %uXXXX escape",
          uri.scanned("uri.percent_u")),
    Check("uri.double_encoding", "log", "CRS 920230", "double percent-encoding such as %252e",
          uri.scanned("uri.double_encoding")),
    Check("uri.invalid_utf8", "log", "CRS 920250", "path or query decodes to invalid UTF-8",
          uri.scanned("uri.invalid_utf8")),
    Check("uri.nul_byte", "log", "CRS 920270", "NUL byte (%00) in the path or query",
          uri.scanned("uri.nul_byte")),
    Check("uri.crlf", "log", "CRS 921150, 921160", "CR or LF (%0d %0a) in the path or query",
          uri.scanned("uri.crlf")),
    Check("uri.control_characters", "log", "CRS 920271", "other control character in the"
          " path or query", uri.scanned("uri.control_characters")),
    Check("uri.fragment", "log", "RFC 9112 3.2", "raw '#' in the request target", uri.fragment),
    Check("uri.target_form", "log", "RFC 9112 3.2", "absolute-form target whose host differs"
          " from Host, or an unknown target form", uri.target_form),
    Check("host.missing", "log", "CRS 920280", "no Host header (HTTP/1.1 and later)",
          request.host_missing),
    Check("host.empty", "log", "CRS 920290", "empty Host header", request.host_empty),
    Check("host.invalid", "log", "Django DisallowedHost", "Host fails Django's host grammar",
          request.host_invalid),
    Check("host.not_allowed", "log", "Django ALLOWED_HOSTS", "Host not an allowed name with"
          " an optional valid port (only with allowed_hosts)", request.host_not_allowed),
    Check("host.numeric_ip", "off", "CRS 920350", "Host is an IP address", request.host_numeric_ip),
    Check("header.control_characters", "log", "CRS 920270, 920271", "control character in a"
          " header value", request.header_control),
    Check("header.content_length", "log", "CRS 920160", "Content-Length is not a number",
          request.content_length),
    Check("header.range", "log", "CRS 920190, 920200", "Range that does not parse, ends"
          " before it starts, or has over 16 parts", request.range_header),
    Check("header.cookie", "log", "RFC 6265 4.2.1", "Cookie pair without '=' or with a"
          " non-token name", request.cookie),
    Check("body.get_with_body", "log", "CRS 920170", "GET or HEAD with a body",
          request.get_with_body),
    Check("body.length_missing", "log", "CRS 920180", "HTTP/1.x POST/PUT/PATCH without"
          " Content-Length or Transfer-Encoding", request.length_missing),
    Check("body.length_and_chunked", "log", "CRS 920181", "both Content-Length and"
          " Transfer-Encoding", request.length_and_chunked),
    Check("body.content_type_missing", "log", "CRS 920340", "body without Content-Type",
          request.content_type_missing),
    Check("body.too_large", "log", "CRS 920400, Django RequestDataTooBig", "Content-Length"
          " over max_content_length (only when set)", request.too_large),
    Check("args.too_many", "log", "CRS 920380, Django TooManyFieldsSent", "more than"
          " max_arguments query (or form) fields", request.args_too_many),
    Check("args.too_long", "log", "CRS 920360, 920370", "argument name or value over"
          " max_argument_name_length / max_argument_length", request.args_too_long),
    Check("body.json", "off", "ModSecurity 200002", "declared JSON body that does not parse"
          " (reads the body first if rejecting)"),
    Check("body.urlencoded", "off", "CRS 920220 on the body", "form body with a bad"
          " percent-escape (reads the body first if rejecting)"),
    Check("body.multipart", "off", "ModSecurity 200003", "multipart without a boundary, or a"
          " body without it (reads the body first if rejecting)"),
    Check("body.unchecked", "log", "ModSecurity SecRequestBodyLimit", "body an enabled body"
          " check cannot judge: chunked, over body_buffer_size, bad length"),
    Check("app.report", "log", "report_malformed()", "the application reported bad input"),
    Check("response.client_error", "off", "log_client_errors=True", "the application"
          " answered 4xx (logged at INFO)"),
)
# fmt: on

CHECKS_BY_ID: dict[str, Check] = {check.id: check for check in CHECKS}
#: Position of each check in the catalogue, the order findings are logged in.
ORDER = {check.id: index for index, check in enumerate(CHECKS)}
#: Checks answered together by one :func:`~wsgi_flash.malformed._uri_checks.scan_uri` pass.
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
BODY_CHECKS = frozenset(("body.json", "body.urlencoded", "body.multipart"))
#: Ids that describe something the app did, so they cannot reject a request.
NOT_REJECTABLE = frozenset(("app.report", "response.client_error"))

# What part of the middleware's pre-scan must flag a request before the
# check runs: the id's group, except for these.
_SCOPE_OVERRIDES = {
    "uri.fragment": "target",
    "uri.target_form": "target",
    "header.control_characters": "headers",
    "header.content_length": "body",
    "header.range": "range",
    "header.cookie": "cookie",
}


def scope_of(check_id: str) -> str:
    """The pre-scan scope (``uri``, ``host``, ``body``...) of a check."""
    return _SCOPE_OVERRIDES.get(check_id, check_id.partition(".")[0])


def format_checks() -> str:
    """The catalogue as a plain-text table (``python -m wsgi_flash checks``)."""
    headers = ("id", "default", "origin", "description")
    rows = [(c.id, c.action, c.origin, c.description) for c in CHECKS]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: t.Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


# From options to actions ----------------------------------------------------------


def check_ids(value: object, option: str) -> tuple[set[str], set[str]]:
    """Expand ``value`` (ids and ``group.*`` patterns) into check ids; also
    return the ids named exactly."""
    if isinstance(value, (str, bytes)) or not isinstance(value, t.Iterable):
        raise TypeError(
            f"{option} takes a tuple of check ids, for example {option}=('uri.nul_byte',),"
            f" not {type(value).__name__}"
        )
    ids: set[str] = set()
    exact: set[str] = set()
    for item in value:
        if isinstance(item, str) and item.endswith(".*"):
            group = {c for c in CHECKS_BY_ID if c.startswith(item[:-1])}
            if group:
                ids |= group
                continue
        if item not in CHECKS_BY_ID:
            near = difflib.get_close_matches(str(item), CHECKS_BY_ID, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(
                f"{option} names unknown check {item!r}{hint} (list them with"
                " `python -m wsgi_flash checks`)"
            )
        ids.add(item)
        exact.add(item)
    return ids, exact


def resolve_actions(
    limits: Limits,
    reject: t.Iterable[str] | bool,
    enable: t.Iterable[str],
    disable: t.Iterable[str],
    log_client_errors: bool,
) -> dict[str, Action]:
    """The action of every check id under the middleware's options; raises
    ValueError for combinations that cannot work."""
    enabled, named = check_ids(enable, "enable")
    disabled = check_ids(disable, "disable")[0]
    rejected: set[str] = set()
    if not isinstance(reject, bool):
        rejected, named_rejected = check_ids(reject, "reject")
        named |= named_rejected
    for name in sorted((rejected | enabled) & disabled):
        raise ValueError(f"{name!r} is named in disable and also in enable or reject")
    for name in sorted(rejected & NOT_REJECTABLE):
        raise ValueError(f"{name!r} reports what the app did, so it cannot reject")
    if "host.not_allowed" in named and limits.allowed_hosts is None:
        raise ValueError("host.not_allowed needs allowed_hosts=[...] to compare Host with")
    if "body.unchecked" in named and not (enabled | rejected) & BODY_CHECKS:
        raise ValueError(
            "body.unchecked reports bodies a body check could not judge: enable one of"
            f" {', '.join(sorted(BODY_CHECKS))} too"
        )
    if "body.too_large" in named and limits.max_content_length is None:
        raise ValueError("body.too_large needs max_content_length=<bytes>")
    if log_client_errors:
        enabled.add("response.client_error")
    actions: dict[str, Action] = {}
    for check in CHECKS:
        action = check.action
        if check.id in enabled and action == "off":
            action = "log"
        if check.id in disabled:
            action = "off"
        if check.id in rejected or (
            reject is True and action != "off" and check.id not in NOT_REJECTABLE
        ):
            action = "reject"
        actions[check.id] = action
    return actions


def positive_int(value: object, option: str) -> int:
    """``value`` if it is an int of at least 1; raises naming ``option``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{option} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{option} must be at least 1, got {value}")
    return value


def host_patterns(allowed_hosts: t.Iterable[str] | None) -> tuple[str, ...] | None:
    """``allowed_hosts`` checked and lowercased, as the host detectors read it."""
    if allowed_hosts is None:
        return None
    if isinstance(allowed_hosts, (str, bytes)):
        raise TypeError(
            f"allowed_hosts takes a list of host names, for example"
            f" allowed_hosts=[{allowed_hosts!r}], not a single string"
        )
    patterns = []
    for pattern in allowed_hosts:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"allowed_hosts entries must be non-empty str, got {pattern!r}")
        patterns.append(_host_pattern(pattern))
    return tuple(patterns)


def _host_pattern(pattern: str) -> str:
    """``pattern`` lowercased if some Host can match it, else a ValueError
    that says what to write instead: an entry that can never match would
    answer every request with 400."""
    lowered = pattern.lower()
    if lowered == "*" or _is_host_name(lowered.removeprefix(".")):
        return lowered
    # What was probably meant: no blanks, scheme, path, port, "*" or trailing dot.
    meant = lowered.strip().partition("://")[2] or lowered.strip()
    meant = meant.partition("/")[0]
    if not meant.startswith("["):
        meant = meant.partition(":")[0]
    meant = meant.removeprefix("*").rstrip(".")
    hint = f"; use {meant!r}" if _is_host_name(meant.removeprefix(".")) else ""
    raise ValueError(
        f"allowed_hosts entry {pattern!r} can never match a Host: entries are host names"
        " (no scheme, port, path or trailing dot), '.example.com' for a domain and its"
        f" subdomains, or '*'{hint}"
    )


def _is_host_name(name: str) -> bool:
    """Whether ``name`` is a whole host name as Django reads a Host."""
    return bool(name) and request.split_domain_port(name)[0] == name
