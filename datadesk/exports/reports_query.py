"""The SELECTs of one report sheet, as one user may see it, for one run's parameter values.

What the user's roles allow is applied here, from the access policy alone:

- rows of the report's table: those ``where_for("export")`` allows;
- rows reached through a reference: joined from a subquery of the rows the user may export
  from that table, so values of other rows come out empty (and never count in aggregates);
- columns: a column that reads a value hidden from the user (its own column, or a reference
  on its path), or reads a table the user may not export, is left out of the sheet, together
  with its sum, average or group; the sheet's preamble names what was left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.exports.reports_filters import FilterSpec, RunValues, filter_clause
from datadesk.exports.reports_paths import ColumnPath, JoinSet
from datadesk.exports.reports_spec import ColumnSpec, ReportSpec, SheetSpec
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sum": sa.func.sum,
    "avg": sa.func.avg,
    "min": sa.func.min,
    "max": sa.func.max,
}


@dataclass(frozen=True)
class SheetPlan:
    """One sheet as this user gets it: the columns shown, what was left out, the SELECTs."""

    sheet: SheetSpec
    columns: tuple[ColumnSpec, ...]
    left_out: tuple[str, ...]  # labels of the columns the user may not see
    rows: sa.Select[Any]
    overall: sa.Select[Any] | None  # one row: the totals computed over all rows, if any


class ReportQuery:
    """Builds the sheets of one report for one actor."""

    def __init__(self, spec: ReportSpec, catalog: Catalog, policy: RolePolicy, actor: Actor):
        self.spec = spec
        self.catalog = catalog
        self.policy = policy
        self.actor = actor

    def may_see(self, reads: Sequence[tuple[TableInfo, ColumnInfo]]) -> bool:
        """Whether every (table, column) read is one the actor may export and see."""
        for table, column in reads:
            access = self.policy.access(self.actor, table.name)
            if not access.can("export") or column.name in access.hidden:
                return False
        return True

    def plan(self, sheet: SheetSpec, run: RunValues, limit: int | None = None) -> SheetPlan:
        """The sheet's SELECTs; ``limit`` caps the rows fetched (ask one more than allowed)."""
        shown = tuple(c for c in sheet.columns if self.may_see(c.reads()))
        left_out = tuple(c.label for c in sheet.columns if c not in shown)
        rows = self._select(sheet, shown, run, grouped=sheet.is_grouped, ordered=True)
        if limit is not None:
            rows = rows.limit(limit)
        overall_columns = tuple(c for c in shown if c.total == "overall")
        overall = (
            self._select(sheet, overall_columns, run, grouped=False, ordered=False)
            if sheet.totals and overall_columns
            else None
        )
        return SheetPlan(sheet, shown, left_out, rows, overall)

    def _select(
        self,
        sheet: SheetSpec,
        columns: Sequence[ColumnSpec],
        run: RunValues,
        *,
        grouped: bool,
        ordered: bool,
    ) -> sa.Select[Any]:
        base = self.spec.table
        joins = JoinSet(self.catalog, base, base.table, source_for=self._readable_rows)
        terms = self._terms((*self.spec.filters, *sheet.filters), joins, run)
        scope = self.policy.access(self.actor, base.name).where_for("export")
        if scope is not None:
            terms.append(scope)
        expressions = [
            self._expression(column, joins, run).label(column.export.name) for column in columns
        ]
        keys = [e for e, c in zip(expressions, columns, strict=True) if c.aggregate is None]
        order: list[sa.ColumnElement[Any]] = []
        if ordered:
            order = self._order(sheet, columns, expressions, joins)
            if not grouped:  # the key breaks ties, unless the user may not see it
                keys = [base.columns[name] for name in base.primary_key]
                order += [
                    base.table.c[key.db_name]
                    for key in keys
                    if key.is_sortable and self.may_see([(base, key)])
                ]
        stmt = sa.select(*expressions).select_from(joins.from_clause()).where(*terms)
        if grouped and keys:
            stmt = stmt.group_by(*keys)
        return stmt.order_by(*order) if order else stmt

    def _readable_rows(self, table: TableInfo, name: str | None) -> sa.FromClause:
        """A referenced table as joined: only the rows the actor may export from it."""
        scope = self.policy.access(self.actor, table.name).where_for("export")
        if scope is None:
            return table.table.alias(name)
        return sa.select(*table.table.c).where(scope).subquery(name)

    def _terms(
        self, filters: Sequence[FilterSpec], joins: JoinSet, run: RunValues
    ) -> list[sa.ColumnElement[bool]]:
        clauses = (filter_clause(item, joins, run) for item in filters)
        return [clause for clause in clauses if clause is not None]

    def _expression(self, column: ColumnSpec, joins: JoinSet, run: RunValues) -> Any:
        """A column's value, or its aggregate over the rows its ``where`` keeps."""
        value: Any = joins.column(column.path) if column.path is not None else None
        if column.aggregate is None:
            return value
        conditions = self._terms(column.where, joins, run)
        condition = sa.and_(*conditions) if conditions else None
        if column.aggregate == "share":
            assert condition is not None  # the config requires 'where' for a share
            return sa.func.avg(sa.case((condition, 1.0), else_=0.0))
        if column.aggregate == "count":
            if value is None:
                return (
                    sa.func.count() if condition is None else sa.func.count(sa.case((condition, 1)))
                )
            return sa.func.count(value if condition is None else sa.case((condition, value)))
        function = _FUNCTIONS[column.aggregate]
        return function(value if condition is None else sa.case((condition, value)))

    def _order(
        self,
        sheet: SheetSpec,
        columns: Sequence[ColumnSpec],
        expressions: Sequence[Any],
        joins: JoinSet,
    ) -> list[sa.ColumnElement[Any]]:
        """ORDER BY of the sort entries whose columns the actor may see."""
        order: list[sa.ColumnElement[Any]] = []
        for item in sheet.sort:
            if isinstance(item.target, ColumnPath):
                if not self.may_see(item.target.reads()):
                    continue
                expression: Any = joins.column(item.target)
            else:
                column = sheet.columns[item.target]
                if column not in columns:
                    continue
                expression = expressions[list(columns).index(column)]
            order.append(expression.desc() if item.descending else expression.asc())
        return order
