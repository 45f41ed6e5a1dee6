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


_COOKIES_AT_A_TIME = 64


def cookie_value(cookie_header: str, name: str) -> str | None:
    """Return the first value of cookie ``name`` in a ``Cookie`` header, or
    None.

    Browsers send the most specific path first, so the first one wins, as in
    Werkzeug. Values are returned as sent; callers validate them. The header
    is split 64 cookies at a time: split whole, 2,700 tiny cookies in an 8 KB
    header made a list of 2,700 strings (a 160 KB peak).
    """
    remainder: str | None = cookie_header
    while remainder is not None:
        parts = remainder.split(";", _COOKIES_AT_A_TIME)
        remainder = parts.pop() if len(parts) > _COOKIES_AT_A_TIME else None
        for part in parts:
            key, sep, value = part.partition("=")
            if sep and key.strip() == name:
                return value.strip()
    return None
