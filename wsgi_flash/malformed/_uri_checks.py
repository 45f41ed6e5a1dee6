"""Detectors for the request target
=================================

:func:`scan_uri` finds every odd escape or byte in the path and query in one
pass over the raw target, for the seven ``uri.*`` checks that look at them;
:func:`fragment` and :func:`target_form` look at the target's shape.

Checks read the raw target where the server provides it (``RAW_URI``,
``REQUEST_URI``) and otherwise the query string, which servers pass on still
encoded; and always the decoded ``PATH_INFO``, which is what the app sees.
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import unquote_to_bytes

from .._logging import escape
from ._request_checks import Facts, Limits, split_domain_port

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# What scan_uri looks at in a raw target, in order: the "?" that starts the
# query; an escaped "%" followed by a hex digit, raw or itself escaped, which
# decodes once to another escape (double encoding: "%252e", "%25%32%65");
# escapes of control or non-ASCII bytes, or IIS-style; a "%" that starts no
# valid escape; a raw byte outside printable ASCII. Escapes of printable ASCII
# are left alone.
_HEX_DIGIT_ESCAPE = "%(?:3[0-9]|4[1-6]|6[1-6])"
_DOUBLE_ENCODING = f"%25(?:[0-9A-Fa-f]|{_HEX_DIGIT_ESCAPE})"
_URI_TOKENS = re.compile(
    rf"\?|{_DOUBLE_ENCODING}|%(?:[01][0-9A-Fa-f]|7[Ff]|[89A-Fa-f][0-9A-Fa-f])"
    r"|%[uU][0-9A-Fa-f]{4}|%(?![0-9A-Fa-f]{2})|[^\x20-\x7e]"
)
_RAW_ODD = re.compile(r"[^\x20-\x7e]")
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


def excerpt(text: str, start: int, length: int = 8) -> str:
    """``length`` characters of ``text`` from ``start``, escaped for a log."""
    return escape(text[start : start + length], 40)


def _decode(text: str) -> bytes:
    return unquote_to_bytes(text.encode("latin-1", "replace"))


def scan_uri(environ: WSGIEnvironment) -> dict[str, str]:
    """Find every odd escape or byte in the path and query in one pass, as
    ``{check id: description}`` (the first occurrence of each)."""
    found: dict[str, str] = {}
    non_ascii = False
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(target, str):
        encoded = target.partition("#")[0]
        where = "path"
    else:
        query = environ.get("QUERY_STRING")
        encoded = query if isinstance(query, str) else ""
        where = "query string"
    # What the app will see, whatever the raw target said: uWSGI decodes
    # "/a%zzb" into a PATH_INFO of "/a\x00b".
    path_info = environ.get("PATH_INFO")
    if isinstance(path_info, str):
        for char in _RAW_ODD.findall(path_info):
            non_ascii = _classify(ord(char), "path", found) or non_ascii
    for match in _URI_TOKENS.finditer(encoded):
        token = match.group()
        if token == "?":
            where = "query string"
        elif token[0] != "%":
            non_ascii = _classify(ord(token), where, found) or non_ascii
        elif len(token) == 1:
            if "uri.percent_encoding" not in found:
                found["uri.percent_encoding"] = (
                    f"invalid percent-escape {excerpt(encoded, match.start(), 3)!r} in the {where}"
                )
        elif token.startswith("%25"):
            found.setdefault("uri.double_encoding", f"double encoding {token!r} in the {where}")
        elif len(token) == 6:
            found.setdefault("uri.percent_u", f"IIS-style escape {token!r} in the {where}")
        else:
            non_ascii = _classify(int(token[1:], 16), where, found) or non_ascii
    if non_ascii:
        _check_utf8(environ, target if isinstance(target, str) else None, found)
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


def _check_utf8(environ: WSGIEnvironment, target: str | None, found: dict[str, str]) -> None:
    """Decode the path and query as a UTF-8 app would; record the first
    invalid byte."""
    if target is None:
        path_info, query = environ.get("PATH_INFO"), environ.get("QUERY_STRING")
        path = path_info.encode("latin-1", "replace") if isinstance(path_info, str) else b""
        query_bytes = _decode(query if isinstance(query, str) else "")
    else:
        path_text, _, query_text = target.partition("#")[0].partition("?")
        path, query_bytes = _decode(path_text), _decode(query_text)
    for where, data in (("path", path), ("query string", query_bytes)):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            found["uri.invalid_utf8"] = (
                f"invalid UTF-8 in the {where}: byte"
                f" {data[error.start : error.end].hex(' ')} at offset {error.start}"
            )
            return


def scanned(check_id: str) -> t.Callable[[Facts, Limits], str | None]:
    """The detector of one check that :func:`scan_uri` answers; the scan runs
    once per :class:`Facts` however many of them ask."""

    def detect(facts: Facts, limits: Limits) -> str | None:
        if facts.uri_findings is None:
            facts.uri_findings = scan_uri(facts.environ)
        return facts.uri_findings.get(check_id)

    detect.__name__ = check_id.replace(".", "_")
    return detect


def fragment(facts: Facts, limits: Limits) -> str | None:
    if facts.target is None or "#" not in facts.target:
        return None
    return "request target contains '#', which clients never send"


def target_form(facts: Facts, limits: Limits) -> str | None:
    target = facts.target
    if target is None or target.startswith("/"):
        return None
    if target == "*":
        return None if facts.method == "OPTIONS" else f"'*' target with {escape(facts.method)}"
    match = _ABSOLUTE_FORM.match(target)
    if match is None:
        return f"request target {escape(target, 40)!r} is not a path or absolute URL"
    authority = match.group(1)
    if "@" in authority or "\\" in authority:
        # RFC 9110 4.2.4 forbids userinfo; and where "\\" ends the host is
        # where parsers disagree (a browser reads "evil\\@good" as evil).
        return f"absolute-form target's authority {escape(authority, 60)!r} has userinfo or '\\'"
    if split_domain_port(authority) == split_domain_port(facts.host or ""):
        return None
    return (
        f"absolute-form target names {escape(authority, 60)!r}"
        f" but Host is {escape(facts.host or '', 60)!r}"
    )
