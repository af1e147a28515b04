"""Bounded in-process caches of values derived from a table, dropped by writes through the app.

One mechanism serves every such cache (capped row counts, drop-down choices, labels of
referenced rows, report parameter choices): entries are keyed by table, kept at most
``ttl_seconds`` (the staleness bound for changes made outside this process: another node, a
DBA) and at most ``max_entries`` (least recently used dropped first), and a write through this
process drops the written table's entries at once (register ``invalidate`` as a write
listener of the RecordStore and the ImportService).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TableCache(Generic[V]):
    """LRU + TTL cache of ``(table, key) -> value``; thread-safe."""

    def __init__(self, ttl_seconds: float, max_entries: int = 2048) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, Hashable], tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, table: str, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, or compute, store and return it (computed outside the lock)."""
        full_key = (table.lower(), key)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(full_key)
            if hit is not None and now - hit[0] < self.ttl:
                self._entries.move_to_end(full_key)
                return hit[1]
        value = compute()
        if self.ttl > 0:
            with self._lock:
                self._entries[full_key] = (now, value)
                self._entries.move_to_end(full_key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def invalidate(self, table: str) -> None:
        """Forget every entry of a table (after a write through the app)."""
        name = table.lower()
        with self._lock:
            for key in [k for k in self._entries if k[0] == name]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
