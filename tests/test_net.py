from __future__ import annotations

import ipaddress
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsgi_flash._net import (
    NetworkSet,
    is_ip,
    is_valid_host,
    is_valid_port,
    mapped_spelling,
    parse_ip,
    split_host_port,
    strip_port,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("192.0.2.1", "192.0.2.1", id="ipv4"),
        pytest.param("2001:db8::1", "2001:db8::1", id="ipv6"),
        pytest.param("::ffff:192.0.2.1", "::ffff:192.0.2.1", id="ipv4-mapped"),
        pytest.param("fe80::1%eth0", None, id="zone-id"),
        pytest.param("01.2.3.4", None, id="leading-zero"),
        pytest.param("1.2.3", None, id="three-octets"),
        pytest.param("[::1]", None, id="brackets"),
        pytest.param(" 192.0.2.1", None, id="space"),
        pytest.param("", None, id="empty"),
        pytest.param("a" * 46, None, id="too-long"),
    ],
)
def test_parse_ip(value: str, expected: str | None) -> None:
    # Compared as addresses: str() of an IPv4-mapped one depends on the
    # Python version (3.13 writes ::ffff:192.0.2.1, older ::ffff:c000:201).
    ip = parse_ip(value)
    assert ip == (None if expected is None else ipaddress.ip_address(expected))
    assert is_ip(value) is (expected is not None)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("::ffff:192.0.2.1", "::ffff:192.0.2.1", id="dotted"),
        pytest.param("::ffff:c000:201", "::ffff:192.0.2.1", id="hex-before-3.13"),
        pytest.param("::FFFF:C000:0201", "::ffff:192.0.2.1", id="upper-case-zero-padded"),
        pytest.param("0:0:0:0:0:ffff:c000:201", "::ffff:192.0.2.1", id="expanded"),
        pytest.param("0::FfFf:192.0.2.1", "::ffff:192.0.2.1", id="mixed-case"),
        pytest.param("::ffff:0:0", "::ffff:0.0.0.0", id="lowest"),
        pytest.param("2001:DB8::1", "2001:DB8::1", id="other-v6-as-written"),
        pytest.param("::ffff:1:c000:201", "::ffff:1:c000:201", id="ffff-not-the-sixth-group"),
        pytest.param("64:ff9b::c000:201", "64:ff9b::c000:201", id="nat64-is-not-mapped"),
        pytest.param("::c000:201", "::c000:201", id="ipv4-compatible-is-not-mapped"),
        pytest.param("192.0.2.1", "192.0.2.1", id="ipv4"),
    ],
)
def test_mapped_spelling(address: str, expected: str) -> None:
    assert mapped_spelling(address) == expected


@settings(max_examples=300)
@given(st.ip_addresses(v=6, network="::ffff:0:0/96"))
def test_every_mapped_address_has_the_rfc_5952_spelling(ip: ipaddress.IPv6Address) -> None:
    expected = f"::ffff:{ip.ipv4_mapped}"
    low = int(ip) & 0xFFFFFFFF
    hexadecimal = f"::ffff:{low >> 16:x}:{low & 0xFFFF:x}"  # str() before Python 3.13
    for text in (str(ip), ip.exploded, ip.exploded.upper(), hexadecimal):
        assert mapped_spelling(text) == expected


