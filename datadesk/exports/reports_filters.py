"""Report filters: checked against the catalog once, turned into WHERE terms at each run.

``resolve_filters`` types every constant by its column and checks every parameter it uses;
``filter_clause`` builds the term from the values of one run. Only catalog columns and bound
values reach the SQL: no text from the config becomes SQL. The row-rule conversions
(``rule_value``) and Oracle's IN-list limit are shared with the access policy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from datadesk.auth.row_scope import ORACLE_IN_LIMIT, no_rows
from datadesk.config.reports import ParamRef, ReportFilter, ReportParameter
from datadesk.config.roles_check import (
    ATTRIBUTE_NAME,
    COMPARABLE_KINDS,
    DATE_KINDS,
    column_named,
    rule_value,
)
from datadesk.exports.reports_paths import ColumnPath, JoinSet, PathProblem, resolve_path
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.grid_query import like_pattern

NUMBER_KINDS = frozenset({"integer", "decimal", "number", "float"})
ORDERED_KINDS = NUMBER_KINDS | DATE_KINDS | {"text", "time"}
RELATIVE_DAY = re.compile(r"today\s*(?:([+-])\s*(\d{1,5}))?", re.IGNORECASE)
VALUE_OPERATORS = ("equals", "not_equals", "at_least", "at_most", "less_than", "more_than")
# What a parameter of each type holds, compared with the family of a column's kind.
PARAMETER_FAMILY = {"date": "date", "date_range": "date", "integer": "number", "text": "text"}


@dataclass(frozen=True)
class RelativeDay:
    """A day counted from the day the report runs: ``today``, ``today-30``, ``today+7``."""

    offset: int

    def resolve(self, today: dt.date) -> dt.date:
        """The day this stands for when the report runs on ``today``."""
        return today + dt.timedelta(days=self.offset)


@dataclass(frozen=True)
class SubquerySpec:
    """Rows of another table for in_table / not_in_table, with their own filters."""

    table: TableInfo
    column: ColumnInfo
    where: tuple[FilterSpec, ...]


@dataclass(frozen=True)
class FilterSpec:
    """A checked filter: its column, operator, and a typed constant or a parameter name."""

    path: ColumnPath
    operator: str
    value: Any = None  # typed constant, RelativeDay, tuple of values, SubquerySpec, attribute
    param: str | None = None  # the parameter giving the value, if one does

    def reads(self) -> tuple[tuple[TableInfo, ColumnInfo], ...]:
        """Every (table, column) the filter looks at, in subqueries too."""
        found = list(self.path.reads())
        if isinstance(self.value, SubquerySpec):
            found.append((self.value.table, self.value.column))
            found.extend(pair for inner in self.value.where for pair in inner.reads())
        return tuple(found)


@dataclass(frozen=True)
class RunValues:
    """What filters need from one run: parameter values, the day, the user's attributes."""

    values: Mapping[str, Any]
    today: dt.date
    attributes: Mapping[str, str]


