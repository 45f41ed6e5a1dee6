"""Log-safe values
=================

Everything that comes from a request is passed through :func:`escape`
before it reaches a log record, so a client can never split, forge or
colour a log line.
"""

from __future__ import annotations

import re

#: Default number of characters kept of one value in a log record.
DEFAULT_LIMIT = 200

# C0 controls, DEL, C1 controls, the Unicode line/paragraph separators and
# bidi overrides that some viewers honour, invisible characters that hide text
# (no-break space, soft hyphen, zero-width, BOM), and lone surrogates, which
# would make a UTF-8 log handler raise.
_UNSAFE = re.compile(
    "[\\x00-\\x1f\\x7f-\\xa0\\xad\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e"
    "\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ud800-\\udfff\\\\]"
)


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Return ``value`` as one printable line of at most about ``limit``
    characters.

    Backslashes are doubled and control characters (CR, LF, ESC and the rest
    of C0/C1, DEL, Unicode line separators and bidi overrides) are written as
    ``\\xNN``/``\\uNNNN``, so the escaped text is unambiguous. Bytes are
    decoded as latin-1 first, which is how WSGI hands header values over.
    A truncated value ends in ``...(N more)``.

    .. code-block:: python

        >>> escape("evil\\r\\nINFO forged line")
        'evil\\\\x0d\\\\x0aINFO forged line'
    """
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    if len(text) <= limit and text.isascii() and text.isprintable() and "\\" not in text:
        return text  # the common case, without the regex pass
    extra = 0
    if len(text) > limit:
        extra = len(text) - limit
        text = text[:limit]
    text = _UNSAFE.sub(_replace, text)
    if extra:
        text = f"{text}...({extra} more)"
    return text
