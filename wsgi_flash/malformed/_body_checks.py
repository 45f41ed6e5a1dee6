"""Detectors for request bodies
=============================

The opt-in ``body.*`` checks: a body whose Content-Type declares JSON, a
form or multipart is checked when the app has read it (logging), or read into
a bounded buffer before the app runs and handed to it as an identical
``wsgi.input`` (rejecting). Chunked, empty and oversized bodies are left
alone, unread.
"""

from __future__ import annotations

import io
import json
import re
import typing as t

from .._logging import escape
from ._request_checks import Facts, Limits, arguments_problem, parse_decimal
from ._uri_checks import excerpt

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from ._checks import Action, Finding

_BAD_PERCENT = re.compile(r"%(?![uU][0-9A-Fa-f]{4})(?![0-9A-Fa-f]{2})")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")


class _NotJSON(ValueError):
    pass


def _reject_constant(name: str) -> t.NoReturn:
    raise _NotJSON(f"{name} is not JSON")


def _unconverted(text: str) -> None:
    """The value of a number, which validation does not need: converting
    it would cost time quadratic in its digits, and Python 3.11+ refuses
    4,300 or more."""


def body_json(body: bytes) -> str | None:
    """Describe why ``body`` is not JSON (RFC 8259: UTF-8, no NaN), or None.

    The description is the same on every Python: the parser's own wording
    changes between versions.
    """
    try:
        json.loads(
            body.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_int=_unconverted,
            parse_float=_unconverted,
        )
    except UnicodeDecodeError as error:
        return f"JSON body is not UTF-8 (byte offset {error.start})"
    except RecursionError:
        return "JSON body nests too deeply to parse"
    except json.JSONDecodeError:
        # Not the parser's message, nor its position: both changed in 3.13.
        return "body is not JSON: syntax error"
    except _NotJSON as error:
        return f"body is not JSON: {error}"
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


#: RFC 2046 5.1.1: a boundary has 1 to 70 characters.
MAX_BOUNDARY = 70


def body_multipart(content_type: str, body: bytes | None) -> str | None:
    """Describe a multipart request without a usable boundary, or None."""
    boundary = multipart_boundary(content_type)
    if boundary is None:
        return "multipart Content-Type without a boundary"
    if len(boundary) > MAX_BOUNDARY:
        # Not searched for: a long needle costs Python 3.9 time that grows
        # with its length times the body's.
        return f"multipart boundary of {len(boundary):,} characters (at most {MAX_BOUNDARY})"
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


