"""Detectors for request bodies
=============================

The opt-in ``body.*`` checks: a body whose Content-Type declares JSON, a
form or multipart is read into a bounded buffer, checked, and handed to the
app as an identical ``wsgi.input``. Chunked, empty and oversized bodies are
left alone, unread.
"""

from __future__ import annotations

import io
import json
import re
import typing as t

from ._logging import escape
from ._request_checks import Facts, Limits, arguments_problem
from ._uri_checks import excerpt

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from ._checks import Action, Finding

_BAD_PERCENT = re.compile(r"%(?![uU][0-9A-Fa-f]{4})(?![0-9A-Fa-f]{2})")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")


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
    return f"invalid percent-escape {excerpt(text, match.start(), 3)!r} in the form body"


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


def declared_check(content_type: str) -> str | None:
    """The body check for a Content-Type, or None if no check reads it."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return "body.urlencoded"
    if media_type == "application/json" or media_type.endswith("+json"):
        return "body.json"
    if media_type.startswith("multipart/"):
        return "body.multipart"
    return None


def buffer_body(environ: WSGIEnvironment, content_length: str, max_size: int) -> bytes | None:
    """Read a body of known length up to ``max_size`` bytes and hand the app
    an identical ``wsgi.input``; None for chunked, empty or larger bodies."""
    if not (content_length.isascii() and content_length.isdigit()):
        return None
    size = int(content_length)
    if not 0 < size <= max_size:
        return None
    body: bytes = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def inspect_body(
    facts: Facts, actions: t.Mapping[str, Action], limits: Limits, max_size: int
) -> list[Finding]:
    """Run the enabled body check that the Content-Type calls for.

    :param actions: the middleware's action of every check id.
    :param max_size: the largest body to buffer.
    """
    content_type = facts.content_type
    check = declared_check(content_type)
    if check is None or actions[check] == "off":
        return []
    body = buffer_body(facts.environ, facts.content_length, max_size)
    findings: list[Finding] = []
    if check == "body.multipart":
        detail = body_multipart(content_type, body)
    elif body is None:
        return []
    elif check == "body.json":
        detail = body_json(body)
    else:
        detail = body_urlencoded(body)
        # Django counts form fields against the same limits as the query.
        found = arguments_problem(body.decode("latin-1"), "form body", limits)
        if found is not None and actions[found[0]] != "off":
            findings.append((found[0], found[1], actions[found[0]]))
    if detail is not None:
        findings.append((check, detail, actions[check]))
    return findings
