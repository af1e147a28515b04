"""Foreign keys found by a natural key (a department by its code), and checks that values
written straight into foreign-key columns exist: batched queries, results remembered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from datadesk.auth.row_scope import all_of, resolve_rule
from datadesk.config.roles_check import column_named
from datadesk.config.schema import ImportColumn
from datadesk.errors import InvalidInput
from datadesk.importers.transforms import ValueProblem
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

BATCH_ROWS = 500  # values per query; Oracle allows 1000 items in IN
LOOKUP_CACHE_LIMIT = 200_000  # natural keys remembered per lookup column


class Lookup:
    """Finds the key of a referenced row by a natural key (e.g. a department by its code)."""

    def __init__(
        self,
        conn: sa.Connection,
        target: TableInfo,
        by: ColumnInfo,
        returned: ColumnInfo,
        where: sa.ColumnElement[bool] | None = None,
    ) -> None:
        self.conn = conn
        self.target = target
        self.by = by
        self.returns = target.table.c[returned.db_name]
        self.where = where
        self.cache: dict[Any, list[Any]] = {}
        self.found: dict[Any, Any] = {}  # natural keys matching exactly one row: their key

    @classmethod
    def configured(
        cls,
        conn: sa.Connection,
        catalog: Catalog,
        target: TableInfo,
        spec: ImportColumn,
        referencing: ColumnInfo,
        attributes: Mapping[str, str],
    ) -> Lookup:
        """The lookup a profile column asks for (``lookup: {table, column, where}``)."""
        assert spec.lookup is not None
        by = column_named(target, spec.lookup.column)
        if by is None:
            raise InvalidInput(f"lookup: {target.label} has no column {spec.lookup.column}")
        # The referenced column: the foreign key's target, else the target's key.
        fk = referencing.foreign_key
        if fk is not None and fk.target_table == target.name:
            returned = target.columns[fk.target_column]
        elif len(target.primary_key) == 1:
            returned = target.columns[target.primary_key[0]]
        else:
            raise InvalidInput(
                f"lookup of {referencing.label}: {target.label} is not the table it references"
            )
        conditions = tuple(
            resolve_rule(rule, target, target.table, catalog).bind(attributes)
            for rule in spec.lookup.where
        )
        where = all_of(conditions, dt.date.today()) if conditions else None
        return cls(conn, target, by, returned, where)

    @classmethod
    def reference_check(
        cls, conn: sa.Connection, catalog: Catalog, referencing: ColumnInfo
    ) -> Lookup | None:
        """For a foreign-key column filled directly: checks that each value exists (a clear
        message on the cell, instead of the database's refusal of the whole row)."""
        fk = referencing.foreign_key
        target = catalog.get(fk.target_table) if fk is not None else None
        if fk is None or target is None:
            return None
        column = target.columns[fk.target_column]
        return cls(conn, target, column, column)

    def resolve(self, values: Iterable[Any]) -> None:
        """Fetch the keys of the values not seen yet, in batches."""
        wanted = [v for v in {v for v in values if v is not None} if v not in self.cache]
        if len(self.cache) + len(wanted) > LOOKUP_CACHE_LIMIT:
            self.cache.clear()
            self.found.clear()
        column = self.target.table.c[self.by.db_name]
        for start in range(0, len(wanted), BATCH_ROWS):
            chunk = wanted[start : start + BATCH_ROWS]
            stmt = sa.select(column, self.returns).where(column.in_(chunk))
            if self.where is not None:
                stmt = stmt.where(self.where)
            for value in chunk:
                self.cache[value] = []
            for natural, key in self.conn.execute(stmt):
                self.cache.setdefault(natural, []).append(key)
            for value in chunk:
                keys = self.cache.get(value)
                if keys is not None and len(keys) == 1:
                    self.found[value] = keys[0]

    def key_of(self, value: Any) -> Any:
        """The referenced key, or ValueProblem when there is none or more than one."""
        found = self.cache.get(value, [])
        if len(found) == 1:
            return found[0]
        what = f"{self.target.label} ({self.by.label})"
        if not found:
            raise ValueProblem(f"'{value}' was not found in {what}")
        raise ValueProblem(f"'{value}' matches {len(found)} rows of {what}; it must be unique")
