"""The flash cookie payload: ``dump`` writes what the stdlib JSON encoder
writes, and ``parse`` reads it back, refusing anything else."""

from __future__ import annotations

import json
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from wsgi_flash.messages._payload import Message, dump, parse
from wsgi_flash.messages._signing import InvalidToken


def stdlib_json(messages: list[Message]) -> bytes:
    """The payload as json.dumps writes it with the codec's settings."""
    rows = [[c, str(m), 1] if isinstance(m, Markup) else [c, m] for c, m in messages]
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=True, sort_keys=True)
    return text.encode("ascii")


# Any text, lone surrogates and control characters included; values as
# flash() accepts them (finite floats only).
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(st.tuples(text, text), max_size=5))
def test_str_messages_dump_as_the_stdlib_encoder_writes_them(messages: list[Message]) -> None:
    assert dump(messages) == stdlib_json(messages)
    assert parse(dump(messages)) == messages


@given(st.lists(st.tuples(text, json_values | text.map(Markup)), max_size=4))
def test_other_values_dump_as_the_stdlib_encoder_writes_them(messages: list[Message]) -> None:
    assert dump(messages) == stdlib_json(messages)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b'[["a","b"]]', [("a", "b")], id="compact"),
        pytest.param(b' [ ["a", "b"] ]\n', [("a", "b")], id="whitespace-around"),
        pytest.param(b'[["a","<b>",1]]', [("a", Markup("<b>"))], id="markup"),
        pytest.param(b"[]", [], id="empty"),
    ],
)
def test_parse_reads_json(payload: bytes, expected: list[Message]) -> None:
    assert parse(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'[["a","b"]]x', id="trailing-data"),
        pytest.param(b'[["a","b"]][]', id="second-value"),
        pytest.param(b'[["a","b"]', id="truncated"),
        pytest.param(b"x", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff", id="not-utf-8"),
        pytest.param(b'{"a":"b"}', id="object"),
        pytest.param(b'[["a"]]', id="no-message"),
        pytest.param(b'[[1,"b"]]', id="category-not-str"),
        pytest.param(b'[["a","b",2]]', id="bad-marker"),
        pytest.param(b"[" * 100_000, id="deep"),
    ],
)
def test_parse_refuses_anything_else(payload: bytes) -> None:
    with pytest.raises(InvalidToken):
        parse(payload)


def test_dump_reads_back_every_value_kind() -> None:
    messages: list[tuple[str, t.Any]] = [
        ("info", "plain"),
        ("html", Markup("<b>bold</b>")),
        ("data", {"b": [1, 2.5, None, True], "a": "x"}),
    ]
    assert parse(dump(messages)) == messages