def buffer_body(environ: WSGIEnvironment, size: int) -> bytes:
    """Read a body of ``size`` bytes (fewer if the client sent fewer) and
    hand the app an identical ``wsgi.input``."""
    body: bytes = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class CheckedInput:
    """A ``wsgi.input`` that keeps a copy of what the app reads, up to the
    declared length, and calls ``on_body`` with the body once the app has
    read all of it, or has reached the end of a shorter one. Nothing is read
    that the app does not ask for, so a client that announces a body and
    never sends it blocks only an app that reads it, as it would without
    the middleware.

    :param stream: the server's ``wsgi.input``.
    :param size: the body's Content-Length.
    :param on_body: called once with the body, when it is complete.
    """

    def __init__(self, stream: t.Any, size: int, on_body: t.Callable[[bytes], object]) -> None:
        self.stream = stream
        self.size = size
        self.on_body: t.Callable[[bytes], object] | None = on_body
        self.seen = bytearray()

    def _keep(self, data: bytes, asked: bool) -> bytes:
        """Keep ``data``, read for a request of at least one byte if
        ``asked``; an empty answer to such a request is the end of the body."""
        on_body = self.on_body
        if on_body is not None and (data or asked):
            self.seen += data[: self.size - len(self.seen)]
            if len(self.seen) >= self.size or not data:
                self.on_body = None
                seen, self.seen = bytes(self.seen), bytearray()
                on_body(seen)
        return data

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            data = self._keep(self.stream.read(), asked=True)
            self._keep(b"", asked=True)  # read to the end
            return data
        return self._keep(self.stream.read(size), asked=size > 0)

    def readline(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            return self._keep(self.stream.readline(), asked=True)
        return self._keep(self.stream.readline(size), asked=size > 0)

    def readlines(self, hint: int | None = -1, /) -> list[bytes]:
        if hint is None or hint < 0:
            lines: list[bytes] = self.stream.readlines()
        else:
            lines = self.stream.readlines(hint)
        for line in lines:
            self._keep(line, asked=True)
        if not lines or hint is None or hint <= 0:
            self._keep(b"", asked=True)  # read to the end
        return lines

    def __iter__(self) -> CheckedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


def check_body(
    check: str, content_type: str, body: bytes | None, limits: Limits
) -> list[tuple[str, str]]:
    """What check ``check`` (and, for a form, the argument limits) find in
    ``body`` (None: unread), as ``(check id, description)`` pairs."""
    found: list[tuple[str, str]] = []
    if check == "body.multipart":
        detail = body_multipart(content_type, body)
    elif body is None:
        return found
    elif check == "body.json":
        detail = body_json(body)
    else:
        detail = body_urlencoded(body)
        # Django counts form fields against the same limits as the query.
        arguments = arguments_problem(body.decode("latin-1"), "form body", limits)
        if arguments is not None:
            found.append(arguments)
    if detail is not None:
        found.append((check, detail))
    return found


def _may_reject(check: str, actions: t.Mapping[str, Action]) -> bool:
    """Whether a finding in a body that ``check`` reads may reject it."""
    if actions[check] == "reject":
        return True
    return check == "body.urlencoded" and "reject" in (
        actions["args.too_many"],
        actions["args.too_long"],
    )


def inspect_body(
    facts: Facts,
    actions: t.Mapping[str, Action],
    limits: Limits,
    max_size: int,
    report: t.Callable[[t.Callable[[], list[Finding]]], object],
) -> list[Finding]:
    """Run the enabled body check that the Content-Type calls for.

    A check whose findings may reject the request reads the body now,
    before the app runs (up to ``max_size`` bytes, waiting as long as the
    server lets the client take); one that only logs watches what the app
    reads, and hands its findings to ``report`` once the app has read the
    whole body. A body that cannot be judged (chunked, larger than
    ``max_size``, or of an unreadable length) is a ``body.unchecked``
    finding rather than a silent pass.

    :param actions: the middleware's action of every check id.
    :param max_size: the largest body to read or keep.
    :param report: called, while the app reads, with a function that
        returns the findings in the body the app has read.
    """
    content_type = facts.content_type
    check = declared_check(content_type)
    if check is None or actions[check] == "off":
        return []

    def with_actions(found: list[tuple[str, str]]) -> list[Finding]:
        return [(id_, detail, actions[id_]) for id_, detail in found if actions[id_] != "off"]

    # The boundary is in the header: it needs no body.
    findings = with_actions(check_body(check, content_type, None, limits))
    if findings:
        return findings
    length = facts.content_length
    if not length and facts.transfer_encoding is None:
        return findings  # no body at all (RFC 9112 6.3): nothing to judge
    size = parse_decimal(length)
    if facts.transfer_encoding is not None or size is None or size > max_size:
        if facts.transfer_encoding is not None:
            why = "a chunked body"
        elif size is None:
            why = f"a body whose Content-Length {escape(length, 40)!r} is not a number"
        else:
            why = f"a body of {size:,} bytes, over body_buffer_size {max_size:,}"
        return with_actions([("body.unchecked", f"{check} cannot judge {why}")])
    if size == 0:
        return findings
    if _may_reject(check, actions):
        body = buffer_body(facts.environ, size)
        return with_actions(check_body(check, content_type, body, limits))

    def judge(body: bytes) -> None:
        # The app has the request already: what is found now only logs.
        report(
            lambda: [
                (id_, detail, "log" if action == "reject" else action)
                for id_, detail, action in with_actions(
                    check_body(check, content_type, body, limits)
                )
            ]
        )

    facts.environ["wsgi.input"] = CheckedInput(facts.environ["wsgi.input"], size, judge)
    return findings
