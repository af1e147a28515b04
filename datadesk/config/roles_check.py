"""Cross-check the ``roles`` section against the reflected catalog; messages name the YAML path.

Also home of the two rules the access policy shares with this check, so that what the check
accepts is exactly what the policy can enforce: how a name finds a column
(``column_named``) and how a rule value becomes a column's type (``rule_value``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from datadesk.config.schema import Config, RowRule, TableGrant

if TYPE_CHECKING:
    from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

ADMIN_ROLE = "admin"
ALL_TABLES = "*"
COMPARABLE_KINDS = frozenset(
    {"text", "integer", "decimal", "number", "float", "date", "datetime", "time", "boolean", "guid"}
)
DATE_KINDS = frozenset({"date", "datetime"})
ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")  # as the users pages accept
_TRUE = frozenset({"y", "yes", "t", "true", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "0"})


def column_named(info: TableInfo, name: str) -> ColumnInfo | None:
    """The column called ``name`` (attribute or database name, any case), or None."""
    lowered = name.lower()
    if lowered in info.columns:
        return info.columns[lowered]
    for column in info.columns.values():
        if column.db_name.lower() == lowered:
            return column
    return None


def rule_value(kind: str, value: Any) -> Any:
    """``value`` as the Python type of a column of ``kind``; ValueError when it is not one.

    Used on config values, user attributes (always text) and submitted row values alike, so
    an integer key and the attribute text '3' compare equal.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("no value (empty text is NULL on Oracle and matches no row)")
    if kind not in COMPARABLE_KINDS:
        raise ValueError(f"a {kind} column cannot be compared")
    if isinstance(value, bool) and kind != "boolean":
        raise ValueError(f"{str(value).lower()} is a yes/no value, not {_a(kind)} (quote it?)")
    try:
        return _convert(kind, value)
    except (ValueError, TypeError, ArithmeticError):
        raise ValueError(f"{str(value)[:40]!r} is not {_a(kind)} value") from None


def _convert(kind: str, value: Any) -> Any:
    """The conversion behind ``rule_value``; raises on values of the wrong shape."""
    text = value.strip() if isinstance(value, str) else None
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueError(value)
    if kind in {"integer", "decimal", "number"}:
        number = Decimal(text if text is not None else str(value))
        if not number.is_finite():
            raise ValueError(value)
        if kind == "integer":
            if number != number.to_integral_value():
                raise ValueError(value)
            return int(number)
        return number
    if kind == "float":
        return float(text if text is not None else value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.datetime.fromisoformat(str(text)).date()
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time.min)
        return dt.datetime.fromisoformat(str(text))
    if kind == "time":
        return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(text))
    # guid
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bytes) and len(value) == 16:
        return uuid.UUID(bytes=value)
    return uuid.UUID(str(text))


def find_role_problems(config: Config, catalog: Catalog) -> list[str]:
    """Messages like ``roles.clerk.tables.staf: no such table``; [] when the roles are sound."""
    problems: list[str] = []
    for role_name, role in config.roles.items():
        path = f"roles.{role_name}"
        if not ROLE_NAME.fullmatch(role_name):
            problems.append(
                f"{path}: a role name is letters, digits, '_', '.' and '-', starting with a letter"
            )
        if role_name == ADMIN_ROLE and (role.tables or role.manage_users or role.audit):
            problems.append(
                f"{path}: the admin role may always do everything; give it only a label and a"
                " description"
            )
        first: dict[str, str] = {}
        for table_key, grant in role.tables.items():
            table_path = f"{path}.tables.{table_key}"
            earlier = first.setdefault(table_key.lower(), table_key)
            if earlier != table_key:
                problems.append(
                    f"{table_path}: same table as '{earlier}' (table names are not"
                    " case-sensitive); merge the two"
                )
            elif table_key == ALL_TABLES:
                problems.extend(_all_tables_problems(table_path, grant, catalog))
            else:
                info = catalog.get(table_key)
                if info is None:
                    problems.append(f"{table_path}: {_missing_table(table_key, config, catalog)}")
                else:
                    problems.extend(_grant_problems(table_path, grant, info, catalog))
    return problems


def _grant_problems(path: str, grant: TableGrant, info: TableInfo, catalog: Catalog) -> list[str]:
    """Unknown columns and unusable rules in one table's grant."""
    problems: list[str] = []
    for option in ("hidden", "read_only"):
        for position, name in enumerate(getattr(grant, option)):
            if column_named(info, name) is None:
                problems.append(
                    f"{path}.{option}[{position}]: no such column {name!r}"
                    f"{_suggest(name, info.columns)}"
                )
    for position, rule in enumerate(grant.rows):
        problems.extend(_rule_problems(f"{path}.rows[{position}]", rule, info, catalog))
    return problems