@settings(max_examples=300)
@given(
    st.one_of(
        st.ip_addresses().map(str),
        st.lists(st.integers(0, 300).map(str), min_size=3, max_size=5).map(".".join),
        st.text("0123456789.:abcdef%", max_size=20),
    )
)
def test_is_ip_agrees_with_ipaddress(value: str) -> None:
    assert is_ip(value) is (parse_ip(value) is not None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1", True, id="one"),
        pytest.param("65535", True, id="max"),
        pytest.param("08080", True, id="leading-zero"),
        pytest.param("0", False, id="zero"),
        pytest.param("65536", False, id="too-big"),
        pytest.param("99999", False, id="five-nines"),
        pytest.param("+80", False, id="sign"),
        pytest.param(" 80", False, id="space"),
        pytest.param("٨٠", False, id="arabic-digits"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_valid_port(value: str, expected: bool) -> None:
    assert is_valid_port(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("example.com", ("example.com", None), id="name"),
        pytest.param("example.com:8080", ("example.com", "8080"), id="name-port"),
        pytest.param("192.0.2.1:80", ("192.0.2.1", "80"), id="ipv4-port"),
        pytest.param("[2001:db8::a]", ("[2001:db8::a]", None), id="ipv6"),
        pytest.param("[2001:db8::a]:443", ("[2001:db8::a]", "443"), id="ipv6-port"),
        pytest.param("xn--bcher-kva.example", ("xn--bcher-kva.example", None), id="punycode"),
        pytest.param("evil.com/path", None, id="slash"),
        pytest.param("evil.com?x", None, id="query"),
        pytest.param("evil.com#x", None, id="fragment"),
        pytest.param("user@evil.com", None, id="userinfo"),
        pytest.param("evil.com\\good.com", None, id="backslash"),
        pytest.param("evil .com", None, id="space"),
        pytest.param("evil.com\r\nX: y", None, id="crlf"),
        pytest.param("example.com:0", None, id="port-zero"),
        pytest.param("example.com:99999", None, id="port-too-big"),
        pytest.param("example.com:", None, id="empty-port"),
        pytest.param("[2001:db8::a", None, id="unclosed-bracket"),
        pytest.param("[192.0.2.1]", None, id="ipv4-in-brackets"),
        pytest.param("[v1.x]", None, id="ipvfuture"),
        pytest.param("2001:db8::a", None, id="ipv6-without-brackets"),
        pytest.param("", None, id="empty"),
    ],
)
def test_split_host_port(value: str, expected: tuple[str, str | None] | None) -> None:
    assert split_host_port(value) == expected
    assert is_valid_host(value) is (expected is not None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("192.0.2.1", "192.0.2.1", id="ipv4"),
        pytest.param("192.0.2.1:8080", "192.0.2.1", id="ipv4-port"),
        pytest.param("2001:db8::1", "2001:db8::1", id="ipv6-bare"),
        pytest.param("2001:db8::1:80", "2001:db8::1:80", id="ipv6-last-group-not-a-port"),
        pytest.param("[2001:db8::1]", "2001:db8::1", id="ipv6-brackets"),
        pytest.param("[2001:db8::1]:443", "2001:db8::1", id="ipv6-brackets-port"),
        pytest.param("::ffff:192.0.2.1", "::ffff:192.0.2.1", id="ipv4-mapped"),
        pytest.param("192.0.2.1:0", None, id="port-zero"),
        pytest.param("192.0.2.1:http", None, id="port-name"),
        pytest.param("[2001:db8::1]x", None, id="junk-after-bracket"),
        pytest.param("[192.0.2.1]", None, id="ipv4-in-brackets"),
        pytest.param("example.com:80", None, id="hostname-port"),
        pytest.param("unknown", None, id="unknown"),
        pytest.param("", None, id="empty"),
    ],
)
def test_strip_port(value: str, expected: str | None) -> None:
    assert strip_port(value) == expected


def _networks(*specs: str) -> NetworkSet:
    return NetworkSet(ipaddress.ip_network(spec) for spec in specs)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("10.1.2.3", True, id="in-v4"),
        pytest.param("11.0.0.1", False, id="outside-v4"),
        pytest.param("2001:db8:1::5", True, id="in-v6"),
        pytest.param("2001:db9::1", False, id="outside-v6"),
        pytest.param("::ffff:10.0.0.1", True, id="ipv4-mapped-matches-v4"),
        pytest.param("::ffff:11.0.0.1", False, id="ipv4-mapped-outside"),
        pytest.param("10.1.2.3:80", False, id="with-port-is-not-an-address"),
        pytest.param("", False, id="empty"),
        pytest.param("garbage", False, id="garbage"),
    ],
)
def test_network_set(address: str, expected: bool) -> None:
    networks = _networks("10.0.0.0/8", "2001:db8::/32")
    assert (address in networks) is expected
    # The remembered answer is the same answer, and the hot path's too.
    assert (address in networks) is expected
    assert networks.contains(address) is expected


def test_network_set_refuses_non_strings() -> None:
    networks = _networks("0.0.0.0/0")
    assert None not in networks
    assert b"10.0.0.1" not in networks


def test_network_set_memory_is_bounded() -> None:
    """Answers are remembered, but 20,000 different addresses leave no more
    than ``cache_size`` of them behind, and long text none at all."""
    networks = NetworkSet([ipaddress.ip_network("10.0.0.0/8")], cache_size=8)
    tracemalloc.start()
    try:
        for n in range(20_000):
            assert f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" in networks
            assert f"{n}" * 1000 not in networks
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert retained < 8 * 500


def test_network_set_describes_its_networks() -> None:
    networks = _networks("192.0.2.0/24", "2001:db8::/32")
    for _ in range(2):  # computed, then remembered
        assert "192.0.2.9" in networks
        assert "198.51.100.1" not in networks
    assert len(networks) == 2
    assert list(networks) == [
        ipaddress.ip_network("192.0.2.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    assert networks == _networks("2001:db8::/32", "192.0.2.0/24")
    assert networks != _networks("192.0.2.0/24")
    assert repr(networks) == "NetworkSet(['192.0.2.0/24', '2001:db8::/32'])"
    assert [] not in networks
