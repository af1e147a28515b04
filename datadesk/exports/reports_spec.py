"""The ``reports`` of the config resolved against the reflected catalog: ``ReportSpec``s.

Resolution is the check: ``resolve_reports`` returns the specs and every problem as
``reports.<name>.<path>: message``, so what the check accepts is exactly what a run can
build. ``find_report_problems`` adds the checks that need the access policy (roles that may
run a report can export its table, and are not shown hidden columns through its filters).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from datadesk.auth.actor import ADMIN_ROLE, Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.reports import NAME, ReportColumn, ReportConfig, ReportSheet
from datadesk.config.schema import Config
from datadesk.exports.columns import CellKind, ExportColumn
from datadesk.exports.reports_filters import (
    NUMBER_KINDS,
    ORDERED_KINDS,
    FilterSpec,
    resolve_filters,
)
from datadesk.exports.reports_params import ParameterSpec, resolve_parameters
from datadesk.exports.reports_paths import ColumnPath, PathProblem, resolve_path
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo

GROUP_KINDS = ORDERED_KINDS | {"boolean", "guid"}  # what GROUP BY and ORDER BY accept everywhere
SHARE_FORMAT = "0.0%"
AVERAGE_FORMAT = "#,##0.00"
# How a totals row cell is computed: an aggregate of the sheet's cells (the writer's SUBTOTAL,
# which follows the reader's filter), or "overall": the column's aggregate over all rows (SQL).
TotalKind = Literal["sum", "count", "average", "min", "max", "overall"]
_CELL_TOTAL: dict[str, TotalKind] = {
    "count": "count",
    "sum": "sum",
    "avg": "average",
    "min": "min",
    "max": "max",
}
# A grouped column's own aggregate over all rows, computed from its group cells when it can be.
_GROUPED_OWN_TOTAL: dict[str, TotalKind] = {
    "count": "sum",
    "sum": "sum",
    "min": "min",
    "max": "max",
    "avg": "overall",
    "share": "overall",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One checked sheet column: what it shows, how it is written, and its total."""

    key: str  # what the sheet's sort calls it
    label: str
    path: ColumnPath | None  # None: a count or share of rows
    aggregate: str | None
    where: tuple[FilterSpec, ...]
    export: ExportColumn
    total: TotalKind | None

    def reads(self) -> tuple[tuple[TableInfo, ColumnInfo], ...]:
        """The (table, column) pairs whose values this column reveals."""
        return self.path.reads() if self.path is not None else ()


@dataclass(frozen=True)
class SortSpec:
    """One ORDER BY item: a column of the sheet (by position) or, in detail sheets, any path."""

    target: int | ColumnPath
    descending: bool


@dataclass(frozen=True)
class SheetSpec:
    """One checked sheet."""

    name: str
    columns: tuple[ColumnSpec, ...]
    filters: tuple[FilterSpec, ...]
    sort: tuple[SortSpec, ...]
    totals: bool
    is_grouped: bool


@dataclass(frozen=True)
class ReportSpec:
    """A report resolved against the catalog, ready to run for any user allowed to."""

    name: str
    title: str
    description: str | None
    table: TableInfo
    roles: frozenset[str]
    parameters: Mapping[str, ParameterSpec]
    filters: tuple[FilterSpec, ...]
    sheets: tuple[SheetSpec, ...]

    def may_run(self, actor: Actor) -> bool:
        """Whether the actor holds a role the report names (admin always may)."""
        return actor.is_admin or not self.roles.isdisjoint(actor.roles)

    def all_filters(self) -> list[tuple[str, FilterSpec]]:
        """Every filter with its config path (report, sheets, aggregates, choices)."""
        found = [(f"filters[{i}]", f) for i, f in enumerate(self.filters)]
        for s, sheet in enumerate(self.sheets):
            found += [(f"sheets[{s}].filters[{i}]", f) for i, f in enumerate(sheet.filters)]
            for c, column in enumerate(sheet.columns):
                found += [
                    (f"sheets[{s}].columns[{c}].where[{i}]", f) for i, f in enumerate(column.where)
                ]
        for name, parameter in self.parameters.items():
            found += [(f"parameters.{name}.where[{i}]", f) for i, f in enumerate(parameter.where)]
        return found


REPORTS_PATH = "reports"  # the Reports pages' address, /admin/reports/NAME
TABLE_PAGES = frozenset(
    {"list", "details", "create", "edit", "delete", "lookup", "export", "import", "grid"}
)  # a table's own pages, /admin/TABLE/PAGE: a table called 'reports' would hide such a report


