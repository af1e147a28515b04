"""A bounded, in-process cache of capped row counts, invalidated by writes made through the app.

Counts of a 100,000-row table are the slowest part of a list page; a short staleness bound
(``app.count_cache_seconds``) is acceptable for the "N rows" line, and any write through the
app drops the table's entries at once.
"""

from __future__ import annotations

from datadesk.models.table_cache import TableCache


class CountCache(TableCache[int]):
    """LRU + TTL cache of ``(table, query key) -> count``; thread-safe."""
