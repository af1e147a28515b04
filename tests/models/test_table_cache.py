"""The bounded in-process cache every derived-value cache uses."""

from __future__ import annotations

from datadesk.models.table_cache import EVERY_TABLE, Missing, TableCache


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


def test_an_entry_read_from_several_tables_goes_with_a_write_to_any() -> None:
    cache: TableCache[list[str]] = TableCache(ttl_seconds=3600)
    cache.put("sites-of-dept-3", ["sites", "Departments"], ["North"])
    cache.put("everything", [EVERY_TABLE], ["*"])
    cache.put("vaccines", ["vaccines"], ["HEPB"])
    assert cache.get("sites-of-dept-3") == ["North"]
    cache.invalidate("DEPARTMENTS")
    assert isinstance(cache.get("sites-of-dept-3"), Missing)
    assert isinstance(cache.get("everything"), Missing)  # a write anywhere drops it
    assert cache.get("vaccines") == ["HEPB"]
    assert isinstance(cache.get("never stored"), Missing)
