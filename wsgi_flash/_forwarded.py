"""Forwarding headers
===================

Reading what proxies write, for :class:`~wsgi_flash.ProxyFix`: the one
parser of the RFC 7239 ``Forwarded`` header, and Werkzeug's reading of the
``X-Forwarded-*`` lists, each with the validation the middleware applies.

The ``Forwarded`` parser reads the value a WSGI server hands over (repeated
header lines already joined with ``,``) in one left-to-right pass, so its
time is linear in the length of the value, and it refuses anything over
:data:`MAX_LENGTH` characters or :data:`MAX_ELEMENTS` elements first.

Verdicts on values are remembered in small dicts (``*_memo``), because the
same proxies, hosts and clients repeat and a dict lookup is far cheaper than
a regex or :mod:`ipaddress`. Each is emptied when it holds
:data:`MEMO_SIZE` entries, and values longer than :data:`MEMO_KEY_LENGTH`
are not remembered, so client-chosen values cannot grow it.

.. code-block:: python

    >>> parse_forwarded('for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"')
    [{'for': '192.0.2.60', 'proto': 'http'}, {'for': '[2001:db8::17]:4711'}]
"""

from __future__ import annotations

import re
import typing as t

from ._net import is_ip, parse_ip, split_host_port, strip_port

#: Longest ``Forwarded`` value that is parsed at all, in characters.
MAX_LENGTH = 8192
#: Most elements (hops) a ``Forwarded`` value may list.
MAX_ELEMENTS = 64

_TCHAR = "!#$%&'*+.^_`|~0-9A-Za-z-"
# One optional pair and the separator after it. The alternatives inside the
# quoted string are disjoint, so a failed match backtracks at most linearly.
# qdtext: HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E, obs-text; quoted-pair: "\" and
# HTAB, SP, VCHAR or obs-text.
_PAIR = re.compile(
    rf"[ \t]*(?:([{_TCHAR}]+)=(?:([{_TCHAR}]+)"
    r'|"((?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*)"'
    r")[ \t]*)?([;,]|\Z)"
)
# Without quotes a value is only tokens and separators; such values (most of
# them: quotes are needed only for IPv6 and ports) are split with str
# methods, several times faster than the scanner, after this one check.
_UNQUOTED = re.compile(rf"[{_TCHAR}=;,\ \t]*\Z")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_OBFUSCATED = r"_[A-Za-z0-9._-]+"
_NODE = re.compile(
    rf"(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)|(unknown)|({_OBFUSCATED}))"
    rf"(?::(?:[0-9]{{1,5}}|{_OBFUSCATED}))?\Z",
    re.IGNORECASE,
)

MEMO_SIZE = 1024
#: Longest value remembered, so a memo holds at most about 256 KiB of keys.
MEMO_KEY_LENGTH = 256
#: X-Forwarded-For entry to its address without port, ``""`` if none.
address_memo: dict[str, str] = {}
#: Host value to whether it is an RFC 3986 ``host[:port]``.
host_memo: dict[str, bool] = {}
#: ``Forwarded`` value to :func:`parse_forwarded`'s answer; shared, so
#: callers copy the elements they hand out.
forwarded_memo: dict[str, list[dict[str, str]] | str] = {}
_node_memo: dict[str, tuple[str | None, bool]] = {}


def remember(memo: dict[str, t.Any], key: str, value: t.Any) -> None:
    """Store ``memo[key] = value`` within :data:`MEMO_SIZE` and
    :data:`MEMO_KEY_LENGTH`."""
    # Real values are short; a long one is a client's, so not worth memory.
    if len(key) > MEMO_KEY_LENGTH:
        return
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = value


def split_list(value: str) -> list[str]:
    """Werkzeug's reading of a list header: the non-empty items, stripped of
    spaces and tabs. Quotes are not special (no proxy quotes these values;
    an item with quotes fails validation), so a client cannot hide the
    proxies' items inside an unclosed quote."""
    items = []
    for item in value.split(","):
        if item := item.strip(" \t"):
            items.append(item)
    return items


def pick(value: str, count: int) -> str | None:
    """Werkzeug's choice: the ``count``-th item of :func:`split_list` from
    the right, or None if there are fewer."""
    if "," not in value:
        return (value.strip(" \t") or None) if count == 1 else None
    items = split_list(value)
    return items[-count] if len(items) >= count else None


