"""The ``reports`` section of ``datadesk.yaml``: named workbooks that officials download.

A report reads one table (its columns, and columns of the rows its foreign keys reference,
written as a path such as ``dept_id.dept_name``), keeps the rows its filters allow, asks the
user for parameters, and writes one or more sheets: detail rows, or groups with counts, sums,
averages, minimums and maximums, optionally with a totals row. Everything is declarative:
nothing written here ever becomes SQL text.

Only the shape is checked here; names are checked against the reflected schema by
``datadesk.exports.reports_spec`` (at start and by ``datadesk check-config``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from datadesk.config.base import StrictModel

ParameterType = Literal["date", "date_range", "choice", "text", "integer"]
Aggregate = Literal["count", "sum", "avg", "min", "max", "share"]
Total = Literal["count", "sum", "avg", "min", "max", "share", "none"]
Value = str | int | float | bool | dt.date
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,59}")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
FILTER_OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "at_least",
    "at_most",
    "less_than",
    "more_than",
    "between",
    "contains",
    "is_empty",
    "within_days",
    "within_next_days",
    "equals_user",
    "in_table",
    "not_in_table",
)
_ATTRIBUTE_OF = {"in": "in_"}


class ParamRef(StrictModel):
    """A value taken from one of the report's parameters, written ``{param: name}``."""

    param: str
    """Name of the parameter (under the report's ``parameters``)."""


FilterValue = Value | ParamRef


class ReportFilter(StrictModel):
    """One condition on rows; a row is kept when every condition of a list holds.

    A filter names its column and exactly one operator. A value may be a parameter,
    ``{param: name}``; a filter whose optional parameter is left empty is skipped.
    """

    column: str
    """Column the condition is about: a column of the table, or a path through foreign keys
    such as ``dept_id.dept_code``."""
    equals: FilterValue | None = None
    """The column equals this value."""
    not_equals: FilterValue | None = None
    """The column has a value, and not this one."""
    in_: tuple[Value, ...] | None = Field(default=None, alias="in")
    """The column is one of these values."""
    not_in: tuple[Value, ...] | None = None
    """The column has a value that is none of these."""
    at_least: FilterValue | None = None
    """The column is this value or more (later, for dates; ``today``, ``today-30`` work)."""
    at_most: FilterValue | None = None
    """The column is this value or less (earlier, for dates)."""
    less_than: FilterValue | None = None
    """The column is below this value (before, for dates)."""
    more_than: FilterValue | None = None
    """The column is above this value (after, for dates)."""
    between: ParamRef | None = None
    """The column (a date) lies in a date_range parameter, both days included."""
    contains: FilterValue | None = None
    """The column (text) contains this text, ignoring case."""
    is_empty: bool | None = None
    """true: the column is empty (NULL); false: it has a value."""
    within_days: int | ParamRef | None = None
    """The column (a date) is at most this many days before today, or later."""
    within_next_days: int | ParamRef | None = None
    """The column (a date) is between today and this many days after today."""
    equals_user: str | None = None
    """The column equals this attribute of the user running the report (e.g. department_id)."""
    in_table: ReportSubquery | None = None
    """The column holds a value of another table's column, in rows matching its filters."""
    not_in_table: ReportSubquery | None = None
    """The column holds no value of another table's column in rows matching its filters."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    @property
    def operators(self) -> list[str]:
        """The operators this filter sets, as written in YAML (one, when it is valid)."""
        return [
            name
            for name in FILTER_OPERATORS
            if getattr(self, _ATTRIBUTE_OF.get(name, name)) is not None
        ]

    @property
    def operator(self) -> str:
        """The one operator of a valid filter."""
        return self.operators[0]

    def operand(self) -> object:
        """The value given to the filter's operator."""
        return getattr(self, _ATTRIBUTE_OF.get(self.operator, self.operator))

    @model_validator(mode="after")
    def _one_operator(self) -> ReportFilter:
        found = self.operators
        if len(found) != 1:
            what = " and ".join(found) if found else "none"
            raise ValueError(
                f"a filter needs exactly one operator: {', '.join(FILTER_OPERATORS)} (found {what})"
            )
        return self


class ReportSubquery(StrictModel):
    """Rows of another table, for ``in_table`` and ``not_in_table``."""

    table: str
    """The other table."""
    column: str
    """Its column whose values are compared with the filter's column (usually a reference)."""
    where: tuple[ReportFilter, ...] = ()
    """Filters on the other table's rows; none means all its rows."""


ReportFilter.model_rebuild()


class ReportParameter(StrictModel):
    """A value the user gives when running the report, shown as one field of its form."""

    type: ParameterType
    """date, date_range (two dates), choice (from a table or a list), text or integer."""
    label: str | None = None
    """Label of the form field; not set means the parameter's name."""
    help: str | None = None
    """Hint shown under the form field."""
    required: bool = True
    """The report cannot run without a value; an optional parameter left empty skips the
    filters that use it."""
    default: Value | None = None
    """Value filled in when the user gives none: a date (or today, today-30, today+7), for a
    date_range 'from..to' (e.g. 'today..today+90'), a choice's value, text or a number."""
    table: str | None = None
    """choice: the table whose rows are offered."""
    column: str | None = None
    """choice: the column of that table whose value the filters compare (usually its key);
    options are shown by the table's row label."""
    where: tuple[ReportFilter, ...] = ()
    """choice: filters on the offered rows (e.g. only mandatory vaccines)."""
    options: tuple[Value, ...] | None = None
    """choice: a fixed list of values to offer instead of a table's rows."""
    min: int | None = None
    """integer: the smallest value accepted."""
    max: int | None = None
    """integer: the largest value accepted."""

    @model_validator(mode="after")
    def _check_kind(self) -> ReportParameter:
        from_table = self.table is not None or self.column is not None or bool(self.where)
        if self.type == "choice":
            if from_table and self.options is not None:
                raise ValueError("a choice takes either table and column, or options, not both")
            if self.options is None and (self.table is None or self.column is None):
                raise ValueError("a choice needs table and column (a table's rows) or options")
            if self.options is not None and not self.options:
                raise ValueError("options: an empty list offers nothing to choose")
        elif from_table or self.options is not None:
            raise ValueError("table, column, where and options are for choice parameters")
        if self.type != "integer" and (self.min is not None or self.max is not None):
            raise ValueError("min and max are for integer parameters")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is more than max ({self.max})")
        return self


