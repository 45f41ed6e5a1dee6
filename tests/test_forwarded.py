from __future__ import annotations

import itertools
import time
import tracemalloc
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsgi_flash._net import is_ip, is_valid_host, is_valid_port
from wsgi_flash.proxy_fix._forwarded import (
    BEYOND,
    MAX_ELEMENTS,
    MAX_LENGTH,
    client_address,
    forwarded_from_right,
    is_host,
    last_items,
    node_address,
    parse_forwarded,
    pick,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            'for="_gazonk"',
            [{"for": "_gazonk"}],
            id="rfc-obfuscated",
        ),
        pytest.param(
            'For="[2001:db8:cafe::17]:4711"',
            [{"for": "[2001:db8:cafe::17]:4711"}],
            id="rfc-ipv6-port-name-case",
        ),
        pytest.param(
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            [{"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}],
            id="rfc-pairs",
        ),
        pytest.param(
            "for=192.0.2.43, for=198.51.100.17",
            [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}],
            id="rfc-two-elements",
        ),
        pytest.param(
            "FOR=192.0.2.1;PROTO=https;HoSt=example.com",
            [{"for": "192.0.2.1", "proto": "https", "host": "example.com"}],
            id="names-case-insensitive",
        ),
        pytest.param(
            'for=192.0.2.1;host="a,b;c=d"',
            [{"for": "192.0.2.1", "host": "a,b;c=d"}],
            id="separators-inside-quotes",
        ),
        pytest.param(
            r'for="\"x\\y\z"',
            [{"for": '"x\\yz'}],
            id="quoted-pair-escapes",
        ),
        pytest.param(
            'for=""',
            [{"for": ""}],
            id="empty-quoted-string",
        ),
        pytest.param(
            "for=192.0.2.1,for=192.0.2.2",
            [{"for": "192.0.2.1"}, {"for": "192.0.2.2"}],
            id="lines-joined-by-server-without-space",
        ),
        pytest.param(
            " for=192.0.2.1 ; proto=https ,\tfor=192.0.2.2 ",
            [{"for": "192.0.2.1", "proto": "https"}, {"for": "192.0.2.2"}],
            id="whitespace-around-separators",
        ),
        pytest.param(
            "for=192.0.2.1, , ,for=192.0.2.2,",
            [{"for": "192.0.2.1"}, {"for": "192.0.2.2"}],
            id="empty-elements-skipped",
        ),
        pytest.param(
            "for=192.0.2.1;;proto=http;",
            [{"for": "192.0.2.1", "proto": "http"}],
            id="empty-pairs-allowed",
        ),
        pytest.param(
            'for="192.0.2.1";proto="https"',
            [{"for": "192.0.2.1", "proto": "https"}],
            id="quoted-tokens",
        ),
        pytest.param("", [], id="empty"),
        pytest.param("  ,  ", [], id="only-separators"),
    ],
)
def test_parse_forwarded(value: str, expected: list[dict[str, str]]) -> None:
    assert parse_forwarded(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param('for="192.0.2.1', "malformed", id="unbalanced-quote"),
        pytest.param('for=192.0.2.1"', "malformed", id="stray-quote"),
        pytest.param('for="a\\"', "malformed", id="escaped-closing-quote"),
        pytest.param("for=192.0.2.1;for=192.0.2.2", "repeated", id="duplicate-for"),
        pytest.param('for=192.0.2.1;FOR="192.0.2.2"', "repeated", id="duplicate-case"),
        pytest.param("for=[2001:db8::1]", "malformed", id="ipv6-unquoted"),
        pytest.param("for=192.0.2.1:80", "malformed", id="port-unquoted"),
        pytest.param("for = 192.0.2.1", "malformed", id="space-around-equals"),
        pytest.param("for=192.0.2.1 proto=http", "malformed", id="missing-separator"),
        pytest.param("for", "malformed", id="name-without-value"),
        pytest.param("for=", "malformed", id="empty-token"),
        pytest.param("=192.0.2.1", "malformed", id="value-without-name"),
        pytest.param("for=a=b", "malformed", id="two-equals"),
        pytest.param('for="a\r\nb"', "malformed", id="control-in-quotes"),
        pytest.param("for=a\x00b", "malformed", id="nul"),
        pytest.param("for=é", "malformed", id="non-ascii-token"),
        pytest.param(", ".join(["for=192.0.2.1"] * 10_000), "more than 64", id="10000-elements"),
        pytest.param(", ".join(["for=1.2.3.4"] * 65), "more than 64", id="65-elements"),
        pytest.param(", ".join(['for="1.2.3.4"'] * 65), "more than 64", id="65-quoted-elements"),
        pytest.param("for=" + "a" * MAX_LENGTH, "not within the last 8192", id="over-8-kib"),
    ],
)
def test_malformed_forwarded_is_refused_whole(value: str, reason: str) -> None:
    # parse_forwarded is the strict reading of a whole value; ProxyFix reads
    # only the elements it uses (below).
    result = parse_forwarded(value)
    assert isinstance(result, str)
    assert reason in result