def parse_day(value: Any) -> dt.date | RelativeDay:
    """A date, or ``today`` give or take days; ValueError for anything else."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = RELATIVE_DAY.fullmatch(text)
    if match:
        sign, days = match.groups()
        return RelativeDay(0 if days is None else int(days) * (-1 if sign == "-" else 1))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text[:40]}' is not a date (YYYY-MM-DD, today, today-30)") from None


def family(kind: str) -> str:
    """Kinds whose values compare with each other: numbers, dates, or the kind itself."""
    if kind in NUMBER_KINDS:
        return "number"
    return "date" if kind in DATE_KINDS else kind


def resolve_filters(
    filters: Sequence[ReportFilter],
    catalog: Catalog,
    base: TableInfo,
    parameters: Mapping[str, ReportParameter],
    where: str,
    problems: list[str],
) -> tuple[FilterSpec, ...]:
    """The checked filters; each problem is appended as ``path: message``."""
    resolved = []
    for position, item in enumerate(filters):
        found = _resolve(item, catalog, base, parameters, f"{where}[{position}]", problems)
        if found is not None:
            resolved.append(found)
    return tuple(resolved)


def _resolve(
    item: ReportFilter,
    catalog: Catalog,
    base: TableInfo,
    parameters: Mapping[str, ReportParameter],
    where: str,
    problems: list[str],
) -> FilterSpec | None:
    try:
        path = resolve_path(catalog, base, item.column)
    except PathProblem as exc:
        problems.append(f"{where}.column: {exc}")
        return None
    operator = item.operator
    operand = item.operand()
    column = path.column
    here = f"{where}.{operator}"
    before = len(problems)
    if operator in {"in_table", "not_in_table"}:
        sub = _resolve_subquery(operand, catalog, column, parameters, here, problems)
        return None if sub is None else FilterSpec(path, operator, sub)
    if operator != "is_empty" and column.kind not in COMPARABLE_KINDS:
        kind = column.type_name or column.kind
        problems.append(f"{where}.column: {column.name} ({kind}) cannot be compared in a filter")
        return None
    if isinstance(operand, ParamRef):
        wanted = _parameter_problem(operator, column, operand.param, parameters, catalog)
        if wanted:
            problems.append(f"{here}.param: {wanted}")
            return None
        return FilterSpec(path, operator, None, operand.param)
    value = _constant(operator, column, operand, here, problems)
    if len(problems) > before:
        return None
    return FilterSpec(path, operator, value)


def _resolve_subquery(
    sub: Any,
    catalog: Catalog,
    column: ColumnInfo,
    parameters: Mapping[str, ReportParameter],
    where: str,
    problems: list[str],
) -> SubquerySpec | None:
    target = catalog.get(sub.table)
    if target is None:
        problems.append(f"{where}.table: no such table '{sub.table}'")
        return None
    target_column = column_named(target, sub.column)
    if target_column is None:
        problems.append(f"{where}.column: {target.name} has no column '{sub.column}'")
        return None
    if target_column.kind not in COMPARABLE_KINDS or family(target_column.kind) != family(
        column.kind
    ):
        problems.append(
            f"{where}.column: {target.name}.{target_column.name} ({target_column.kind}) cannot"
            f" hold the values of {column.name} ({column.kind})"
        )
        return None
    inner = resolve_filters(sub.where, catalog, target, parameters, f"{where}.where", problems)
    return SubquerySpec(target, target_column, inner)


def _parameter_problem(
    operator: str,
    column: ColumnInfo,
    name: str,
    parameters: Mapping[str, ReportParameter],
    catalog: Catalog,
) -> str:
    """Why a parameter cannot feed this operator on this column ('' when it can)."""
    parameter = parameters.get(name)
    if parameter is None:
        known = ", ".join(parameters) or "none"
        return f"no parameter '{name}' (parameters: {known})"
    kind = parameter.type
    if operator == "between":
        return (
            ""
            if kind == "date_range" and column.kind in DATE_KINDS
            else ("between needs a date_range parameter and a date column")
        )
    if kind == "date_range":
        return f"a date_range parameter works with 'between', not '{operator}'"
    if operator in {"within_days", "within_next_days"}:
        return "" if kind == "integer" else f"{operator} needs an integer parameter"
    if operator == "contains":
        return (
            ""
            if kind == "text" and column.kind == "text"
            else ("contains needs a text parameter and a text column")
        )
    if operator not in VALUE_OPERATORS:
        return f"'{operator}' takes a list of values, not a parameter"
    if kind == "choice":
        return _choice_problem(column, parameter, catalog)
    if PARAMETER_FAMILY[kind] != family(column.kind):
        return f"a {kind} parameter cannot be compared with {column.name} ({column.kind})"
    return ""


def _choice_problem(column: ColumnInfo, parameter: ReportParameter, catalog: Catalog) -> str:
    """Why a choice's values cannot be compared with a column ('' when they can)."""
    if parameter.options is not None:
        for option in parameter.options:
            try:
                rule_value(column.kind, option)
            except ValueError as exc:
                return f"option {option!r} of the parameter does not fit {column.name}: {exc}"
        return ""
    table = catalog.get(parameter.table or "")
    source = column_named(table, parameter.column or "") if table is not None else None
    if table is not None and source is not None and family(source.kind) != family(column.kind):
        return (
            f"the parameter offers {table.name}.{source.name} ({source.kind}) values,"
            f" which cannot be compared with {column.name} ({column.kind})"
        )
    return ""  # a choice table or column that does not exist is reported with the parameter


