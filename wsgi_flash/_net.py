"""Addresses, hosts and ports
============================

Validation shared by the proxy fix and the malformed-request logger. Every
function takes untrusted text and returns a verdict; none raises.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# RFC 3986 reg-name: unreserved / pct-encoded / sub-delims. No "/ ? # @ \",
# spaces or controls, which are what host poisoning relies on.
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")


def parse_ip(value: str) -> IPAddress | None:
    """Return the address in ``value`` (IPv4, or IPv6 without brackets), or
    None if it is not exactly one address. Zone ids (``fe80::1%eth0``) are
    refused: they mean nothing beyond the proxy that saw them."""
    if not value or len(value) > 45 or "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_valid_port(value: str) -> bool:
    """True for a decimal port 1-65535 with no sign, space or leading
    garbage."""
    return _PORT.match(value) is not None and 0 < int(value) <= 65535


def split_host_port(value: str) -> tuple[str, str | None] | None:
    """Split an RFC 3986 ``host[:port]`` (bracketed IPv6 included) into host
    and port, or return None if it is not one.

    .. code-block:: python

        >>> split_host_port("[::1]:8080")
        ('[::1]', '8080')
        >>> split_host_port("evil.com/path") is None
        True
    """
    if not value or len(value) > 260:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        host, rest = value[: end + 1], value[end + 1 :]
        literal = host[1:-1]
        if literal.startswith(("v", "V")) or parse_ip(literal) is None or ":" not in literal:
            return None
        if not rest:
            return host, None
        if rest[0] != ":" or not is_valid_port(rest[1:]):
            return None
        return host, rest[1:]
    host, sep, port = value.partition(":")
    if not host or _REG_NAME.match(host) is None:
        return None
    if not sep:
        return host, None
    if not is_valid_port(port):
        return None
    return host, port


def is_valid_host(value: str) -> bool:
    """True if ``value`` is an RFC 3986 ``host[:port]`` with a port in
    1-65535 (see :func:`split_host_port`)."""
    return split_host_port(value) is not None
