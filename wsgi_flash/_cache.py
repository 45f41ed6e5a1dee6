"""Bounded caches
==============

The one cache type of the package. Verdicts on request values (is this
Host clean, is this peer a trusted proxy, what does this
``X-Forwarded-For`` value say) are remembered because the same proxies,
hosts and cookies repeat from request to request, and looking an answer up
is far cheaper than a regex or :mod:`ipaddress`. The values are the
client's, so every cache has the same two bounds and the same policy:

-   at most ``max_entries`` entries; when full, it is emptied and starts
    over, so the values in use now win their place back on their next
    request and a client cannot fill it for good;
-   no key longer than ``max_key_length`` is remembered (its answer is
    computed and not kept), so a cache never holds more than
    ``max_entries * max_key_length`` characters of keys.

Given a ``compute`` function, a cache is also a memoised function:
``cache[key]`` answers from memory or calls ``compute(key)`` and remembers
the answer. Why not :func:`functools.lru_cache`: it cannot refuse a long
key, and the wrapper that would refuse it costs a Python call on every
lookup, where ``cache[key]`` and ``cache.get(key)`` here are one C call
when the answer is known (measured with ``benchmarks/instructions.py``: a
Python-level lookup on a request through one trusted proxy cost about 1,500
instructions of ~20,000).

.. code-block:: python

    >>> cache = BoundedCache(max_entries=2, max_key_length=8)
    >>> cache.remember("a", 1); cache.remember("b", 2); cache.remember("c", 3)
    >>> dict(cache)
    {'c': 3}
    >>> cache.remember("too long a key", 4); "too long a key" in cache
    False
    >>> lengths = BoundedCache(compute=len)
    >>> lengths["abc"], lengths["x" * 300], dict(lengths)
    (3, 300, {'abc': 3})
"""

from __future__ import annotations

import typing as t

_Key = t.TypeVar("_Key", bound=t.Sized)
_Value = t.TypeVar("_Value")


class BoundedCache(dict[_Key, _Value]):
    """A dict of remembered answers, bounded in entries and key length.

    Read it as a dict (``cache.get(key)``, ``key in cache``: one C call
    each); write it only with :meth:`remember`, which applies the bounds.
    With ``compute``, ``cache[key]`` of a key not held is ``compute(key)``,
    remembered if ``key`` is within the bounds.

    :param max_entries: entries held at most; when full it is emptied.
    :param max_key_length: longest key (by ``len``) that is remembered.
    :param compute: the answer for a key not held; without it, such a key
        raises :exc:`KeyError` as in a dict.
    """

    __slots__ = ("compute", "max_entries", "max_key_length")

    def __init__(
        self,
        max_entries: int = 1024,
        max_key_length: int = 256,
        compute: t.Callable[[_Key], _Value] | None = None,
    ) -> None:
        super().__init__()
        self.max_entries = max_entries
        self.max_key_length = max_key_length
        self.compute = compute

    def __missing__(self, key: _Key) -> _Value:
        if self.compute is None:
            raise KeyError(key)
        value = self.compute(key)
        self.remember(key, value)
        return value

    def remember(self, key: _Key, value: _Value) -> None:
        """Store ``value`` under ``key`` within the bounds."""
        # Real values are short; a long one is a client's, not worth memory.
        if len(key) > self.max_key_length:
            return
        if len(self) >= self.max_entries:
            self.clear()
        self[key] = value

    def __repr__(self) -> str:
        return (
            f"<BoundedCache {len(self)}/{self.max_entries} entries,"
            f" keys up to {self.max_key_length}>"
        )
