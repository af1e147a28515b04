"""Cached views of referenced tables for forms and detail pages: drop-down choices and labels.

Both use ``TableCache``: bounded, kept at most ``cache.ttl_seconds``, and dropped at once by a
write to the table through this process (both register with the RecordStore; the app also
registers them with the ImportService).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from datadesk.models.catalog import Catalog, TableInfo
from datadesk.models.grid_query import format_row_label, label_attributes
from datadesk.models.records import RecordStore
from datadesk.models.table_cache import TableCache


class ChoiceCache:
    """Options of small referenced tables for drop-downs: bounded, kept ``cache.ttl_seconds``
    at most, dropped at once by a write to that table through this process."""

    def __init__(
        self,
        records: RecordStore,
        catalog: Catalog,
        limit: int,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 2048,
    ) -> None:
        self.records = records
        self.catalog = catalog
        self.limit = limit
        self._cache: TableCache[list[tuple[Any, str]] | None] = TableCache(ttl_seconds, max_entries)
        records.listeners.append(self.invalidate)

    def invalidate(self, table: str) -> None:
        """Forget the options of a table after a write."""
        self._cache.invalidate(table)

    def options(
        self, target: TableInfo, key_column: str, limit: int | None = None
    ) -> list[tuple[Any, str]] | None:
        """(key, label) pairs, or None when the table has more rows than fit a drop-down."""
        limit = limit or self.limit
        return self._cache.get_or_compute(
            target.name, (key_column, limit), lambda: self._load(target, key_column, limit)
        )

    def _load(self, target: TableInfo, key_column: str, limit: int) -> list[tuple[Any, str]] | None:
        t = target.table
        attrs = label_attributes(target)
        key_col = t.c[target.columns[key_column].db_name]
        stmt = (
            sa.select(
                key_col.label("__key"), *(t.c[target.columns[a].db_name].label(a) for a in attrs)
            )
            .order_by(
                *(t.c[target.columns[a].db_name] for a in attrs if target.columns[a].is_sortable)
            )
            .limit(limit + 1)
        )
        with self.records.reading() as conn:
            rows = conn.execute(stmt).mappings().all()
        if len(rows) > limit:
            return None
        return [(r["__key"], format_row_label(target, {a: r[a] for a in attrs})) for r in rows]


class ReferenceLabels:
    """Labels of single referenced rows (detail pages), cached like the choices."""

    def __init__(self, records: RecordStore, ttl_seconds: float, max_entries: int) -> None:
        self.records = records
        self._cache: TableCache[str | None] = TableCache(ttl_seconds, max_entries)
        records.listeners.append(self.invalidate)

    def invalidate(self, table: str) -> None:
        """Forget the labels of a table after a write."""
        self._cache.invalidate(table)

    def label(self, conn: sa.Connection, target: TableInfo, column: str, value: Any) -> str | None:
        """The label of the row of ``target`` whose ``column`` is ``value``; None if absent."""

        def load() -> str | None:
            attrs = label_attributes(target)
            t = target.table
            stmt = sa.select(*(t.c[target.columns[a].db_name].label(a) for a in attrs)).where(
                t.c[target.columns[column].db_name] == value
            )
            found = conn.execute(stmt).mappings().first()
            return format_row_label(target, found) if found is not None else None

        return self._cache.get_or_compute(target.name, (column, value), load)
