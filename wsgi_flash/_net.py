"""Addresses, hosts and ports
============================

Validation shared by the proxy fix and the malformed-request logger. Every
function takes untrusted text and returns a verdict; none raises.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ._cache import BoundedCache

IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: Networks behind the names :func:`parse_networks` accepts.
NAMED_NETWORKS: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}

# RFC 3986 reg-name: unreserved / pct-encoded / sub-delims. No "/ ? # @ \",
# spaces or controls, which are what host poisoning relies on.
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Dotted-quad IPv4 without leading zeros, as ipaddress accepts it; a regex is
# ten times faster than building an address object just to say yes.
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")
# "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest address text.
_LONGEST_ADDRESS = 45


def parse_ip(value: str) -> IPAddress | None:
    """Return the address in ``value`` (IPv4, or IPv6 without brackets), or
    None if it is not exactly one address. Zone ids (``fe80::1%eth0``) are
    refused: they mean nothing beyond the proxy that saw them."""
    if not value or len(value) > _LONGEST_ADDRESS or "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def mapped_spelling(address: str) -> str:
    """``address`` (IP address text) as it is handed to the app: as written,
    except that an IPv4-mapped IPv6 address is always spelled
    ``::ffff:a.b.c.d``, lower-case, the form RFC 5952 (section 5)
    recommends and Python 3.13's :mod:`ipaddress` writes (older ones write
    ``::ffff:c000:201``). So one client has one spelling whatever the proxy
    and the Python version.

    .. code-block:: python

        >>> mapped_spelling("::FFFF:C000:201"), mapped_spelling("2001:DB8::1")
        ('::ffff:192.0.2.1', '2001:DB8::1')
    """
    # Every spelling of ::ffff:0:0/96 has "ffff" as its sixth group.
    if "ffff" not in address.lower():
        return address
    ip = parse_ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return address


def is_ip(value: str) -> bool:
    """True if :func:`parse_ip` would return an address, answered quickly
    for IPv4."""
    return _IPV4.match(value) is not None or (":" in value and parse_ip(value) is not None)


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


def strip_port(value: str) -> str | None:
    """Return the address in ``ip``, ``ipv4:port``, ``[ipv6]`` or
    ``[ipv6]:port``, without brackets or port, or None if ``value`` is none
    of these. A bare IPv6 address is returned whole: its last group is never
    read as a port.

    .. code-block:: python

        >>> strip_port("[2001:db8::1]:443")
        '2001:db8::1'
        >>> strip_port("192.0.2.1:8080")
        '192.0.2.1'
    """
    if is_ip(value):
        return value
    if value.startswith("["):
        literal, bracket, rest = value[1:].partition("]")
        if not bracket or ":" not in literal or parse_ip(literal) is None:
            return None
        if rest and (rest[0] != ":" or not is_valid_port(rest[1:])):
            return None
        return literal
    address, colon, port = value.partition(":")
    if colon and _IPV4.match(address) is not None and is_valid_port(port):
        return address
    return None


class NetworkSet:
    """A fixed set of IPv4 and IPv6 networks that answers, for address text,
    ``address in networks``: True if it is an address in one of them.

    ``len``, ``==``, iteration and ``repr`` describe the networks. Answers
    are remembered in a :class:`~wsgi_flash._cache.BoundedCache` of
    ``cache_size`` entries, because a proxy's address repeats on every
    request and :mod:`ipaddress` costs thousands of instructions; text
    longer than an address is answered without being remembered. For hot
    paths, ``networks.contains(text)`` gives the same answer for a str as
    one C call when it is remembered (``in`` costs a Python call).

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) is matched as the
    IPv4 address it carries, so a dual-stack listener's view of an IPv4 peer
    is trusted exactly like the peer itself. Text that is not an address,
    and anything that is not text, is never in the set.

    :param networks: the networks to match.
    :param cache_size: how many answers to remember.

    .. code-block:: python

        >>> proxies = NetworkSet(parse_networks(["loopback", "10.0.0.0/8"], "proxies"))
        >>> "10.1.2.3" in proxies, "::ffff:127.0.0.1" in proxies, "192.0.2.1" in proxies
        (True, True, False)
        >>> len(proxies), proxies.contains("127.0.0.2")
        (3, True)
    """

    __slots__ = ("_answers", "_v4", "_v6", "contains", "networks")

    def __init__(self, networks: t.Iterable[IPNetwork], cache_size: int = 1024) -> None:
        self.networks = tuple(networks)
        self._v4 = tuple(
            (int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 4
        )
        self._v6 = tuple(
            (int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 6
        )
        answers = BoundedCache(cache_size, _LONGEST_ADDRESS, compute=self._match)
        self._answers: BoundedCache[str, bool] = answers
        self.contains: t.Callable[[str], bool] = answers.__getitem__

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and self._answers[address]

    def __len__(self) -> int:
        return len(self.networks)

    def __iter__(self) -> t.Iterator[IPNetwork]:
        return iter(self.networks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkSet):
            return NotImplemented
        return set(self.networks) == set(other.networks)

    def __hash__(self) -> int:
        return hash(frozenset(self.networks))

    def __repr__(self) -> str:
        return f"NetworkSet({[str(n) for n in self.networks]!r})"

    def _match(self, address: str) -> bool:
        ip = parse_ip(address)
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        number = int(ip)
        ranges = self._v4 if ip.version == 4 else self._v6
        return any(number & mask == network for network, mask in ranges)


def parse_networks(specs: t.Iterable[object], option: str) -> list[IPNetwork]:
    """Turn a configured list of addresses, CIDR networks (IPv4 or IPv6, as
    text or :mod:`ipaddress` objects) and :data:`NAMED_NETWORKS` names into
    networks, raising :exc:`TypeError`/:exc:`ValueError` that name
    ``option`` and say how to fix it."""
    if isinstance(specs, (str, bytes)):
        raise TypeError(
            f"{option} must be a list of addresses, networks or names, not a single"
            f" string; write {option}=[{specs!r}]"
        )
    networks: list[IPNetwork] = []
    for spec in specs:
        if isinstance(spec, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(spec)
        elif isinstance(spec, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            networks.append(ipaddress.ip_network(spec))
        elif not isinstance(spec, str):
            raise TypeError(
                f"{option} entries must be strings such as '10.0.0.0/8', '::1' or"
                f" 'loopback', not {type(spec).__name__}"
            )
        elif spec.strip() == "*":
            raise ValueError(
                f"{option}=['*'] would trust every peer; leave {option}=None"
                " to trust the configured hop counts alone"
            )
        else:
            for text in NAMED_NETWORKS.get(spec.strip().lower(), (spec.strip(),)):
                try:
                    networks.append(ipaddress.ip_network(text))
                except ValueError as error:
                    raise ValueError(
                        f"{option} entry {spec!r} is not an IP address, a CIDR network with no"
                        f" host bits set (such as '10.0.0.0/8'), 'loopback' or 'private': {error}"
                    ) from None
    if not networks:
        raise ValueError(f"{option} is empty; leave it None to trust hop counts alone")
    return networks
