"""Forwarding headers
===================

Reading what proxies write, for :class:`~wsgi_flash.ProxyFix`: the one
parser of the RFC 7239 ``Forwarded`` header, and Werkzeug's reading of the
``X-Forwarded-*`` lists, each with the validation the middleware applies.

Proxies append to these headers, so the values ProxyFix uses are at the
right end, and everything to their left is what the client sent. Both
readers therefore work **from the right**, stop as soon as they have what
was asked for, and never look further left than the last
:data:`MAX_LENGTH` characters: what lies to the left of the hops used (a
syntax error, a repeated parameter, ten thousand elements, a megabyte)
cannot change the answer or the cost. The ``Forwarded`` reader matches
the grammar on the reversed text, one pair at a time, so its time is
linear in the characters it reads.

Host verdicts (:func:`is_host`) are remembered in a
:class:`~wsgi_flash._cache.BoundedCache`, because ProxyFix asks about
``X-Forwarded-Host`` on every proxied request. Addresses are not:
ProxyFix remembers what it made of a whole header value, so these readers
run only for a value it has not seen.

.. code-block:: python

    >>> list(forwarded_from_right('for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"'))
    [{'for': '[2001:db8::17]:4711'}, {'for': '192.0.2.60', 'proto': 'http'}]
    >>> last_items("6.6.6.6, 192.0.2.1, 10.0.0.2", 2)
    ['10.0.0.2', '192.0.2.1']
"""

from __future__ import annotations

import re
import typing as t

from .._cache import BoundedCache
from .._net import is_ip, mapped_spelling, parse_ip, split_host_port, strip_port

#: How many characters at the right end of a header are read at most.
MAX_LENGTH = 8192
#: Most hops (elements, list items) a hop count may ask for.
MAX_ELEMENTS = 64
#: What :func:`last_items` gives for an item that does not lie within the
#: last :data:`MAX_LENGTH` characters. No validation accepts it (it has
#: spaces and no leading ``/``), so the caller logs it like any bad value.
BEYOND = f"<not within the last {MAX_LENGTH} characters>"

