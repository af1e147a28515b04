"""A bounded, in-process cache of capped row counts, invalidated by writes made through the app.

Counts of a 100,000-row table are the slowest part of a list page; a short staleness bound
(``app.count_cache_seconds``) is acceptable for the "N rows" line, and any write through the
app drops the table's entries at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class CountCache:
    """LRU + TTL cache of ``(table, query key) -> count``; thread-safe."""

    def __init__(self, ttl_seconds: float, max_entries: int = 2048) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, Hashable], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, table: str, key: Hashable, compute: Callable[[], int]) -> int:
        """Return the cached count, or compute, store and return it."""
        full_key = (table, key)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(full_key)
            if hit is not None and now - hit[0] < self.ttl:
                self._entries.move_to_end(full_key)
                return hit[1]
        value = compute()
        with self._lock:
            self._entries[full_key] = (now, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def invalidate(self, table: str) -> None:
        """Forget every count of a table (after a write through the app)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == table]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
