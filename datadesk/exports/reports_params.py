"""Report parameters: checked once against the catalog, then read from a form or the CLI.

Submitted values arrive as text by field name (``since``, and ``window.from`` /
``window.to`` for a date range, or ``window=2026-01-01..2026-03-31`` from the command line).
Every problem is collected per field, so a form can show each one next to its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from datadesk.config.reports import ReportParameter
from datadesk.config.roles_check import COMPARABLE_KINDS, column_named, rule_value
from datadesk.errors import InvalidInput
from datadesk.exports.reports_filters import FilterSpec, RelativeDay, parse_day, resolve_filters
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

MAX_TEXT = 200
RANGE_SEPARATOR = ".."
RANGE_PARTS = ("from", "to")

# The allowed choice that submitted text names (by its value, or by its label): (value,
# label), or None when the user may not pick it.
ChoiceLookup = Callable[["ParameterSpec", str], tuple[Any, str] | None]


class ParameterProblems(InvalidInput):
    """Submitted parameter values that cannot be used, by field name."""

    def __init__(self, errors: Mapping[str, str], labels: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        summary = "; ".join(f"{labels.get(name, name)}: {text}" for name, text in errors.items())
        super().__init__(summary)


@dataclass(frozen=True)
class ParameterSpec:
    """A checked parameter: its type, default and, for a choice, where its values come from."""

    name: str
    label: str
    type: str
    required: bool
    help: str | None = None
    default: Any = None  # date or RelativeDay; (start, end) of those; a typed value; None
    table: TableInfo | None = None
    column: ColumnInfo | None = None
    where: tuple[FilterSpec, ...] = ()
    options: tuple[Any, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None

    def default_text(self, today: dt.date) -> str | tuple[str, str]:
        """The default as the form shows it (a pair for a date range)."""
        if self.type == "date_range":
            start, end = self.default or (None, None)
            return (_day_text(start, today), _day_text(end, today))
        if self.type == "date":
            return _day_text(self.default, today)
        return "" if self.default is None else str(self.default)


@dataclass(frozen=True)
class ParameterValues:
    """The values of one run by parameter name (None: not given), and how to show them."""

    values: Mapping[str, Any]
    shown: tuple[tuple[str, str], ...]  # (label, value as text) in form order


def resolve_parameters(
    parameters: Mapping[str, ReportParameter], catalog: Catalog, where: str, problems: list[str]
) -> dict[str, ParameterSpec]:
    """The checked parameters; problems appended as ``path: message``."""
    resolved: dict[str, ParameterSpec] = {}
    for name, item in parameters.items():
        here = f"{where}.{name}"
        before = len(problems)
        table = column = None
        choice_where: tuple[FilterSpec, ...] = ()
        if item.type == "choice" and item.table is not None:
            table = catalog.get(item.table)
            if table is None:
                problems.append(f"{here}.table: no such table '{item.table}'")
            else:
                column = column_named(table, item.column or "")
                if column is None or column.kind not in COMPARABLE_KINDS:
                    problems.append(
                        f"{here}.column: {table.name} has no column '{item.column}' whose"
                        " values can be compared"
                    )
                choice_where = resolve_filters(
                    item.where, catalog, table, {}, f"{here}.where", problems
                )
        spec = ParameterSpec(
            name=name,
            label=item.label or name.replace("_", " ").capitalize(),
            type=item.type,
            required=item.required,
            help=item.help,
            table=table,
            column=column,
            where=choice_where,
            options=item.options,
            minimum=item.min,
            maximum=item.max,
        )
        default = None
        if item.default is not None:
            try:
                default = _parse_default(spec, item.default)
            except ValueError as exc:
                problems.append(f"{here}.default: {exc}")
        if len(problems) == before:
            resolved[name] = replace(spec, default=default)
    return resolved


def _parse_default(spec: ParameterSpec, value: Any) -> Any:
    """A configured default in its parameter's type; ValueError when it is not one."""
    if spec.type == "date":
        return parse_day(value)
    if spec.type == "date_range":
        start, separator, end = str(value).partition(RANGE_SEPARATOR)
        if not separator:
            raise ValueError("a date range default is written 'from..to', e.g. 'today..today+90'")
        return (
            parse_day(start) if start.strip() else None,
            parse_day(end) if end.strip() else None,
        )
    if spec.type == "integer":
        return _integer(spec, str(value))
    if spec.type == "choice":
        if spec.options is not None:
            if _option(spec, str(value)) is None:
                raise ValueError(f"{value!r} is not one of the options")
            return value
        if spec.column is not None:
            return rule_value(spec.column.kind, value)
    return str(value)