_TCHAR = "!#$%&'*+.^_`|~0-9A-Za-z-"
# One optional pair and the separator before it, matched on the REVERSED
# value: the value (a token, or a quoted string whose quoted-pairs "\x" read
# "x\"), "=", the name, then ";", "," or the start of the value. qdtext is
# HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E and obs-text; a quoted-pair escapes
# HTAB, SP, VCHAR or obs-text. Reversed, the grammar stays unambiguous: a
# '"' followed by "\" is an escaped quote (an opening quote is followed by
# "="), and a run of backslashes pairs up one way only, so a failed match
# backtracks at most linearly.
_REVERSED_PAIR = re.compile(
    rf"[ \t]*(?:(?:([{_TCHAR}]+)"
    r'|"((?:[\t !#-\[\]-~\x80-\xff]|[\t -~\x80-\xff]\\)*)"'
    rf")=([{_TCHAR}]+)[ \t]*)?([;,]|\Z)"
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# One item of a reversed list: the separators and blanks before it, then
# the item up to the next comma.
_REVERSED_ITEM = re.compile(r"[ \t,]*([^,]*)")
_OBFUSCATED = r"_[A-Za-z0-9._-]+"
_NODE = re.compile(
    rf"(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)|(unknown)|({_OBFUSCATED}))"
    rf"(?::(?:[0-9]{{1,5}}|{_OBFUSCATED}))?\Z",
    re.IGNORECASE,
)


def last_items(value: str, count: int) -> list[str]:
    """Werkzeug's reading of a list header, from the right: up to ``count``
    non-empty items, stripped of spaces and tabs, the rightmost first.

    Only the last :data:`MAX_LENGTH` characters are read; an item needed
    that does not lie wholly within them is :data:`BEYOND`, and ends the
    list. Quotes are not special (no proxy quotes these values; an item with
    quotes fails validation), so a client cannot hide the proxies' items
    inside an unclosed quote.
    """
    if len(value) <= MAX_LENGTH:
        # The common cases, without the general reading's copy: the last
        # item (x_for=1, on every proxied request), or the last count items
        # when none of them is empty. At most count + 1 parts: the last
        # ones are items, the first is the rest of the value.
        if count == 1:
            rest, _, last = value.rpartition(",")
            item = last.strip(" \t")
            if item or not rest:
                return [item] if item else []
        else:
            parts = value.rsplit(",", count)
            if len(parts) <= count:
                return [item for part in reversed(parts) if (item := part.strip(" \t"))]
            items = [item for part in parts[:0:-1] if (item := part.strip(" \t"))]
            if len(items) == count:
                return items
        # Empty items among the last ones: read on.
    return _read_items_from_the_right(value, count)


def _read_items_from_the_right(value: str, count: int) -> list[str]:
    # Reversed, the rightmost item comes first; a slice of at most
    # MAX_LENGTH characters, however long the value.
    window = value[: -MAX_LENGTH - 1 : -1]
    whole = len(value) <= MAX_LENGTH
    items: list[str] = []
    position = 0
    match = _REVERSED_ITEM.match
    while len(items) < count:
        found = match(window, position)
        assert found is not None  # the pattern matches any text, even ""
        position = found.end()
        if position == len(window) and not whole:
            # The item (or the blanks before one) runs past what is read.
            items.append(BEYOND)
            break
        item = found.group(1)
        if not item:
            break  # the start of the value
        items.append(item[::-1].strip(" \t"))
    return items


def pick(value: str, count: int) -> str | None:
    """Werkzeug's choice: the ``count``-th item of the list from the right,
    None if there are fewer, :data:`BEYOND` if it is not within the last
    :data:`MAX_LENGTH` characters."""
    items = last_items(value, count)
    return items[-1] if len(items) == count else None


def client_address(entry: str) -> str:
    """The address in an ``X-Forwarded-For`` entry (``ip``, ``ipv4:port``,
    ``[ipv6]``, ``[ipv6]:port``) without port or brackets, IPv4-mapped
    addresses spelled ``::ffff:a.b.c.d``, or ``""``."""
    address = strip_port(entry) or ""
    return mapped_spelling(address) if ":" in address else address


def _is_host(value: str) -> bool:
    return split_host_port(value) is not None


#: ``is_host(value)``: True if ``value`` is an RFC 3986 ``host[:port]`` with
#: a port in 1-65535 (no ``/ ? # @ \``, spaces or controls); remembered, and
#: one C call when it is (a host is at most 260 characters).
is_host: t.Callable[[str], bool] = BoundedCache(1024, 260, compute=_is_host).__getitem__


def forwarded_from_right(value: str) -> t.Iterator[dict[str, str] | str]:
    """Read a ``Forwarded`` value from the right: yield its elements
    nearest to this server first, each as a dict of lower-cased parameter
    names to unquoted values, for as long as the caller asks.

    Empty elements (``for=a, , for=b``) are skipped, as the list syntax
    allows. An element that breaks the grammar, repeats a parameter, or does
    not lie wholly within the last :data:`MAX_LENGTH` characters is not
    guessed at: instead of it, the reason is yielded as a string, and
    nothing further left is read. So whatever a client writes to the left
    of the elements a caller uses never changes them.
    """
    # Reversed, the rightmost element comes first; a slice of at most
    # MAX_LENGTH characters, however long the value.
    window = value[: -MAX_LENGTH - 1 : -1]
    whole = len(value) <= MAX_LENGTH
    element: dict[str, str] = {}
    match = _REVERSED_PAIR.match
    position = 0
    while True:
        found = match(window, position)
        if found is None:
            if not whole and window.find(",", position) == -1:
                yield f"an element not within the last {MAX_LENGTH} characters"
            else:
                yield f"malformed {position + 1} characters from the end"
            return
        token, quoted, name, separator = found.groups()
        if name is not None:
            name = name[::-1].lower()
            if name in element:
                yield f"parameter {name[:32]!r} repeated in one element"
                return
            if token is not None:
                text = token[::-1]
            else:
                text = quoted[::-1]
                if "\\" in text:
                    text = _QUOTED_PAIR.sub(r"\1", text)
            element[name] = text
        if separator != ";":
            if not separator and not whole:
                yield f"an element not within the last {MAX_LENGTH} characters"
                return
            if element:
                # In the order written, as the chain shows it.
                yield dict(reversed(element.items()))
                element = {}
            if not separator:
                return
        position = found.end()


def parse_forwarded(value: str) -> list[dict[str, str]] | str:
    """A whole ``Forwarded`` value's elements, leftmost (furthest from this
    server) first, or the reason it cannot be read: anything
    :func:`forwarded_from_right` refuses, or more than :data:`MAX_ELEMENTS`
    elements. ProxyFix reads only the elements it uses; this is the strict
    reading of everything.
    """
    elements: list[dict[str, str]] = []
    for element in forwarded_from_right(value):
        if isinstance(element, str):
            return element
        if len(elements) == MAX_ELEMENTS:
            return f"more than {MAX_ELEMENTS} elements"
        elements.append(element)
    elements.reverse()
    return elements


def node_address(node: str) -> tuple[str | None, bool]:
    """Read the ``for`` or ``by`` value of an element.

    Returns ``(address, valid)``: the IP address without brackets or port
    (IPv4-mapped addresses spelled ``::ffff:a.b.c.d``), or None for
    ``unknown`` and obfuscated ``_identifiers``, which name a hop without
    giving its address; ``valid`` is False for anything the RFC does not
    allow, such as a host name or an IPv6 address without brackets.
    """
    found = _NODE.match(node)
    if found is None:
        return None, False
    bracketed, ipv4 = found.group(1, 2)
    if bracketed is not None:
        ip = parse_ip(bracketed)
        if ip is None or ip.version != 6:
            return None, False
        return mapped_spelling(bracketed), True
    if ipv4 is not None:
        return (ipv4, True) if is_ip(ipv4) else (None, False)
    return None, True
