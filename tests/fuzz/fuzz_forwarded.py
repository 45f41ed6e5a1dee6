"""Fuzz target: the RFC 7239 ``Forwarded`` parser and ProxyFix reading it
=======================================================================

The input, decoded as latin-1 like every WSGI header value, is a
``Forwarded`` value. Checked for every input:

- :func:`parse_forwarded` returns at most 64 elements of lower-case token
  names and values a proxy could have written, or a one-line reason;
- its unquoted fast path and its general scanner agree, and writing the
  elements back out with every value quoted parses to the same elements;
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

from wsgi_flash import _forwarded
from wsgi_flash._forwarded import MAX_ELEMENTS, MAX_LENGTH, node_address, parse_forwarded
from wsgi_flash.proxy_fix import ProxyFix

TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# What a quoted-string can carry once unquoted: HTAB, SP, VCHAR, obs-text.
QUOTABLE = frozenset(
    "\t" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x80, 0x100)))
)
UNSAFE_IN_HOST = re.compile(r"[/?#@\\\s\x00-\x1f\x7f-\x9f]")
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
    ipaddress.ip_address(address)
    assert node == address or node.startswith((f"[{address}]", f"{address}:")), (node, address)


def check_parse(value: str) -> None:
    elements = parse_forwarded(value)
    if isinstance(elements, str):
        assert elements and elements.isascii() and elements.isprintable(), elements
        if len(value) > MAX_LENGTH:
            assert elements == f"longer than {MAX_LENGTH} characters"
        return
    assert len(value) <= MAX_LENGTH
    assert len(elements) <= MAX_ELEMENTS
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


def check_paths_agree(value: str) -> None:
    if len(value) > MAX_LENGTH or _forwarded._UNQUOTED.match(value) is None:
        return
    fast = _forwarded._parse_unquoted(value)
    general = _forwarded._scan(value)
    if isinstance(fast, str) or isinstance(general, str):
        assert isinstance(fast, str) and isinstance(general, str), (value, fast, general)
    else:
        assert fast == general, (value, fast, general)


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
    check_paths_agree(value)
    check_proxy_fix(value)
    _harness.LOG.take()


if __name__ == "__main__":
    _harness.main(fuzz_one_input, "forwarded")