def _all_tables_problems(path: str, grant: TableGrant, catalog: Catalog) -> list[str]:
    """A '*' grant names columns of no table in particular: each must exist in some table."""
    problems: list[str] = []
    everywhere = [c for info in catalog.tables.values() for c in info.columns]
    for option in ("hidden", "read_only"):
        for position, name in enumerate(getattr(grant, option)):
            if not _tables_with(catalog, name):
                problems.append(
                    f"{path}.{option}[{position}]: no table has a column {name!r}"
                    f"{_suggest(name, everywhere)}"
                )
    for position, rule in enumerate(grant.rows):
        rule_path = f"{path}.rows[{position}]"
        tables = _tables_with(catalog, rule.column)
        if not tables and len(rule.operators) == 1:
            problems.append(
                f"{rule_path}.column: no table has a column {rule.column!r}"
                f"{_suggest(rule.column, everywhere)}"
            )
        targets: list[TableInfo | None] = [*tables] or [None]
        found = (_rule_problems(rule_path, rule, info, catalog) for info in targets)
        problems.extend(dict.fromkeys(p for group in found for p in group))
    return problems


def _rule_problems(path: str, rule: RowRule, info: TableInfo | None, catalog: Catalog) -> list[str]:
    """What keeps one row rule from being enforced on ``info`` (None: only the rule's shape)."""
    operators = rule.operators
    if len(operators) != 1:
        found = " and ".join(operators) if operators else "none"
        return [
            f"{path}: a row rule needs exactly one of equals, equals_user, in, within_days,"
            f" in_table (found {found})"
        ]
    if info is None:
        return []
    column = column_named(info, rule.column)
    if column is None:
        return [
            f"{path}.column: no such column {rule.column!r}{_suggest(rule.column, info.columns)}"
        ]
    operator = operators[0]
    described = f"{info.name}.{column.name} is {column.type_name or column.kind}"
    if operator == "within_days":
        return (
            []
            if column.kind in DATE_KINDS
            else [f"{path}.within_days: needs a date column; {described}"]
        )
    if column.kind not in COMPARABLE_KINDS:
        return [f"{path}.column: cannot be compared in a row rule; {described}"]
    if operator == "equals":
        return _value_problems(f"{path}.equals", column, [rule.equals])
    if operator == "in":
        values = rule.in_ or ()
        if not values:
            return [f"{path}.in: an empty list matches no row"]
        return [
            problem
            for position, value in enumerate(values)
            for problem in _value_problems(f"{path}.in[{position}]", column, [value])
        ]
    if operator == "equals_user":
        if not ATTRIBUTE_NAME.fullmatch(rule.equals_user or ""):
            return [f"{path}.equals_user: an attribute name is letters, digits and '_'"]
        return []
    return _subquery_problems(f"{path}.in_table", rule, column, catalog)


def _subquery_problems(path: str, rule: RowRule, column: ColumnInfo, catalog: Catalog) -> list[str]:
    """An in_table rule: the other table and column exist, compare with ours, rules hold."""
    sub = rule.in_table
    assert sub is not None
    target = catalog.get(sub.table)
    if target is None:
        return [f"{path}.table: no such table{_suggest(sub.table, catalog.tables)}"]
    target_column = column_named(target, sub.column)
    if target_column is None:
        return [
            f"{path}.column: no such column {sub.column!r}{_suggest(sub.column, target.columns)}"
        ]
    if target_column.kind not in COMPARABLE_KINDS:
        return [
            f"{path}.column: cannot be compared in a row rule; {target.name}.{target_column.name}"
            f" is {target_column.type_name or target_column.kind}"
        ]
    problems: list[str] = []
    if _family(target_column.kind) != _family(column.kind):
        problems.append(
            f"{path}.column: {target.name}.{target_column.name} ({target_column.kind}) cannot hold"
            f" the values of {column.name} ({column.kind})"
        )
    for position, inner in enumerate(sub.where):
        problems.extend(_rule_problems(f"{path}.where[{position}]", inner, target, catalog))
    return problems


def _value_problems(path: str, column: ColumnInfo, values: Iterable[Any]) -> list[str]:
    """A message for each value that is not of the column's type."""
    problems = []
    for value in values:
        try:
            rule_value(column.kind, value)
        except ValueError as exc:
            problems.append(f"{path}: {exc} for {column.name}")
    return problems


def _family(kind: str) -> str:
    """Kinds whose values compare with each other: numbers with numbers, dates with dates."""
    if kind in {"integer", "decimal", "number", "float"}:
        return "number"
    return "date" if kind in DATE_KINDS else kind


def _tables_with(catalog: Catalog, name: str) -> list[TableInfo]:
    """The tables that have a column called ``name``."""
    return [info for info in catalog.tables.values() if column_named(info, name) is not None]


def _missing_table(name: str, config: Config, catalog: Catalog) -> str:
    """Why a named table is not in the catalog: not served, or no such table."""
    lowered = name.lower()
    database = config.database
    included = any(fnmatch.fnmatchcase(lowered, p.lower()) for p in database.include)
    if not included or any(fnmatch.fnmatchcase(lowered, p.lower()) for p in database.exclude):
        return "table is not served (excluded by database.include/exclude)"
    return f"no such table{_suggest(name, catalog.tables)}"


def _suggest(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'staff'?)`` when a candidate is close enough, else ''."""
    close = difflib.get_close_matches(
        name.lower(), list(dict.fromkeys(candidates)), n=1, cutoff=0.6
    )
    return f" (did you mean {close[0]!r}?)" if close else ""


def _a(kind: str) -> str:
    """'an integer', 'a date'."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