def resolve_reports(config: Config, catalog: Catalog) -> tuple[dict[str, ReportSpec], list[str]]:
    """Every report that resolves, and the problems of those that do not."""
    specs: dict[str, ReportSpec] = {}
    problems: list[str] = []
    for name, report in config.reports.items():
        before = len(problems)
        if not NAME.fullmatch(name):
            problems.append(
                f"reports.{name}: a report name is letters, digits and '_', starting with a"
                " letter (it is part of the report's address and of datadesk report NAME)"
            )
        elif REPORTS_PATH in catalog.tables and name.lower() in TABLE_PAGES:
            problems.append(
                f"reports.{name}: the table '{REPORTS_PATH}' has a page at /{REPORTS_PATH}/{name}"
                " already; give the report another name"
            )
        spec = _resolve_report(name, report, catalog, problems)
        if spec is not None and len(problems) == before:
            specs[name] = spec
    return specs, problems


def find_report_problems(config: Config, catalog: Catalog, policy: RolePolicy) -> list[str]:
    """Problems of the reports, including those of the roles allowed to run them."""
    specs, problems = resolve_reports(config, catalog)
    known = set(policy.role_names())
    for name, report in config.reports.items():
        for position, role in enumerate(report.roles):
            here = f"reports.{name}.roles[{position}]"
            if role not in known:
                close = difflib.get_close_matches(role, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"{here}: no such role '{role}'{hint}")
            elif role != ADMIN_ROLE and name in specs:
                problems.extend(_role_problems(here, role, specs[name], policy))
    return problems


def _role_problems(where: str, role: str, spec: ReportSpec, policy: RolePolicy) -> list[str]:
    """A role that could never run the report, or would see hidden columns through filters."""
    actor = Actor(f"role:{role}", frozenset({role}))
    if not policy.access(actor, spec.table.name).can("export"):
        return [
            f"{where}: role '{role}' may not export {spec.table.name}, so it could never run"
            " this report (grant it export, or remove the role)"
        ]
    problems = []
    for path, item in spec.all_filters():
        for table, column in item.reads():
            if column.name in policy.access(actor, table.name).hidden:
                problems.append(
                    f"reports.{spec.name}.{path}.column: {table.name}.{column.name} is hidden"
                    f" from role '{role}', who may run this report; a filter on it would"
                    " reveal it"
                )
                break
    return problems


