"""Row rules resolved against the catalog: each one a WHERE term and the same test in Python.

A rule from ``datadesk.yaml`` becomes a ``Condition`` once, when the policy is built; rules on
a user attribute are bound to an actor's attributes when that actor's access is computed.
Conditions only build SQLAlchemy expressions from catalog columns and bound values: no text
from the config ever becomes SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa

from datadesk.config.roles_check import COMPARABLE_KINDS, DATE_KINDS, column_named, rule_value
from datadesk.config.schema import RowRule
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

ORACLE_IN_LIMIT = 1000  # Oracle refuses IN lists of more than 1000 expressions (ORA-01795)


def no_rows() -> sa.ColumnElement[bool]:
    """A WHERE term no row satisfies, valid on every database.

    Not ``sa.false()``: without a boolean type, Oracle gets ``WHERE 0``, which it refuses.
    """
    return sa.literal_column("1") == sa.literal_column("0")


class Executor(Protocol):
    """A Connection or Session: what an in_table rule needs to check values in Python."""

    def execute(self, statement: Any, /) -> Any: ...


class ScopeCheckNeedsDatabase(RuntimeError):
    """A row check on values needs a connection because a rule looks into another table."""


class Condition:
    """One resolved row rule; the base matches nothing, so an unusable rule fails closed."""

    needs_database: ClassVar[bool] = False  # checking values in Python runs a query

    def user_attributes(self) -> frozenset[str]:
        """The attributes of the acting user this condition reads."""
        return frozenset()

    def bind(self, attributes: Mapping[str, str]) -> Condition:
        """This condition with the acting user's attribute values filled in."""
        return self

    def clause(self, today: dt.date) -> sa.ColumnElement[bool]:
        """The WHERE term selecting the rows that satisfy the condition."""
        return no_rows()

    def matches(
        self, values: Mapping[str, Any], today: dt.date, connection: Executor | None
    ) -> bool:
        """Whether a row with these values (by attribute name) satisfies the condition."""
        return False


NEVER = Condition()


