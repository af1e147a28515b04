"""Which tables are small, counted only up to a cap: never a full count of a big table."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from datadesk.models.catalog import Catalog
from datadesk.models.grid_query import capped_count


def small_tables(engine: sa.Engine, catalog: Catalog, names: Iterable[str], limit: int) -> set[str]:
    """The tables among ``names`` that hold at most ``limit`` rows."""
    found: set[str] = set()
    with engine.connect() as conn:
        for name in sorted(set(names)):
            table = catalog.get(name)
            if table is None:
                continue
            count = conn.execute(capped_count(table.table, (), limit)).scalar_one()
            if int(count) <= limit:
                found.add(table.name)
    return found


def referenced_tables(catalog: Catalog) -> set[str]:
    """Every table some served column refers to."""
    return {
        column.foreign_key.target_table
        for table in catalog.tables.values()
        for column in table.foreign_keys
        if column.foreign_key is not None
    }
