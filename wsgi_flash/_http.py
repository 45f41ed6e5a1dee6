"""HTTP header helpers shared by the middlewares
===============================================
"""

from __future__ import annotations


def add_vary(headers: list[tuple[str, str]], field: str) -> None:
    """Make sure the response's ``Vary`` header names ``field``.

    Merges with an existing ``Vary`` header (case-insensitively) instead of
    adding a second one, and leaves ``Vary: *`` alone.
    """
    lowered = field.lower()
    for index, (name, value) in enumerate(headers):
        if name.lower() != "vary":
            continue
        items = [item.strip().lower() for item in value.split(",")]
        if lowered in items or "*" in items:
            return
        headers[index] = (name, f"{value}, {field}" if value.strip() else field)
        return
    headers.append(("Vary", field))


def cookie_value(cookie_header: str, name: str) -> str | None:
    """Return the first value of cookie ``name`` in a ``Cookie`` header, or
    None.

    Browsers send the most specific path first, so the first one wins, as in
    Werkzeug. Values are returned as sent; callers validate them. One
    cookie at a time: splitting the whole header first made a list of every
    cookie a client sent (an 8 KB header of 2,700 tiny ones peaked at 160 KB).
    """
    start, end = 0, 0
    while end >= 0:
        end = cookie_header.find(";", start)
        key, sep, value = cookie_header[start : end if end >= 0 else None].partition("=")
        if sep and key.strip() == name:
            return value.strip()
        start = end + 1
    return None