def _resolve_report(
    name: str, report: ReportConfig, catalog: Catalog, problems: list[str]
) -> ReportSpec | None:
    where = f"reports.{name}"
    table = catalog.get(report.table)
    if table is None:
        close = difflib.get_close_matches(report.table.lower(), list(catalog.tables), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(f"{where}.table: no such table '{report.table}'{hint}")
        return None
    parameters = resolve_parameters(report.parameters, catalog, f"{where}.parameters", problems)
    params = report.parameters
    filters = resolve_filters(report.filters, catalog, table, params, f"{where}.filters", problems)
    sheets = tuple(
        _resolve_sheet(sheet, catalog, table, report, f"{where}.sheets[{position}]", problems)
        for position, sheet in enumerate(report.sheets)
    )
    return ReportSpec(
        name=name,
        title=report.title,
        description=report.description,
        table=table,
        roles=frozenset(report.roles),
        parameters=parameters,
        filters=filters,
        sheets=sheets,
    )


def _resolve_sheet(
    sheet: ReportSheet,
    catalog: Catalog,
    table: TableInfo,
    report: ReportConfig,
    where: str,
    problems: list[str],
) -> SheetSpec:
    params = report.parameters
    filters = resolve_filters(sheet.filters, catalog, table, params, f"{where}.filters", problems)
    grouped = sheet.is_grouped
    columns = []
    for position, item in enumerate(sheet.columns):
        here = f"{where}.columns[{position}]"
        found = _resolve_column(item, position, catalog, table, report, grouped, here, problems)
        if found is not None:
            columns.append(found)
    if sheet.totals and not any(c.total for c in columns):
        problems.append(f"{where}.totals: no column has a total (set 'total' on a column)")
    sort = _resolve_sort(sheet, columns, catalog, table, grouped, f"{where}.sort", problems)
    return SheetSpec(sheet.name, tuple(columns), filters, sort, sheet.totals, grouped)


def _resolve_column(
    item: ReportColumn,
    position: int,
    catalog: Catalog,
    table: TableInfo,
    report: ReportConfig,
    grouped: bool,
    where: str,
    problems: list[str],
) -> ColumnSpec | None:
    path = None
    if item.column is not None:
        try:
            path = resolve_path(catalog, table, item.column)
        except PathProblem as exc:
            problems.append(f"{where}.column: {exc}")
            return None
    aggregate = item.aggregate
    kind = path.column.kind if path is not None else "integer"
    problem = _aggregate_problem(aggregate, kind, grouped, path)
    if problem:
        problems.append(f"{where}.{'aggregate' if aggregate else 'column'}: {problem}")
        return None
    conditions = resolve_filters(
        item.where, catalog, table, report.parameters, f"{where}.where", problems
    )
    export = _export_column(position, item, path, aggregate)
    total = _total(item, aggregate, grouped, export, f"{where}.total", problems)
    default_key = path.text if path is not None else ""
    if aggregate is not None:
        default_key = f"{aggregate}({default_key})" if path is not None else aggregate
    return ColumnSpec(
        key=(item.name or default_key).lower(),
        label=export.label,
        path=path,
        aggregate=aggregate,
        where=conditions,
        export=export,
        total=total,
    )


def _aggregate_problem(
    aggregate: str | None, kind: str, grouped: bool, path: ColumnPath | None
) -> str:
    if aggregate is None:
        if grouped and kind not in GROUP_KINDS:
            return f"{path.column.name if path else ''} ({kind}) cannot be grouped by"
        return ""
    if aggregate == "share" and path is not None:
        return "a share counts rows: leave out 'column'"
    if aggregate in {"sum", "avg"} and kind not in NUMBER_KINDS:
        return f"{aggregate} needs a number column; {path.column.name if path else ''} is {kind}"
    if aggregate in {"min", "max"} and kind not in ORDERED_KINDS:
        return f"{aggregate} needs a number, date or text column; this one is {kind}"
    return ""


def _export_column(
    position: int, item: ReportColumn, path: ColumnPath | None, aggregate: str | None
) -> ExportColumn:
    """How the column's cells are typed and formatted in the workbook."""
    name = f"c{position}"
    kind: CellKind
    if path is None or aggregate in {"count", "share"}:
        if item.label:
            label = item.label
        elif path is not None:
            label = f"Count of {path.label.lower()}"
        else:
            label = "Share" if aggregate == "share" else "Count"
        kind = "float" if aggregate == "share" else "integer"
        number_format = item.format or (SHARE_FORMAT if aggregate == "share" else None)
        return ExportColumn(name, label, kind, number_format)
    base = ExportColumn.from_column_info(path.column)
    label = item.label or (
        f"{_AGGREGATE_WORDS[aggregate]} {path.label.lower()}" if aggregate else path.label
    )
    kind = base.kind
    number_format = base.number_format
    if aggregate == "avg":
        kind, number_format = "float", number_format or AVERAGE_FORMAT
    elif aggregate == "sum" and kind == "integer":
        number_format = number_format or "#,##0"
    return dataclasses.replace(
        base, name=name, label=label, kind=kind, number_format=item.format or number_format
    )


_AGGREGATE_WORDS = {"sum": "Total", "avg": "Average", "min": "Lowest", "max": "Highest"}


def _total(
    item: ReportColumn,
    aggregate: str | None,
    grouped: bool,
    export: ExportColumn,
    where: str,
    problems: list[str],
) -> TotalKind | None:
    """How the totals row fills this column (checked against the cells' kind)."""
    wanted = item.total
    if wanted == "none" or (wanted is None and (aggregate is None or not grouped)):
        return None
    if wanted is None or (grouped and wanted == aggregate):
        assert aggregate is not None
        return _GROUPED_OWN_TOTAL[aggregate] if grouped else _CELL_TOTAL[aggregate]
    if wanted == "share":
        problems.append(f"{where}: a share total belongs to a share column")
        return None
    numeric = export.is_numeric
    ordered = numeric or export.kind in {"date", "datetime", "time"}
    if (wanted in {"sum", "avg"} and not numeric) or (wanted in {"min", "max"} and not ordered):
        problems.append(f"{where}: cannot {wanted} {export.kind} values")
        return None
    return _CELL_TOTAL[wanted]


def _resolve_sort(
    sheet: ReportSheet,
    columns: list[ColumnSpec],
    catalog: Catalog,
    table: TableInfo,
    grouped: bool,
    where: str,
    problems: list[str],
) -> tuple[SortSpec, ...]:
    if not sheet.sort:
        keys = [i for i, c in enumerate(columns) if c.aggregate is None] if grouped else []
        return tuple(SortSpec(i, False) for i in keys)
    found = []
    for position, entry in enumerate(sheet.sort):
        descending = entry.strip().startswith("-")
        text = entry.strip().lstrip("-").strip().lower()
        matches = [i for i, c in enumerate(columns) if c.key == text]
        here = f"{where}[{position}]"
        if len(matches) > 1:
            problems.append(f"{here}: several columns are called '{text}'; give them a name")
            continue
        if matches:
            path = columns[matches[0]].path
            if path is not None and not path.column.is_sortable:
                problems.append(f"{here}: {path.column.name} ({path.column.kind}) cannot be sorted")
                continue
            found.append(SortSpec(matches[0], descending))
            continue
        if grouped:
            names = ", ".join(c.key for c in columns)
            problems.append(f"{here}: a grouped sheet sorts by its own columns ({names})")
            continue
        try:
            path = resolve_path(catalog, table, text)
        except PathProblem as exc:
            problems.append(f"{here}: {exc}")
            continue
        if not path.column.is_sortable:
            problems.append(f"{here}: {path.column.name} ({path.column.kind}) cannot be sorted")
            continue
        found.append(SortSpec(path, descending))
    return tuple(found)