@pytest.mark.parametrize(
    "left",
    [
        pytest.param('for="192.0.2.1', id="unbalanced-quote"),
        pytest.param("for=192.0.2.1;for=192.0.2.2", id="duplicate-for"),
        pytest.param("for=[2001:db8::1]", id="ipv6-unquoted"),
        pytest.param("for = 192.0.2.1", id="space-around-equals"),
        pytest.param("for=a\x00b", id="nul"),
        pytest.param('for="a\\"', id="escaped-closing-quote"),
        pytest.param(", ".join(["for=1.2.3.4"] * 10_000), id="10000-elements"),
        pytest.param("for=" + "a" * 100_000, id="100-kb"),
        pytest.param('\x00\x01\x02"', id="controls"),
    ],
)
def test_what_lies_left_never_changes_the_elements_read(left: str) -> None:
    # A proxy appended ", <its element>" to what the client sent.
    value = left + ', for="[2001:db8::7]:443";proto=https, for=10.0.0.2'
    read = list(itertools.islice(forwarded_from_right(value), 2))
    assert read == [{"for": "10.0.0.2"}, {"for": "[2001:db8::7]:443", "proto": "https"}]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param('for="192.0.2.1, for=10.0.0.2', "malformed", id="quote-opened-right"),
        pytest.param("for=10.0.0.2;for=10.0.0.3", "repeated", id="duplicate"),
        pytest.param("for=" + "1" * MAX_LENGTH, "not within the last 8192", id="too-long"),
        pytest.param("," * (MAX_LENGTH + 1), "not within the last 8192", id="only-commas"),
    ],
)
def test_unreadable_element_is_a_reason_and_ends_the_reading(value: str, reason: str) -> None:
    *elements, last = forwarded_from_right(value)
    assert isinstance(last, str) and reason in last
    assert all(isinstance(element, dict) for element in elements)


_CLIENT_TEXT = st.text(st.characters(max_codepoint=0xFF), max_size=60)


