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

Why not :func:`functools.lru_cache`: it cannot refuse a long key, and the
wrapper that would refuse it costs a Python call on every lookup, where
``cache.get(key)`` here is one C call: on a request through one trusted
proxy that is about 200 instructions of ~9,000 (``benchmarks/instructions.py``),
and the memory bound by key length is what the adversarial tests check.

.. code-block:: python

    >>> cache = BoundedCache(max_entries=2, max_key_length=8)
    >>> cache.remember("a", 1); cache.remember("b", 2); cache.remember("c", 3)
    >>> dict(cache)
    {'c': 3}
    >>> cache.remember("too long a key", 4); "too long a key" in cache
    False
"""

from __future__ import annotations

import typing as t

_Key = t.TypeVar("_Key", bound=t.Sized)
_Value = t.TypeVar("_Value")


class BoundedCache(dict[_Key, _Value]):
    """A dict of remembered answers, bounded in entries and key length.

    Read it as a dict (``cache.get(key)``, ``key in cache``: one C call
    each); write it only with :meth:`remember`, which applies the bounds.

    :param max_entries: entries held at most; when full it is emptied.
    :param max_key_length: longest key (by ``len``) that is remembered.
    """

    __slots__ = ("max_entries", "max_key_length")

    def __init__(self, max_entries: int = 1024, max_key_length: int = 256) -> None:
        super().__init__()
        self.max_entries = max_entries
        self.max_key_length = max_key_length

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
