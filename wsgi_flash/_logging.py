"""Log-safe values and rate-limited warnings
=========================================

Everything that comes from a request is passed through :func:`escape`
before it reaches a log record, so a client can never split, forge, hide or
colour a log line. Every WARNING that a client can cause goes through a
:class:`LimitedLog`, so a flood of bad requests costs a bounded number of
records however long it lasts.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
import unicodedata

#: Default number of characters kept of one value in a log record.
DEFAULT_LIMIT = 200

#: ``(burst, period)`` of every package logger's rate limit: at most
#: ``burst`` records of one kind at once, refilled to ``burst`` every
#: ``period`` seconds.
DEFAULT_RATE_LIMIT = (20, 60.0)

# What str.isprintable() lets through but a log viewer shows as nothing, or
# as something else: characters that render blank (the Hangul fillers, the
# braille blank) and default-ignorable marks (the combining grapheme joiner,
# variation selectors). isprintable() itself refuses every character of the
# categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but the space: controls, format
# characters such as the bidi and tag characters, surrogates, private use,
# unassigned code points, line and paragraph separators and odd spaces.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)
_VARIATION_SELECTORS_SUPPLEMENT = range(0xE0100, 0xE01F0)


def _escape_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_safe(char: str) -> bool:
    return (
        char.isprintable()
        and char != "\\"
        and char not in _INVISIBLE
        and ord(char) not in _VARIATION_SELECTORS_SUPPLEMENT
        # The Unicode database of older Pythons may call a character
        # printable that a newer one knows as a format character.
        and unicodedata.category(char) != "Cf"
    )


def escape(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Return ``value`` as one printable line of at most about ``limit``
    characters.

    Backslashes are doubled, and every character that is not safely
    printable is written as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``: by
    Unicode category, the controls (C0, DEL, C1), format characters (bidi
    controls, zero-width characters, tag characters, the BOM), surrogates,
    private-use and unassigned code points, line and paragraph separators and
    every space but U+0020; and the characters that print as nothing (Hangul
    fillers, variation selectors, the combining grapheme joiner). So the
    escaped text is unambiguous and shows what the client sent. Bytes are
    decoded as latin-1 first, which is how WSGI hands header values over. A
    truncated value ends in ``...(N more)``.

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
        return text  # the common case, without the loop
    extra = 0
    if len(text) > limit:
        extra = len(text) - limit
        text = text[:limit]
    text = "".join(char if _is_safe(char) else _escape_char(char) for char in text)
    if extra:
        text = f"{text}...({extra} more)"
    return text


class TokenBucket:
    """``capacity`` records at once, refilled at ``capacity`` per ``period``
    seconds; counts what it refuses until the next record passes."""

    __slots__ = ("capacity", "empty_until", "rate", "suppressed", "tokens", "updated")

    def __init__(self, capacity: int, period: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.tokens = float(capacity)
        self.updated = now
        # Until then the bucket holds less than one token: during a flood
        # that comparison is all a refused record costs.
        self.empty_until = now
        self.suppressed = 0

    def take(self, now: float) -> int | None:
        """Take a token: the number suppressed since the last one passed, or
        None if this record is suppressed too."""
        if now < self.empty_until:
            self.suppressed += 1
            return None
        tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if tokens < 1.0:
            self.tokens = tokens
            self.empty_until = now + (1.0 - tokens) / self.rate
            self.suppressed += 1
            return None
        self.tokens = tokens = tokens - 1.0
        if tokens < 1.0:
            self.empty_until = now + (1.0 - tokens) / self.rate
        suppressed, self.suppressed = self.suppressed, 0
        return suppressed


def check_rate_limit(rate_limit: object) -> tuple[int, float] | None:
    """``rate_limit`` if it is a valid ``(burst, period)`` or None, else a
    :exc:`ValueError` that says what to pass."""
    if rate_limit is None:
        return None
    if (
        isinstance(rate_limit, tuple)
        and len(rate_limit) == 2
        and type(rate_limit[0]) is int
        and 1 <= rate_limit[0] <= 1_000_000
        and type(rate_limit[1]) in (int, float)
        and 0 < rate_limit[1] <= 86_400 * 366
    ):
        return rate_limit
    raise ValueError(
        "rate_limit must be (burst, period_seconds) such as (20, 60.0), with a burst of"
        f" 1 to 1,000,000 and a period of at most a year, or None to log every record;"
        f" got {rate_limit!r}"
    )


class LimitedLog:
    """The client-caused WARNINGs of one logger, rate-limited per kind.

    Each ``kind`` (a short fixed name such as ``"bad_signature"``, never
    client data) has its own token bucket of ``rate_limit = (burst,
    period)``; a record that the bucket refuses costs a counter, and the next
    one that passes ends in ``(N similar suppressed)`` and carries
    ``suppressed`` and ``kind`` as record attributes. :meth:`stats` counts
    both, per kind. ``rate_limit=None`` logs every record.

    :param logger: where the records go.
    :param rate_limit: ``(burst, period)`` per kind, or None.
    :param clock: a monotonic clock in seconds; tests pass their own.
    :param count: called with the kind of every record, logged or not,
        whatever the logger's level (the metrics' counter).
    """

    def __init__(
        self,
        logger: logging.Logger,
        rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        clock: t.Callable[[], float] = time.monotonic,
        count: t.Callable[[str], None] | None = None,
    ) -> None:
        self.logger = logger
        self.rate_limit = check_rate_limit(rate_limit)
        self.clock = clock
        self.count = count
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self._logged: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, msg: str, *args: object) -> None:
        """Log ``msg % args`` at WARNING unless ``kind`` is over its limit.
        The arguments must already be escaped with :func:`escape`."""
        self.log(logging.WARNING, kind, msg, *args)

    def log(self, level: int, kind: str, msg: str, *args: object) -> None:
        """Like :meth:`warning`, at ``level``."""
        if self.count is not None:
            self.count(kind)
        if not self.logger.isEnabledFor(level):
            return
        with self._lock:
            suppressed: int | None = 0
            if self.rate_limit is not None:
                bucket = self._buckets.get(kind)
                if bucket is None:
                    bucket = self._buckets[kind] = TokenBucket(*self.rate_limit, self.clock())
                suppressed = bucket.take(self.clock())
            if suppressed is None:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._logged[kind] = self._logged.get(kind, 0) + 1
        if suppressed:
            msg += f" ({suppressed:,} similar suppressed)"
        self.logger.log(level, msg, *args, extra={"kind": kind, "suppressed": suppressed})

    def stats(self) -> dict[str, dict[str, int]]:
        """A snapshot of the counters: ``{kind: {"logged": n, "suppressed": n}}``."""
        with self._lock:
            kinds = sorted({*self._logged, *self._suppressed})
            return {
                kind: {
                    "logged": self._logged.get(kind, 0),
                    "suppressed": self._suppressed.get(kind, 0),
                }
                for kind in kinds
            }
