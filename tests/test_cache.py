"""BoundedCache: the one cache type, its bounds and its policy."""

from __future__ import annotations

import pytest

from wsgi_flash._cache import BoundedCache


def test_remembers_within_its_bounds() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=3, max_key_length=4)
    for key in ("a", "b", "c"):
        cache.remember(key, len(key))
    assert dict(cache) == {"a": 1, "b": 1, "c": 1}
    cache.remember("toolong", 7)
    assert "toolong" not in cache
    cache.remember("d", 1)  # full: it starts over, the newest kept
    assert dict(cache) == {"d": 1}


def test_computes_and_remembers_what_it_does_not_hold() -> None:
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(key)

    cache = BoundedCache(max_entries=2, max_key_length=4, compute=compute)
    assert [cache["ab"], cache["ab"], cache["abcdef"], cache["abcdef"]] == [2, 2, 6, 6]
    assert calls == ["ab", "abcdef", "abcdef"]  # the long key is never kept
    assert dict(cache) == {"ab": 2}


def test_without_compute_a_missing_key_is_a_key_error() -> None:
    cache: BoundedCache[str, int] = BoundedCache()
    assert cache.get("x") is None
    with pytest.raises(KeyError):
        cache["x"]


@pytest.mark.parametrize("flood", [10, 1000, 5000])
def test_a_flood_never_keeps_the_value_in_use_out_for_good(flood: int) -> None:
    cache: BoundedCache[str, bool] = BoundedCache(max_entries=256, max_key_length=64)
    for n in range(flood):
        cache.remember(f"flood{n}", True)
        assert len(cache) <= 256
    cache.remember("real", True)
    assert "real" in cache


def test_repr_names_its_bounds() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=8, max_key_length=16)
    cache.remember("a", 1)
    assert repr(cache) == "<BoundedCache 1/8 entries, keys up to 16>"
