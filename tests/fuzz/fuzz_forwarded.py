"""Fuzz target: the RFC 7239 ``Forwarded`` parser and ProxyFix reading it
=======================================================================

The input, decoded as latin-1 like every WSGI header value, is a
``Forwarded`` value. Checked for every input:

- :func:`parse_forwarded` returns at most 64 elements of lower-case token
  names and values a proxy could have written, or a one-line reason;
- reading from the right (what the package does) decides exactly as an
  independent left-to-right reading of the RFC grammar written here, and
  writing the elements back out with every value quoted parses to the same
  elements;
- whatever the input, followed by two elements a proxy appended, the two
  elements read from the right are the appended ones;
- :func:`node_address` never returns an address for ``unknown`` or an
  ``_obfuscated`` node, and every address it returns is an IP address;
- behind :class:`ProxyFix`, the app only ever sees an IP address as
  ``REMOTE_ADDR``, ``http`` or ``https`` as the scheme, and a Host without
  ``/ ? # @ \\``, spaces or controls.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

import _harness

from wsgi_flash.proxy_fix import ProxyFix
from wsgi_flash.proxy_fix._forwarded import (
    MAX_ELEMENTS,
    MAX_LENGTH,
    forwarded_from_right,
    node_address,
    parse_forwarded,
)

TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# What a quoted-string can carry once unquoted: HTAB, SP, VCHAR, obs-text.
QUOTABLE = frozenset(
    "\t" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x80, 0x100)))
)
UNSAFE_IN_HOST = re.compile(r"[/?#@\\\s\x00-\x1f\x7f-\x9f]")
# RFC 7239 and RFC 9110, left to right: one optional pair and the separator
# after it, with optional blanks around; qdtext and quoted-pair as written.
TCHAR = "!#$%&'*+.^_`|~0-9A-Za-z-"
FORWARD_PAIR = re.compile(
    rf"[ \t]*(?:([{TCHAR}]+)=(?:([{TCHAR}]+)"
    r'|"((?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*)"'
    r")[ \t]*)?([;,]|\Z)"
)
APPENDED = ', for="[2001:db8::7]:443";proto=https, for=10.0.0.2'
APPENDED_ELEMENTS = [{"for": "10.0.0.2"}, {"for": "[2001:db8::7]:443", "proto": "https"}]
PEER = "127.0.0.1"
HOST = "origin.test"

seen: list[dict[str, t.Any]] = []


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    seen.append(dict(environ))
    start_response("204 No Content", [])
    return []


# One proxy, trusted blindly; three hops behind trusted loopback proxies.
PROXIES = (
    ProxyFix(app, forwarded=1),
    ProxyFix(app, forwarded=3, trusted_proxies=["loopback", "10.0.0.0/8"]),
)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_left_to_right(value: str) -> list[dict[str, str]] | None:
    """The whole value's elements, leftmost first, or None if any part
    breaks the grammar or repeats a parameter in an element."""
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    position = 0
    while True:
        found = FORWARD_PAIR.match(value, position)
        if found is None:
            return None
        name, token, quoted, separator = found.groups()
        if name is not None:
            name = name.lower()
            if name in element:
                return None
            element[name] = token if token is not None else re.sub(r"\\(.)", r"\1", quoted)
        if separator != ";":
            if element:
                elements.append(element)
                element = {}
            if not separator:
                return elements
        position = found.end()


def check_node(node: str) -> None:
    address, valid = node_address(node)
    # "unknown" and "_name", with or without a port, name a hop and hide it.
    hidden = node[:1] == "_" or node[:7].lower() == "unknown"
    if address is None:
        assert hidden or not valid, node
        bare = node[1:-1] if node[:1] == "[" and node[-1:] == "]" else node
        if "%" not in bare and not hidden:
            try:
                ip = ipaddress.ip_address(bare)
            except ValueError:
                return
            # An address in a form the RFC allows (IPv6 in brackets, IPv4
            # without) must have been read.
            assert (ip.version == 6) == (bare == node), f"{node!r} was not read as an address"
        return
    assert valid, node
    assert not hidden, f"{node!r} hides its address but gave {address!r}"
    assert "%" not in address, address
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        # One spelling, whatever the node's (RFC 5952, section 5).
        assert address == f"::ffff:{ip.ipv4_mapped}", (node, address)
        written = node[1 : node.index("]")]
        assert ipaddress.ip_address(written) == ip, (node, address)
    else:
        assert node == address or node.startswith((f"[{address}]", f"{address}:")), (node, address)


def check_parse(value: str) -> None:
    elements = parse_forwarded(value)
    if isinstance(elements, str):
        assert elements and elements.isascii() and elements.isprintable(), elements
        if len(value) <= MAX_LENGTH:
            expected = read_left_to_right(value)
            assert expected is None or len(expected) > MAX_ELEMENTS, (value, elements)
        return
    assert len(value) <= MAX_LENGTH
    assert len(elements) <= MAX_ELEMENTS
    assert read_left_to_right(value) == elements, value
    for element in elements:
        assert element, elements
        for name, parameter in element.items():
            assert name and set(name) <= TCHARS and name == name.lower(), name
            assert set(parameter) <= QUOTABLE, parameter
            if name in ("for", "by"):
                check_node(parameter)
    # The same elements, every value quoted, must read back the same.
    written = ", ".join(
        ";".join(f"{name}={quote(parameter)}" for name, parameter in element.items())
        for element in elements
    )
    if len(written) <= MAX_LENGTH:
        assert parse_forwarded(written) == elements, (value, written)


def check_left_never_matters(value: str) -> None:
    read = []
    for element in forwarded_from_right(value + APPENDED):
        read.append(element)
        if len(read) == len(APPENDED_ELEMENTS):
            break
    assert read == APPENDED_ELEMENTS, (value, read)


def check_proxy_fix(value: str) -> None:
    for proxy in PROXIES:
        seen.clear()
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/",
            "SCRIPT_NAME": "",
            "REMOTE_ADDR": PEER,
            "HTTP_HOST": HOST,
            "SERVER_NAME": "origin.test",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "HTTP_FORWARDED": value,
        }
        assert list(proxy(environ, lambda status, headers, exc_info=None: None)) == []
        (got,) = seen
        remote = got["REMOTE_ADDR"]
        assert isinstance(remote, str)
        chain = got["wsgi_flash.proxy_fix.chain"]
        assert isinstance(chain, list) and len(chain) <= MAX_ELEMENTS
        if remote != PEER:
            ipaddress.ip_address(remote)
            assert any(node_address(hop.get("for", ""))[0] == remote for hop in chain), remote
        assert got["wsgi.url_scheme"] in ("http", "https"), got["wsgi.url_scheme"]
        host = got["HTTP_HOST"]
        assert isinstance(host, str)
        if host != HOST:
            assert any(hop.get("host") == host for hop in chain) and host.isascii(), host
            assert UNSAFE_IN_HOST.search(host) is None, (value, host)
            port = got["SERVER_PORT"]
            assert isinstance(port, str) and port.isdigit() and 0 < int(port) < 65536, port


def fuzz_one_input(data: bytes) -> None:
    value = data.decode("latin-1")
    check_parse(value)
    check_left_never_matters(value)
    check_proxy_fix(value)
    _harness.LOG.take()


if __name__ == "__main__":
    _harness.main(fuzz_one_input, "forwarded")
