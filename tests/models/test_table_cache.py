"""The bounded in-process cache every derived-value cache uses."""

from __future__ import annotations

from datadesk.models.table_cache import TableCache


def test_entries_are_bounded_least_recently_used_first() -> None:
    cache: TableCache[int] = TableCache(ttl_seconds=3600, max_entries=3)
    for i in range(3):
        cache.get_or_compute("t", i, lambda i=i: i)
    cache.get_or_compute("t", 0, lambda: -1)  # a hit: 0 becomes the most recent
    cache.get_or_compute("t", 3, lambda: 3)
    assert len(cache) == 3
    assert cache.get_or_compute("t", 0, lambda: -1) == 0
    assert cache.get_or_compute("t", 1, lambda: -1) == -1  # 1 was evicted


def test_writes_drop_one_tables_entries_and_zero_ttl_caches_nothing() -> None:
    cache: TableCache[str] = TableCache(ttl_seconds=3600)
    cache.get_or_compute("Staff", "k", lambda: "old")
    cache.get_or_compute("depts", "k", lambda: "kept")
    cache.invalidate("staff")
    assert cache.get_or_compute("staff", "k", lambda: "new") == "new"
    assert cache.get_or_compute("depts", "k", lambda: "other") == "kept"
    off: TableCache[str] = TableCache(ttl_seconds=0)
    off.get_or_compute("t", "k", lambda: "a")
    assert off.get_or_compute("t", "k", lambda: "b") == "b" and len(off) == 0