def client_address(entry: str) -> str:
    """The address in an ``X-Forwarded-For`` entry (``ip``, ``ipv4:port``,
    ``[ipv6]``, ``[ipv6]:port``) without port or brackets, or ``""``."""
    address = address_memo.get(entry)
    if address is None:
        address = strip_port(entry) or ""
        remember(address_memo, entry, address)
    return address


def is_host(value: str) -> bool:
    """True if ``value`` is an RFC 3986 ``host[:port]`` with a port in
    1-65535: no ``/ ? # @ \\``, spaces or controls."""
    verdict = host_memo.get(value)
    if verdict is None:
        verdict = split_host_port(value) is not None
        remember(host_memo, value, verdict)
    return verdict


def parse_forwarded(value: str) -> list[dict[str, str]] | str:
    """Parse a ``Forwarded`` value into its elements, leftmost (furthest
    from this server) first.

    Each element is a dict of lower-cased parameter names to unquoted
    values. Empty elements (``for=a, , for=b``) are skipped, as the list
    syntax allows. On any syntax error, on a parameter repeated within one
    element, or beyond the size limits, the whole value is refused and the
    reason is returned as a string instead, because a proxy never writes such
    a header and guessing which part to trust is how smuggling starts.
    """
    if len(value) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if _UNQUOTED.match(value) is not None:
        return _parse_unquoted(value)
    return _scan(value)


def _scan(value: str) -> list[dict[str, str]] | str:
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    match = _PAIR.match
    position = 0
    while True:
        found = match(value, position)
        if found is None:
            return f"malformed at character {position + 1}"
        name, token, quoted, separator = found.groups()
        if name is not None:
            name = name.lower()
            if name in element:
                return f"parameter {name[:32]!r} repeated in one element"
            if token is None:
                token = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
            element[name] = token
        if separator != ";":
            if element:
                if len(elements) == MAX_ELEMENTS:
                    return f"more than {MAX_ELEMENTS} elements"
                elements.append(element)
                element = {}
            if not separator:
                return elements
        position = found.end()


def _parse_unquoted(value: str) -> list[dict[str, str]] | str:
    parts = value.split(",")
    if len(parts) > MAX_ELEMENTS and sum(1 for part in parts if part.strip(" \t;")) > MAX_ELEMENTS:
        return f"more than {MAX_ELEMENTS} elements"
    elements: list[dict[str, str]] = []
    for part in parts:
        element: dict[str, str] = {}
        for pair in part.split(";"):
            pair = pair.strip(" \t")
            if not pair:
                continue
            name, _, token = pair.partition("=")
            # The character check left only "=", space and tab to rule out.
            if not name or not token or "=" in token or " " in pair or "\t" in pair:
                return "malformed parameter"
            name = name.lower()
            if name in element:
                return f"parameter {name[:32]!r} repeated in one element"
            element[name] = token
        if element:
            elements.append(element)
    return elements


def remembered_forwarded(value: str) -> list[dict[str, str]] | str:
    """:func:`parse_forwarded`, remembered: a client's requests repeat one
    value, and parsing costs more than the rest of a request's proxy fixing.
    The answer is shared between calls, so never change it."""
    elements = forwarded_memo.get(value)
    if elements is None:
        elements = parse_forwarded(value)
        remember(forwarded_memo, value, elements)
    return elements


def node_address(node: str) -> tuple[str | None, bool]:
    """Read the ``for`` or ``by`` value of an element.

    Returns ``(address, valid)``: the IP address without brackets or port,
    or None for ``unknown`` and obfuscated ``_identifiers``, which name a
    hop without giving its address; ``valid`` is False for anything the RFC
    does not allow, such as a host name or an IPv6 address without brackets.
    """
    verdict = _node_memo.get(node)
    if verdict is None:
        verdict = _node_address(node)
        remember(_node_memo, node, verdict)
    return verdict


def _node_address(node: str) -> tuple[str | None, bool]:
    found = _NODE.match(node)
    if found is None:
        return None, False
    bracketed, ipv4 = found.group(1, 2)
    if bracketed is not None:
        ip = parse_ip(bracketed)
        return (bracketed, True) if ip is not None and ip.version == 6 else (None, False)
    if ipv4 is not None:
        return (ipv4, True) if is_ip(ipv4) else (None, False)
    return None, True