def _constant(
    operator: str, column: ColumnInfo, operand: Any, where: str, problems: list[str]
) -> Any:
    """The typed constant of a filter; problems appended when it does not fit the column."""
    kind = column.kind
    try:
        if operator == "is_empty":
            return bool(operand)
        if operator in {"within_days", "within_next_days"}:
            if kind not in DATE_KINDS:
                raise ValueError(f"needs a date column; {column.name} is {kind}")
            if operand < 0:
                raise ValueError("a number of days is 0 or more")
            return int(operand)
        if operator == "equals_user":
            if not ATTRIBUTE_NAME.fullmatch(str(operand)):
                raise ValueError("an attribute name is letters, digits and '_'")
            return str(operand).lower()
        if operator == "contains":
            if kind != "text":
                raise ValueError(f"needs a text column; {column.name} is {kind}")
            return str(operand)
        if operator in {"in", "not_in"}:
            if not operand:
                raise ValueError("an empty list matches no row")
            return tuple(dict.fromkeys(rule_value(kind, value) for value in operand))
        if operator in VALUE_OPERATORS[2:] and kind not in ORDERED_KINDS:
            raise ValueError(f"{column.name} ({kind}) has no order to compare")
        if kind in DATE_KINDS and not isinstance(operand, bool):
            return parse_day(operand)
        return rule_value(kind, operand)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def filter_clause(
    spec: FilterSpec, joins: JoinSet, run: RunValues
) -> sa.ColumnElement[bool] | None:
    """The WHERE term of a filter for one run; None when its optional parameter is empty."""
    if spec.param is not None and run.values.get(spec.param) is None:
        return None
    sql = joins.column(spec.path)
    column = spec.path.column
    operator = spec.operator
    value = run.values[spec.param] if spec.param is not None else spec.value
    if operator in {"in_table", "not_in_table"}:
        sub: SubquerySpec = spec.value
        source = sub.table.table.alias()
        inner = JoinSet(joins.catalog, sub.table, source, prefix=None)
        target = source.c[sub.column.db_name]
        terms = [t for t in (filter_clause(s, inner, run) for s in sub.where) if t is not None]
        if operator == "in_table":
            select = sa.select(target).select_from(inner.from_clause()).where(*terms)
            return sql.in_(select.correlate(None))
        select = (
            sa.select(target).select_from(inner.from_clause()).where(target.isnot(None), *terms)
        )
        return sa.or_(sql.is_(None), sql.not_in(select.correlate(None)))
    if operator == "is_empty":
        return sql.is_(None) if value else sql.isnot(None)
    if operator == "equals_user":
        try:
            typed = rule_value(column.kind, run.attributes.get(value))
        except ValueError:
            return no_rows()  # a user without the attribute matches nothing, as in row rules
        return sql == typed
    if operator == "contains":
        return sa.func.lower(sql).like(like_pattern(str(value)), escape="\\")
    if operator in {"within_days", "within_next_days"}:
        days = int(value)
        if operator == "within_days":
            return _compare(column, sql, "at_least", run.today - dt.timedelta(days=days))
        return sa.and_(
            _compare(column, sql, "at_least", run.today),
            _compare(column, sql, "at_most", run.today + dt.timedelta(days=days)),
        )
    if operator == "between":
        start, end = value
        terms = [_compare(column, sql, "at_least", start)] if start is not None else []
        terms += [_compare(column, sql, "at_most", end)] if end is not None else []
        return sa.and_(*terms) if terms else None
    if operator in {"in", "not_in"}:
        return _one_of(sql, value, negate=operator == "not_in")
    if isinstance(value, RelativeDay):
        value = value.resolve(run.today)
    if operator in {"equals", "not_equals"}:
        typed = rule_value(column.kind, value)
        return sql == typed if operator == "equals" else sa.and_(sql.isnot(None), sql != typed)
    return _compare(column, sql, operator, value)


def _compare(
    column: ColumnInfo, sql: sa.ColumnElement[Any], operator: str, value: Any
) -> sa.ColumnElement[bool]:
    """An order comparison; a day compared with a date-and-time column covers the whole day."""
    if (
        column.kind == "datetime"
        and isinstance(value, dt.date)
        and not isinstance(value, dt.datetime)
    ):
        start = dt.datetime.combine(value, dt.time.min)
        next_day = start + dt.timedelta(days=1)
        bounds = {
            "at_least": sql >= start,
            "less_than": sql < start,
            "at_most": sql < next_day,
            "more_than": sql >= next_day,
        }
        return bounds[operator]
    typed = rule_value(column.kind, value)
    terms = {
        "at_least": sql >= typed,
        "at_most": sql <= typed,
        "less_than": sql < typed,
        "more_than": sql > typed,
    }
    return terms[operator]


def _one_of(
    sql: sa.ColumnElement[Any], values: Sequence[Any], *, negate: bool
) -> sa.ColumnElement[bool]:
    """IN (or NOT IN) lists of at most 1000 values each (Oracle's limit), joined."""
    if not values:
        return no_rows()
    chunks = [values[i : i + ORACLE_IN_LIMIT] for i in range(0, len(values), ORACLE_IN_LIMIT)]
    if negate:
        return sa.and_(sql.isnot(None), *(sql.not_in(chunk) for chunk in chunks))
    terms = [sql.in_(chunk) for chunk in chunks]
    return terms[0] if len(terms) == 1 else sa.or_(*terms)
