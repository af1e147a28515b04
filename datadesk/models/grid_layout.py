"""Which columns a table's grid lists, searches, filters and sorts by, from ``datadesk.yaml``.

One definition for the web grid, grid exports and ``datadesk export``, so that an export holds
exactly the columns and rows the grid shows for the same list state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from datadesk.config.schema import TableConfig
from datadesk.models.catalog import Catalog, TableInfo
from datadesk.models.grid_query import GridQuery, default_list_columns


@dataclass(frozen=True)
class GridLayout:
    """The configured (or default) grid columns of one table, by attribute name."""

    columns: tuple[str, ...]
    search: tuple[str, ...]
    filters: tuple[str, ...]
    default_sort: tuple[str, ...]
    detail: tuple[str, ...]  # every column a detail page shows, in order

    @classmethod
    def of(cls, table: TableInfo, config: TableConfig) -> GridLayout:
        """The layout the config gives a table; defaults where the config says nothing."""
        usable = [c for c in table.columns.values() if not c.is_hidden]
        return cls(
            columns=_pick(config.list_columns, default_list_columns(table)),
            search=_pick(config.search, [c.name for c in usable if c.is_searchable][:3]),
            filters=_pick(
                config.filters,
                [c.name for c in usable if c.kind == "boolean" or c.foreign_key is not None],
            ),
            default_sort=tuple(config.default_sort),
            detail=_pick(config.detail_columns, [c.name for c in usable]),
        )

    def query(
        self,
        table: TableInfo,
        catalog: Catalog,
        *,
        columns: Sequence[str] | None = None,
        hidden: frozenset[str] = frozenset(),
        scope: sa.ColumnElement[bool] | None = None,
    ) -> GridQuery:
        """The grid's statements, for ``columns`` (default: the listed ones) as a user sees
        them: ``hidden`` columns left out, rows limited by ``scope``."""
        return GridQuery(
            table,
            catalog,
            list(self.columns if columns is None else columns),
            search_columns=self.search,
            filter_columns=self.filters,
            default_sort=self.default_sort,
            hidden=hidden,
            scope=scope,
        )


def _pick(configured: Sequence[str] | None, default: list[str]) -> tuple[str, ...]:
    return tuple(c.lower() for c in configured) if configured is not None else tuple(default)