@settings(max_examples=300)
@given(
    _CLIENT_TEXT,
    st.lists(
        st.dictionaries(
            st.sampled_from(["for", "by", "proto", "host"]),
            st.text("abcxyz0123456789.-_", min_size=1, max_size=8),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_client_text_never_changes_the_appended_elements(
    client: str, appended: list[dict[str, str]]
) -> None:
    value = client + "".join(
        ", " + ";".join(f'{name}="{text}"' for name, text in element.items())
        for element in appended
    )
    read = list(itertools.islice(forwarded_from_right(value), len(appended)))
    assert read == appended[::-1]


@pytest.mark.parametrize(
    ("value", "count", "expected"),
    [
        pytest.param("192.0.2.1", 1, ["192.0.2.1"], id="one"),
        pytest.param(" 192.0.2.1\t", 1, ["192.0.2.1"], id="blanks"),
        pytest.param("a, b,c", 2, ["c", "b"], id="two-of-three"),
        pytest.param("a, b,c", 5, ["c", "b", "a"], id="fewer"),
        pytest.param("a, , ,\t,b,", 2, ["b", "a"], id="empty-items-skipped"),
        pytest.param(" , ", 1, [], id="only-blanks"),
        pytest.param("", 1, [], id="empty"),
        pytest.param('"a, b"', 2, ['b"', '"a'], id="quotes-not-special"),
        pytest.param("x" * 100_000 + ", 192.0.2.1", 1, ["192.0.2.1"], id="long-left-part"),
        pytest.param("x" * 100_000 + ", 192.0.2.1", 2, ["192.0.2.1", BEYOND], id="needed-beyond"),
        pytest.param("," * 100_000 + "192.0.2.1", 2, ["192.0.2.1", BEYOND], id="commas-beyond"),
        pytest.param("1" * (MAX_LENGTH + 1), 1, [BEYOND], id="one-item-too-long"),
        pytest.param("1" * MAX_LENGTH, 1, ["1" * MAX_LENGTH], id="one-item-at-the-limit"),
    ],
)
def test_last_items(value: str, count: int, expected: list[str]) -> None:
    assert last_items(value, count) == expected


@settings(max_examples=300)
@given(st.text(" \t,ab1.", max_size=40), st.integers(1, 5))
def test_last_items_is_werkzeugs_split_from_the_right(value: str, count: int) -> None:
    items = [item.strip(" \t") for item in value.split(",") if item.strip(" \t")]
    assert last_items(value, count) == items[::-1][:count]
    assert pick(value, count) == (items[-count] if len(items) >= count else None)


def test_beyond_passes_no_validation() -> None:
    # ProxyFix hands BEYOND to the same validation as any value, which must
    # refuse it so that it is logged and never applied.
    assert not is_ip(BEYOND) and client_address(BEYOND) == ""
    assert not is_valid_host(BEYOND) and not is_valid_port(BEYOND)
    assert not BEYOND.startswith("/") and BEYOND.lower() not in ("http", "https")


def test_64_elements_are_accepted() -> None:
    value = ", ".join(f"for=10.0.0.{n}" for n in range(MAX_ELEMENTS))
    result = parse_forwarded(value)
    assert isinstance(result, list)
    assert len(result) == 64
    assert result[-1] == {"for": "10.0.0.63"}


def test_obs_text_is_allowed_in_quotes() -> None:
    # WSGI servers hand header bytes over as latin-1 text.
    assert parse_forwarded('host="caf\xe9"') == [{"host": "caf\xe9"}]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('for="' + "\\" * (MAX_LENGTH - 6), id="backslashes"),
        pytest.param("for=" + "a" * (MAX_LENGTH - 5) + " ", id="long-token-then-space"),
        pytest.param(";" * MAX_LENGTH, id="semicolons"),
        pytest.param(" " * (MAX_LENGTH - 1) + "x", id="spaces-then-garbage"),
        pytest.param('for="' + "\\a" * (MAX_LENGTH // 2 - 4), id="escapes-unclosed"),
        pytest.param("a=b;" * (MAX_LENGTH // 4 - 1) + "x", id="many-pairs-then-garbage"),
        # Read from the right, the same shapes reversed.
        pytest.param("\\" * (MAX_LENGTH - 6) + '"', id="backslashes-before-quote"),
        pytest.param("a\\" * (MAX_LENGTH // 2 - 1) + '"', id="pairs-unopened"),
        pytest.param('x="' + '\\"' * (MAX_LENGTH // 2 - 3) + '"', id="escaped-quotes"),
        pytest.param("x;b=a" * (MAX_LENGTH // 5), id="garbage-then-many-pairs"),
        pytest.param(" " + "\t" * (MAX_LENGTH - 1), id="tabs"),
        pytest.param("x" * 1_000_000, id="one-megabyte"),
    ],
)
def test_hostile_input_is_answered_in_linear_time(value: str) -> None:
    # A backtracking blow-up on 8 KiB would take seconds to hours; a linear
    # pass takes well under a millisecond. The bound is loose for a busy box.
    start = time.perf_counter()
    for _ in range(10):
        parse_forwarded(value)
        last_items(value, MAX_ELEMENTS)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        pytest.param("192.0.2.60", ("192.0.2.60", True), id="ipv4"),
        pytest.param("192.0.2.60:8080", ("192.0.2.60", True), id="ipv4-port"),
        pytest.param("192.0.2.60:_abc", ("192.0.2.60", True), id="ipv4-obfuscated-port"),
        pytest.param("[2001:db8::17]", ("2001:db8::17", True), id="ipv6"),
        pytest.param("[2001:db8::17]:4711", ("2001:db8::17", True), id="ipv6-port"),
        pytest.param("[::ffff:192.0.2.1]", ("::ffff:192.0.2.1", True), id="ipv4-mapped"),
        pytest.param("unknown", (None, True), id="unknown"),
        pytest.param("UNKNOWN", (None, True), id="unknown-upper"),
        pytest.param("unknown:80", (None, True), id="unknown-port"),
        pytest.param("_gazonk", (None, True), id="obfuscated"),
        pytest.param("_hidden.proxy-1", (None, True), id="obfuscated-punctuation"),
        pytest.param("2001:db8::17", (None, False), id="ipv6-without-brackets"),
        pytest.param("[192.0.2.1]", (None, False), id="ipv4-in-brackets"),
        pytest.param("[fe80::1%eth0]", (None, False), id="zone-id"),
        pytest.param("example.com", (None, False), id="hostname"),
        pytest.param("192.0.2.256", (None, False), id="octet-too-big"),
        pytest.param("01.2.3.4", (None, False), id="leading-zero"),
        pytest.param("192.0.2.1:123456", (None, False), id="port-six-digits"),
        pytest.param("_", (None, False), id="bare-underscore"),
        pytest.param("", (None, False), id="empty"),
        pytest.param("192.0.2.1\n", (None, False), id="trailing-newline"),
    ],
)
def test_node_address(node: str, expected: tuple[str | None, bool]) -> None:
    assert node_address(node) == expected


_TOKEN = st.text("abcxyz0123456789.-_", min_size=1, max_size=8)
_QUOTED = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=150)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["for", "by", "proto", "host", "x-ext"]),
            st.one_of(_TOKEN, _QUOTED),
            min_size=1,
            max_size=4,
        ),
        max_size=6,
    ),
    st.sampled_from([",", ", ", " ,\t"]),
)
def test_round_trip(elements: list[dict[str, str]], comma: str) -> None:
    value = comma.join(
        ";".join(f"{name}={_quote(text)}" for name, text in element.items()) for element in elements
    )
    assert parse_forwarded(value) == elements


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_text_gives_elements_or_a_reason(value: str) -> None:
    result = parse_forwarded(value)
    assert isinstance(result, (list, str))


def _retained_after(calls: t.Callable[[], object]) -> int:
    """Bytes still allocated after ``calls()`` ran (what a cache kept)."""
    tracemalloc.start()
    try:
        calls()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_many_distinct_hosts_keep_memory_bounded() -> None:
    """is_host remembers its verdicts, but 30,000 different 250-character
    hosts (7.5 MB of text) leave at most 1,024 of them behind."""

    def ask() -> None:
        for n in range(30_000):
            assert is_host(f"{n:0>250}.example"[-250:])

    assert _retained_after(ask) < 1024 * 400


def test_long_values_are_not_remembered() -> None:
    def ask() -> None:
        for n in range(20):
            assert not is_host(f"{n}" + "b" * 100_000)
            assert node_address(f"_{n}" + "a" * 100_000) == (None, True)
            assert client_address(f"{n}" + "1" * 100_000) == ""

    assert _retained_after(ask) < 100_000


def test_remembered_answers_are_the_computed_answers() -> None:
    assert node_address("192.0.2.77:443") == node_address("192.0.2.77:443") == ("192.0.2.77", True)
    assert client_address("192.0.2.77:443") == "192.0.2.77"
    assert client_address("192.0.2.77:443") == "192.0.2.77"
    assert client_address("nope") == ""
    for _ in range(2):  # computed, then remembered
        assert is_host("good.example:8080") is True
        assert is_host("evil.example/path") is False
