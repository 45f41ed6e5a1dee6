"""Fuzz target: the percent-decoding checks
=========================================

The first byte of the input picks what the rest is, decoded as latin-1
like every WSGI string: ``0`` a raw request target (``RAW_URI``, as
gunicorn and Werkzeug give it), ``1`` a server without one (``PATH_INFO``
already decoded, ``?``, ``QUERY_STRING``), ``2`` a form body. Checked for
every input, against a byte-by-byte reading of the escapes written here:

- the ``uri.*`` detectors of the check catalogue find exactly the invalid
  escapes, ``%uXXXX``, double encodings, NUL, CR/LF, other controls and
  invalid UTF-8 that are there, each described on one printable line;
- :class:`MalformedRequestLogger` logs every one of those findings (its
  cheap pre-scan misses none);
- with ``body.urlencoded`` on, it flags a form body exactly when a ``%`` is
  not followed by two hex digits, and hands the app the body unchanged.
"""

from __future__ import annotations

import io
import string
import typing as t

import _harness

from wsgi_flash.malformed import MalformedRequestLogger
from wsgi_flash.malformed._checks import CHECKS_BY_ID, SCANNED_URI_CHECKS, Facts, Limits

HEX = frozenset(string.hexdigits)

seen: list[bytes] = []


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    seen.append(environ["wsgi.input"].read())
    start_response("204 No Content", [])
    return []


LOGGER = MalformedRequestLogger(app, enable=("body.urlencoded",), rate_limit=None)


def is_hex(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= HEX


def classify(code: int, found: set[str]) -> None:
    if code == 0:
        found.add("uri.nul_byte")
    elif code in (0x0A, 0x0D):
        found.add("uri.crlf")
    elif (code < 0x20 and code != 0x09) or code == 0x7F:
        found.add("uri.control_characters")


def scan_escapes(text: str, found: set[str]) -> bool:
    """Add what ``text`` (percent-encoded) holds to ``found``; True if it
    decodes to a byte over 0x7f."""
    high = False
    position = 0
    while position < len(text):
        char = text[position]
        if char != "%":
            code, position = ord(char), position + 1
        elif text[position + 1 : position + 2] in ("u", "U") and is_hex(
            text[position + 2 : position + 6], 4
        ):
            found.add("uri.percent_u")
            position += 6
            continue
        elif text[position + 1 : position + 3] == "25" and is_hex(
            text[position + 3 : position + 4], 1
        ):
            found.add("uri.double_encoding")
            position += 4
            continue
        elif is_hex(text[position + 1 : position + 3], 2):
            code, position = int(text[position + 1 : position + 3], 16), position + 3
        else:
            found.add("uri.percent_encoding")
            position += 1
            continue
        high = high or code > 0x7F
        classify(code, found)
    return high


def percent_decode(text: str) -> bytes:
    """What urllib's unquote_to_bytes does: ``%XX`` with two hex digits is
    a byte, anything else stays as it is."""
    out = bytearray()
    position = 0
    while position < len(text):
        if text[position] == "%" and is_hex(text[position + 1 : position + 3], 2):
            out.append(int(text[position + 1 : position + 3], 16))
            position += 3
        else:
            out.append(ord(text[position]))
            position += 1
    return bytes(out)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def expected_findings(path: str, query: str, path_decoded: bool) -> set[str]:
    found: set[str] = set()
    if path_decoded:
        high = False
        for char in path:
            high = high or ord(char) > 0x7F
            classify(ord(char), found)
        path_bytes = path.encode("latin-1")
    else:
        high = scan_escapes(path, found)
        path_bytes = percent_decode(path)
    high = scan_escapes(query, found) or high
    if high and not (is_utf8(path_bytes) and is_utf8(percent_decode(query))):
        found.add("uri.invalid_utf8")
    return found


def environ_for(mode: int, text: str) -> tuple[dict[str, t.Any], set[str]]:
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "",
        "HTTP_HOST": "example.com",
        "REMOTE_ADDR": "192.0.2.1",
        "wsgi.input": io.BytesIO(),
    }
    if mode == 0:
        path, _, query = text.partition("#")[0].partition("?")
        environ["RAW_URI"] = text
        environ["PATH_INFO"] = percent_decode(path).decode("latin-1")
        environ["QUERY_STRING"] = query
        return environ, expected_findings(path, query, path_decoded=False)
    path, _, query = text.partition("?")
    environ["PATH_INFO"], environ["QUERY_STRING"] = path, query
    return environ, expected_findings(path, query, path_decoded=True)


def call_logger(environ: dict[str, t.Any]) -> set[str]:
    """Run the middleware; the check ids it logged."""
    seen.clear()
    assert list(LOGGER(environ, lambda status, headers, exc_info=None: None)) == []
    assert len(seen) == 1
    return {getattr(record, "check", "") for record in _harness.LOG.take()}


def check_uri(mode: int, text: str) -> None:
    environ, expected = environ_for(mode, text)
    facts, limits = Facts(environ), Limits()
    findings = set()
    for check_id in SCANNED_URI_CHECKS:
        detect = CHECKS_BY_ID[check_id].detect
        assert detect is not None
        detail = detect(facts, limits)
        if detail is not None:
            assert detail.isprintable(), detail
            findings.add(check_id)
    assert findings == expected, (text, findings, expected)
    logged = call_logger(environ) & SCANNED_URI_CHECKS
    assert logged == expected, (text, logged, expected)


def check_body(body: bytes) -> None:
    text = body.decode("latin-1")
    bad = any(
        char == "%" and not is_hex(text[position + 1 : position + 3], 2)
        for position, char in enumerate(text)
    )
    environ = {
        "REQUEST_METHOD": "POST",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "HTTP_HOST": "example.com",
        "REMOTE_ADDR": "192.0.2.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    logged = call_logger(environ)
    assert ("body.urlencoded" in logged) == bad, (body, logged)
    assert seen == [body]


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    mode = data[0] % 3
    if mode == 2:
        check_body(data[1:])
    else:
        check_uri(mode, data[1:].decode("latin-1"))


if __name__ == "__main__":
    _harness.main(fuzz_one_input, "uri")