class ReportColumn(StrictModel):
    """One column of a sheet: a value of each row, or an aggregate over each group.

    Written as a mapping, or as just the column path (``last_name``, ``dept_id.dept_name``).
    """

    column: str | None = None
    """Column shown or aggregated, as a path; not set only for a count of rows."""
    label: str | None = None
    """Heading; not set means the column's label (with the aggregate, for aggregates)."""
    name: str | None = None
    """Short name for this column in the sheet's ``sort`` (default: its path, or e.g.
    ``sum(salary)`` and ``count`` for aggregates)."""
    aggregate: Aggregate | None = None
    """count, sum, avg, min, max, or share (of rows matching ``where``); a sheet with an
    aggregate has one row per group of its other columns."""
    where: tuple[ReportFilter, ...] = ()
    """Only rows matching these filters count towards the aggregate (e.g. a count of overdue
    people next to a count of all)."""
    format: str | None = Field(default=None, max_length=100)
    """Excel number format of the cells, e.g. '#,##0.00', '0.0%' or 'dd.mm.yyyy'."""
    total: Total | None = None
    """What the totals row shows for this column: count, sum, avg, min, max, share or none;
    not set means the column's aggregate (over all rows), or nothing for other columns."""

    @model_validator(mode="before")
    @classmethod
    def _path_only(cls, value: object) -> object:
        return {"column": value} if isinstance(value, str) else value

    @field_validator("format")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
            raise ValueError("a number format is printable text, e.g. '#,##0.00'")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.fullmatch(value):
            raise ValueError("a column name is letters, digits and '_', starting with a letter")
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> ReportColumn:
        if self.column is None and self.aggregate not in {"count", "share"}:
            raise ValueError("a column needs 'column' (only a count or share may leave it out)")
        if self.where and self.aggregate is None:
            raise ValueError("'where' is for aggregates: it chooses the rows they count")
        if self.aggregate == "share" and not self.where:
            raise ValueError("a share needs 'where': the rows whose share of the group is shown")
        return self


class ReportSheet(StrictModel):
    """One sheet of the workbook."""

    name: str = Field(min_length=1, max_length=31)
    """Sheet name (at most 31 characters, none of [ ] : * ? / \\)."""
    columns: tuple[ReportColumn, ...] = Field(min_length=1)
    """The sheet's columns, in order."""
    filters: tuple[ReportFilter, ...] = ()
    """Conditions for this sheet only, on top of the report's filters."""
    sort: tuple[str, ...] = ()
    """Order of rows: column paths or column names, a leading - for descending; not set
    means by the group columns (grouped sheets) or by the table's key."""
    totals: bool = False
    """Add a totals row under the rows (see each column's ``total``)."""

    @field_validator("name")
    @classmethod
    def _sheet_name(cls, value: str) -> str:
        if SHEET_NAME_FORBIDDEN.search(value) or value != value.strip():
            raise ValueError(
                "a sheet name cannot contain [ ] : * ? / \\ nor start or end with a space"
            )
        return value

    @property
    def is_grouped(self) -> bool:
        """Whether the sheet has aggregates (one row per group of its other columns)."""
        return any(column.aggregate is not None for column in self.columns)


class ReportConfig(StrictModel):
    """A named report: what it reads, the form it asks, the sheets it writes, who may run it."""

    title: str = Field(min_length=1, max_length=200)
    """Title shown on the Reports page and in the first row of every sheet."""
    description: str | None = None
    """What the report is for, shown on the Reports page and in the workbook."""
    table: str
    """The table whose rows the report reads."""
    roles: tuple[str, ...] = ()
    """Roles that may run the report (admin always may); their row filters and hidden
    columns apply."""
    parameters: dict[str, ReportParameter] = Field(default_factory=dict)
    """The form's fields, by name (letters, digits and '_'), in order."""
    filters: tuple[ReportFilter, ...] = ()
    """Conditions every row of every sheet meets."""
    sheets: tuple[ReportSheet, ...] = Field(min_length=1)
    """The workbook's sheets, in order (e.g. a summary, then the detail)."""

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, ReportParameter]) -> dict[str, ReportParameter]:
        for name in value:
            if not NAME.fullmatch(name):
                raise ValueError(
                    f"parameter '{name[:60]}': a name is letters, digits and '_', starting with"
                    " a letter"
                )
        return value

    @field_validator("sheets")
    @classmethod
    def _unique_sheets(cls, value: tuple[ReportSheet, ...]) -> tuple[ReportSheet, ...]:
        seen: set[str] = set()
        for sheet in value:
            if sheet.name.lower() in seen:
                raise ValueError(f"two sheets are called '{sheet.name}' (names ignore case)")
            seen.add(sheet.name.lower())
        return value