def parse_values(
    specs: Mapping[str, ParameterSpec],
    raw: Mapping[str, str],
    today: dt.date,
    find_choice: ChoiceLookup,
) -> ParameterValues:
    """Typed values from submitted text; ParameterProblems naming each bad field.

    A field that is absent takes its parameter's default (the command line); a field that is
    present but blank is empty (a form whose field was cleared).
    """
    values: dict[str, Any] = {}
    shown: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for name, spec in specs.items():
        try:
            value, text = _read(spec, raw, today, find_choice)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value is None and spec.required:
            errors[name] = "required"
            continue
        values[name] = value
        shown.append((spec.label, text))
    if errors:
        raise ParameterProblems(errors, {n: s.label for n, s in specs.items()})
    return ParameterValues(values, tuple(shown))


def split_range(text: str) -> tuple[str, str]:
    """``2026-01-01..2026-03-31`` -> its two ends (either may be empty)."""
    start, separator, end = text.partition(RANGE_SEPARATOR)
    if not separator:
        raise ValueError("write a date range as FROM..TO, e.g. 2026-01-01..2026-03-31")
    return start.strip(), end.strip()


def _read(
    spec: ParameterSpec, raw: Mapping[str, str], today: dt.date, find_choice: ChoiceLookup
) -> tuple[Any, str]:
    """(typed value or None, text shown) of one parameter."""
    name = spec.name
    if spec.type == "date_range":
        if name in raw:
            start_text, end_text = split_range(raw[name])
        elif any(f"{name}.{part}" in raw for part in RANGE_PARTS):
            start_text, end_text = (raw.get(f"{name}.{part}", "").strip() for part in RANGE_PARTS)
        else:
            start_text, end_text = (str(t) for t in spec.default_text(today))
        start = _day(start_text, today)
        end = _day(end_text, today)
        if start is None and end is None:
            return None, "any"
        if spec.required and (start is None or end is None):
            raise ValueError("give both the first and the last day")
        if start is not None and end is not None and start > end:
            raise ValueError(f"the first day ({start}) is after the last ({end})")
        return (start, end), f"{start or '…'} to {end or '…'}"
    text = raw[name].strip() if name in raw else str(spec.default_text(today))
    if not text:
        return None, "any"
    if spec.type == "date":
        day = _day(text, today)
        return day, str(day)
    if spec.type == "integer":
        number = _integer(spec, text)
        return number, str(number)
    if spec.type == "text":
        if len(text) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        return text, text
    return _choice(spec, text, find_choice)


def _choice(spec: ParameterSpec, text: str, find_choice: ChoiceLookup) -> tuple[Any, str]:
    if spec.options is not None:
        option = _option(spec, text)
        if option is None:
            raise ValueError(f"'{text[:40]}' is not one of the choices")
        return option, str(option)
    found = find_choice(spec, text)
    if found is None:
        raise ValueError(f"'{text[:40]}' is not one of the choices")
    return found


def _option(spec: ParameterSpec, text: str) -> Any:
    """The configured option written as ``text`` (exactly, else ignoring case), or None."""
    options = spec.options or ()
    exact = [o for o in options if str(o) == text]
    if exact:
        return exact[0]
    folded = [o for o in options if str(o).lower() == text.lower()]
    return folded[0] if len(folded) == 1 else None


def _integer(spec: ParameterSpec, text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValueError(f"'{text[:40]}' is not a whole number") from None
    if spec.minimum is not None and number < spec.minimum:
        raise ValueError(f"at least {spec.minimum}")
    if spec.maximum is not None and number > spec.maximum:
        raise ValueError(f"at most {spec.maximum}")
    return number


def _day(text: str, today: dt.date) -> dt.date | None:
    if not text.strip():
        return None
    day = parse_day(text)
    return day.resolve(today) if isinstance(day, RelativeDay) else day


def _day_text(value: Any, today: dt.date) -> str:
    if value is None:
        return ""
    return (value.resolve(today) if isinstance(value, RelativeDay) else value).isoformat()
