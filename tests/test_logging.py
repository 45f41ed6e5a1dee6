"""escape(): the one place that makes request values log-safe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsgi_flash._logging import escape


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain text", "plain text", id="plain"),
        pytest.param("a\r\nb", "a\\x0d\\x0ab", id="crlf"),
        pytest.param("\x1b[31mred", "\\x1b[31mred", id="ansi"),
        pytest.param("a\x85b\x9b", "a\\x85b\\x9b", id="c1"),
        pytest.param("a\\x0d", "a\\\\x0d", id="backslash-doubled"),
        pytest.param("a\u2028b\u202e", "a\\u2028b\\u202e", id="separators-bidi"),
        pytest.param("a\u200bb\ufeff", "a\\u200bb\\ufeff", id="zero-width-bom"),
        pytest.param("a\ud800", "a\\ud800", id="lone-surrogate"),
        pytest.param(b"caf\xe9\n", "caf\xe9\\x0a", id="bytes-latin1"),
        pytest.param(42, "42", id="non-string"),
    ],
)
def test_escape(value: object, expected: str) -> None:
    assert escape(value) == expected


def test_truncation_says_how_much_was_cut() -> None:
    assert escape("x" * 250) == "x" * 200 + "...(50 more)"
    assert escape("\n" * 5, limit=2) == "\\x0a\\x0a...(3 more)"


@given(st.text())
def test_escaped_text_is_one_printable_line(value: str) -> None:
    line = escape(value, limit=50)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert all(ch.isprintable() or ch == " " for ch in line if ord(ch) < 0x100)
    line.encode("utf-8")  # no lone surrogates left to crash a handler
