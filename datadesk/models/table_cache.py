"""Bounded in-process caches of values derived from tables, dropped by writes through the app.

One mechanism serves every such cache (capped row counts, drop-down choices, labels of
referenced rows, report parameter choices): each entry records the tables it was read from,
is kept at most ``ttl_seconds`` (the staleness bound for changes made outside this process:
another node, a DBA) and at most ``max_entries`` (least recently used dropped first), and a
write through this process drops the entries that read the written table at once (register
``invalidate`` as a write listener of the RecordStore and the ImportService).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Final, Generic, TypeVar

V = TypeVar("V")

EVERY_TABLE: Final = "*"
"""In an entry's tables: the value depends on any table (a write anywhere drops it)."""


class Missing:
    """The answer of ``TableCache.get`` for a key it does not hold (None can be a value)."""


MISSING: Final = Missing()


class TableCache(Generic[V]):
    """LRU + TTL cache of values, each with the tables it was read from; thread-safe."""

    def __init__(self, ttl_seconds: float, max_entries: int = 2048) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, frozenset[str], V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, table: str, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value of ``key`` read from ``table``, or compute, store and return it
        (computed outside the lock)."""
        full_key = (table.lower(), key)
        found = self.get(full_key)
        if not isinstance(found, Missing):
            return found
        started = time.monotonic()
        value = compute()
        self.put(full_key, [table], value, read_at=started)
        return value

    def get(self, key: Hashable) -> V | Missing:
        """The value stored for ``key`` while it is fresh, else MISSING."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or now - hit[0] >= self.ttl:
                return MISSING
            self._entries.move_to_end(key)
            return hit[2]

    def put(
        self, key: Hashable, tables: Iterable[str], value: V, *, read_at: float | None = None
    ) -> None:
        """Store a value read from ``tables`` (EVERY_TABLE: from any) at ``read_at`` (a
        ``time.monotonic()`` reading taken before the read; default now)."""
        if self.ttl <= 0:
            return
        stamp = time.monotonic() if read_at is None else read_at
        names = frozenset(t.lower() for t in tables)
        with self._lock:
            self._entries[key] = (stamp, names, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, table: str) -> None:
        """Forget every entry read from ``table`` (after a write through the app)."""
        name = table.lower()
        with self._lock:
            stale = [
                key
                for key, (_, tables, _) in self._entries.items()
                if name in tables or EVERY_TABLE in tables
            ]
            for key in stale:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
