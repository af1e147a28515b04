"""Column paths of reports (``dept_id.dept_name``) and the outer joins that reach them.

A path is a chain of foreign-key columns ending in a column of the last table reached. Each
distinct chain is joined once, as its own alias, with a LEFT OUTER JOIN: a row whose
reference is empty (or points at a row the user may not read) keeps its place, with empty
values for the columns reached through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from datadesk.config.roles_check import column_named
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

MAX_STEPS = 4  # references followed by one path; deeper chains are a sign of a wrong path

# What one joined table is read from, given the name to give it: by default an alias of the
# table; a caller may give a subquery instead (e.g. only the rows a user may read).
JoinSource = Callable[[TableInfo, str | None], sa.FromClause]


class PathProblem(ValueError):
    """A path that does not lead to a column; the message says where it stops and why."""


@dataclass(frozen=True)
class ColumnPath:
    """A resolved path: the foreign keys it follows, and the column it ends in."""

    text: str
    steps: tuple[ColumnInfo, ...]  # each a foreign key of the table reached before it
    via: tuple[TableInfo, ...]  # the table holding each step
    table: TableInfo  # the table holding the final column
    column: ColumnInfo

    @property
    def prefix(self) -> tuple[str, ...]:
        """Attribute names of the foreign keys followed (empty: a column of the table)."""
        return tuple(step.name for step in self.steps)

    def reads(self) -> tuple[tuple[TableInfo, ColumnInfo], ...]:
        """Every (table, column) whose value the path reveals: the references and the end."""
        return (*zip(self.via, self.steps, strict=True), (self.table, self.column))

    @property
    def label(self) -> str:
        """The final column's label (the heading a report uses when it is given none)."""
        return self.column.label


def resolve_path(catalog: Catalog, base: TableInfo, text: str) -> ColumnPath:
    """The column a path names, starting at ``base``; PathProblem when it leads nowhere."""
    parts = [part.strip() for part in text.split(".")]
    if not all(parts):
        raise PathProblem(f"'{text}' is not a column path (names separated by dots)")
    if len(parts) > MAX_STEPS + 1:
        raise PathProblem(f"'{text}' follows more than {MAX_STEPS} references")
    table = base
    steps: list[ColumnInfo] = []
    via: list[TableInfo] = []
    for position, part in enumerate(parts):
        column = column_named(table, part)
        if column is None:
            raise PathProblem(f"{table.name} has no column '{part}'{_suggest(part, table)}")
        if position == len(parts) - 1:
            return ColumnPath(text, tuple(steps), tuple(via), table, column)
        fk = column.foreign_key
        target = catalog.get(fk.target_table) if fk is not None else None
        if fk is None or target is None:
            raise PathProblem(
                f"{table.name}.{column.name} references no served table, so '{text}' cannot"
                " go on after it"
            )
        steps.append(column)
        via.append(table)
        table = target
    raise AssertionError("unreachable")  # pragma: no cover


class JoinSet:
    """The FROM clause of one query: a base table and one outer join per path prefix."""

    def __init__(
        self,
        catalog: Catalog,
        base: TableInfo,
        source: sa.FromClause,
        source_for: JoinSource | None = None,
        prefix: str | None = "j",
    ) -> None:
        self.catalog = catalog
        self.base = base
        self.source = source
        self._source_for = source_for
        self._prefix = prefix
        self._aliases: dict[tuple[str, ...], sa.FromClause] = {(): source}
        self._joins: list[tuple[sa.FromClause, sa.ColumnElement[bool]]] = []

    def column(self, path: ColumnPath) -> sa.ColumnElement[Any]:
        """The SQL expression of a path's column, joining what it needs."""
        return self.alias_for(path)[path.column.db_name]

    def alias_for(self, path: ColumnPath) -> Any:
        """The columns collection (``.c``) of the table a path's column lives in."""
        return self._reach(path.steps).c

    def _reach(self, steps: tuple[ColumnInfo, ...]) -> sa.FromClause:
        key = tuple(step.name for step in steps)
        found = self._aliases.get(key)
        if found is not None:
            return found
        parent = self._reach(steps[:-1])
        step = steps[-1]
        fk = step.foreign_key
        assert fk is not None
        target = self.catalog.tables[fk.target_table]
        # Named aliases (j1, j2) read well in logs; inside a subquery they stay anonymous, so
        # that they never clash with the outer query's.
        name = f"{self._prefix}{len(self._joins) + 1}" if self._prefix else None
        alias = (
            self._source_for(target, name)
            if self._source_for is not None
            else target.table.alias(name)
        )
        on = alias.c[target.columns[fk.target_column].db_name] == parent.c[step.db_name]
        self._joins.append((alias, on))
        self._aliases[key] = alias
        return alias

    def from_clause(self) -> sa.FromClause:
        """The base table with every join needed so far, in the order they were needed."""
        clause: Any = self.source
        for alias, on in self._joins:
            clause = clause.outerjoin(alias, on)
        result: sa.FromClause = clause
        return result


def _suggest(name: str, table: TableInfo) -> str:
    """`` (did you mean 'dept_name'?)`` when a column of the table is close enough."""
    import difflib

    close = difflib.get_close_matches(name.lower(), list(table.columns), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