@dataclass(frozen=True, eq=False)
class OneOf(Condition):
    """The column equals one of ``values`` (already of the column's type)."""

    column: ColumnInfo
    sql: sa.ColumnElement[Any]
    values: tuple[Any, ...]
    _lookup: frozenset[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", frozenset(self.values))

    def clause(self, today: dt.date) -> sa.ColumnElement[bool]:
        """``col = v``, ``col IN (...)``, or IN lists of at most 1000 joined by OR."""
        if not self.values:
            return no_rows()
        if len(self.values) == 1:
            return self.sql == self.values[0]
        chunks = [
            self.sql.in_(self.values[start : start + ORACLE_IN_LIMIT])
            for start in range(0, len(self.values), ORACLE_IN_LIMIT)
        ]
        return chunks[0] if len(chunks) == 1 else sa.or_(*chunks)

    def matches(
        self, values: Mapping[str, Any], today: dt.date, connection: Executor | None
    ) -> bool:
        """The row's value, converted to the column's type, is one of the values."""
        value = _typed(self.column, values.get(self.column.name))
        return value is not None and value in self._lookup


@dataclass(frozen=True, eq=False)
class EqualsUser(Condition):
    """The column equals an attribute of the acting user; unbound, it matches nothing."""

    column: ColumnInfo
    sql: sa.ColumnElement[Any]
    attribute: str

    def user_attributes(self) -> frozenset[str]:
        """The one attribute this rule reads."""
        return frozenset({self.attribute})

    def bind(self, attributes: Mapping[str, str]) -> Condition:
        """Equality with the user's value; a missing or unusable value matches nothing."""
        value = _typed(self.column, attributes.get(self.attribute))
        return NEVER if value is None else OneOf(self.column, self.sql, (value,))


@dataclass(frozen=True, eq=False)
class WithinDays(Condition):
    """The column (a date) is at most ``days`` days before today, or later."""

    column: ColumnInfo
    sql: sa.ColumnElement[Any]
    days: int

    def clause(self, today: dt.date) -> sa.ColumnElement[bool]:
        """``col >= cutoff``, the cutoff as a datetime at midnight for columns with a time."""
        cutoff = today - dt.timedelta(days=self.days)
        if self.column.kind == "datetime":
            return self.sql >= dt.datetime.combine(cutoff, dt.time.min)
        return self.sql >= cutoff

    def matches(
        self, values: Mapping[str, Any], today: dt.date, connection: Executor | None
    ) -> bool:
        """The row's date (or the day of its date and time) is on or after the cutoff."""
        value = values.get(self.column.name)
        try:
            day = rule_value("date", value)
        except ValueError:
            return False
        return bool(day >= today - dt.timedelta(days=self.days))


@dataclass(frozen=True, eq=False)
class InTable(Condition):
    """The column holds a value of another table's column, in rows satisfying ``where``."""

    column: ColumnInfo
    sql: sa.ColumnElement[Any]
    target: TableInfo
    target_column: ColumnInfo
    alias: sa.FromClause
    where: tuple[Condition, ...]
    needs_database: ClassVar[bool] = True

    @property
    def target_sql(self) -> sa.ColumnElement[Any]:
        """The other table's column, in this rule's own alias of that table."""
        return self.alias.c[self.target_column.db_name]

    def user_attributes(self) -> frozenset[str]:
        """The attributes the inner rules read."""
        return frozenset().union(*(c.user_attributes() for c in self.where))

    def bind(self, attributes: Mapping[str, str]) -> Condition:
        """The same subquery with its inner rules bound."""
        return replace(self, where=tuple(c.bind(attributes) for c in self.where))

    def _subquery(self, today: dt.date) -> sa.Select[Any]:
        select = sa.select(self.target_sql).where(*(c.clause(today) for c in self.where))
        # The subquery reads its own alias of the other table; never let SQLAlchemy correlate
        # it with an outer FROM of the same table, which would change its meaning.
        return select.correlate(None)

    def clause(self, today: dt.date) -> sa.ColumnElement[bool]:
        """``col IN (SELECT other.col FROM other WHERE ...)``."""
        if NEVER in self.where:
            return no_rows()
        return self.sql.in_(self._subquery(today))

    def matches(
        self, values: Mapping[str, Any], today: dt.date, connection: Executor | None
    ) -> bool:
        """Looks the value up in the other table: needs ``connection``."""
        value = _typed(self.target_column, values.get(self.column.name))
        if value is None or NEVER in self.where:
            return False
        if connection is None:
            raise ScopeCheckNeedsDatabase(
                f"the row rule on {self.column.name} looks into {self.target.name}:"
                " pass a connection to check values"
            )
        query = (
            sa.select(sa.literal(1))
            .select_from(self.alias)
            .where(self.target_sql == value, *(c.clause(today) for c in self.where))
            .limit(1)
        )
        return connection.execute(query).first() is not None


def resolve_rule(
    rule: RowRule, info: TableInfo, source: sa.FromClause, catalog: Catalog
) -> Condition:
    """The Condition of a rule on ``info``'s columns as found in ``source`` (table or alias).

    Rules that cannot be enforced (unknown column, wrong value type) match nothing; the config
    check reports them before the policy is ever built.
    """
    column = column_named(info, rule.column)
    operators = rule.operators
    if column is None or len(operators) != 1:
        return NEVER
    sql = source.c[column.db_name]
    operator = operators[0]
    if operator == "within_days":
        if column.kind not in DATE_KINDS or rule.within_days is None:
            return NEVER
        return WithinDays(column, sql, rule.within_days)
    if column.kind not in COMPARABLE_KINDS:
        return NEVER
    try:
        if operator == "equals":
            return OneOf(column, sql, (rule_value(column.kind, rule.equals),))
        if operator == "in":
            typed = (rule_value(column.kind, value) for value in rule.in_ or ())
            return OneOf(column, sql, tuple(dict.fromkeys(typed)))
    except ValueError:
        return NEVER
    if operator == "equals_user" and rule.equals_user:
        return EqualsUser(column, sql, rule.equals_user.lower())
    if operator == "in_table" and rule.in_table is not None:
        target = catalog.get(rule.in_table.table)
        target_column = column_named(target, rule.in_table.column) if target else None
        if target is None or target_column is None or target_column.kind not in COMPARABLE_KINDS:
            return NEVER
        alias = target.table.alias()
        where = tuple(resolve_rule(inner, target, alias, catalog) for inner in rule.in_table.where)
        return InTable(column, sql, target, target_column, alias, where)
    return NEVER


def all_of(conditions: Sequence[Condition], today: dt.date) -> sa.ColumnElement[bool] | None:
    """The AND of the conditions' WHERE terms; None when there are none (every row)."""
    if not conditions:
        return None
    clauses = [c.clause(today) for c in conditions]
    return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)


def _typed(column: ColumnInfo, value: Any) -> Any:
    """``value`` as the column's type, or None when it is missing or not of that type."""
    try:
        return rule_value(column.kind, value)
    except ValueError:
        return None
