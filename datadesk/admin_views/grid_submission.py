"""Reading a submitted editable grid: which rows and cells changed, and what is malformed.

A grid form names its fields by row number: ``k3`` (the row's key), ``v3`` (its version),
``r3-<field>`` (a cell's value) and ``o3-<field>`` (the value the cell was loaded with).
Without JavaScript every input comes with its loaded value and a cell changed when the two
differ; the script sends only changed cells, without loaded values. A check box sends nothing
when unticked, so one whose loaded value came back alone was unticked.

Problems are collected, never raised: those about the form as a whole (unknown fields, too
many rows, fields sent twice) and those of one row or cell, to be shown where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datadesk.admin_views.grid_form import ORIGINAL_PREFIX, VALUE_PREFIX, GridForm

CELL_NAME = re.compile(rf"^([{VALUE_PREFIX}{ORIGINAL_PREFIX}])(\d{{1,4}})-(\w{{1,128}})$")
ROW_NAME = re.compile(r"^([kv])(\d{1,4})$")
CONTROLS = frozenset({"csrf_token", "action", "pick", "bulk_column", "bulk_rows"})
MAX_PROBLEMS = 20  # form-level problems listed; more are counted


@dataclass
class SubmittedRow:
    """One row of a submitted grid: its key, version, cells and what is wrong with them."""

    index: int
    raw_key: str = ""
    version: str = ""
    values: dict[str, str] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)
    cell_problems: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    # Filled in by the checks before a save:
    key: tuple[Any, ...] | None = None  # typed key values
    expected: dict[str, Any] | None = None  # the values the row was loaded with (its version)
    new_values: dict[str, Any] = field(default_factory=dict)  # changed cells, typed
    is_conflict: bool = False  # someone else changed the row meanwhile
    their_changes: frozenset[str] = frozenset()  # ...these columns of it

    @property
    def is_touched(self) -> bool:
        """Whether the row has changes or problems (rows merely sent back are not)."""
        return bool(self.changed or self.cell_problems or self.problem)

    @property
    def has_problems(self) -> bool:
        """Whether anything about this row keeps the save from going ahead."""
        return bool(self.cell_problems or self.problem)

    def shown(self, loaded: dict[str, str], checkboxes: frozenset[str]) -> dict[str, str]:
        """What each cell showed when the user saved: their input, else the text it was
        loaded with, else ``loaded`` (the row as stored)."""
        shown = {**loaded, **self.originals, **self.values}
        for column in checkboxes:
            if column in self.originals and column not in self.values:
                shown[column] = ""  # sent unticked
        return shown


@dataclass
class GridSubmission:
    """A parsed grid form: its rows by number, the chosen control, and form-level problems."""

    rows: dict[int, SubmittedRow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    action: str = "save"
    picked: list[str] = field(default_factory=list)
    bulk_column: str = ""
    bulk_rows: str = ""

    @property
    def in_order(self) -> list[SubmittedRow]:
        """Every submitted row, in page order."""
        return [row for _, row in sorted(self.rows.items())]

    @property
    def touched(self) -> list[SubmittedRow]:
        """Rows with changes or problems, in page order."""
        return [row for row in self.in_order if row.is_touched]

    def problem(self, message: str) -> None:
        """Add a form-level problem (listing at most MAX_PROBLEMS)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("…and more problems of the same kind")


def read_submission(
    items: Iterable[tuple[str, Any]], grid: GridForm, max_rows: int
) -> GridSubmission:
    """Sort the submitted fields into rows and cells, then work out what changed."""
    result = GridSubmission()
    columns = {name: column for column, name in grid.field_names.items()}
    seen: set[str] = set()
    for name, value in items:
        if not isinstance(value, str):
            result.problem(f"{name[:60]}: a file cannot be sent here")
            continue
        if name in CONTROLS:
            _control(result, name, value)
            continue
        if name in seen:
            result.problem(f"{name[:60]}: sent twice; send each cell once")
            continue
        seen.add(name)
        cell = CELL_NAME.match(name)
        row_field = ROW_NAME.match(name)
        if cell is not None:
            column = columns.get(cell.group(3))
            if column is None:
                result.problem(f"{name[:60]}: not a column you may change in this grid")
                continue
            row = _row(result, int(cell.group(2)))
            target = row.values if cell.group(1) == VALUE_PREFIX else row.originals
            target[column] = value
        elif row_field is not None:
            row = _row(result, int(row_field.group(2)))
            if row_field.group(1) == "k":
                row.raw_key = value
            else:
                row.version = value
        else:
            result.problem(f"{name[:60]}: not a field of this grid")
    if len(result.rows) > max_rows:
        result.problems.insert(
            0,
            f"this save holds {len(result.rows)} rows; one save takes at most {max_rows} "
            "(a page of the grid)",
        )
        return result
    for row in result.rows.values():
        _find_changes(row, grid)
    return result


def _control(result: GridSubmission, name: str, value: str) -> None:
    if name == "pick":
        result.picked.append(value)
    elif name == "action":
        result.action = value
    elif name == "bulk_column":
        result.bulk_column = value
    elif name == "bulk_rows":
        result.bulk_rows = value


def _row(result: GridSubmission, index: int) -> SubmittedRow:
    row = result.rows.get(index)
    if row is None:
        row = result.rows[index] = SubmittedRow(index)
    return row


def _find_changes(row: SubmittedRow, grid: GridForm) -> None:
    """Compare each cell with its loaded value; note cells and rows that are incomplete."""
    for column in grid.columns:
        has_value = column in row.values
        has_original = column in row.originals
        if column in grid.checkboxes:
            if not (has_value or has_original):
                continue
            now = grid.normalise(column, row.values.get(column, ""))
            if not has_original or grid.normalise(column, row.originals[column]) != now:
                row.changed[column] = now
        elif has_value:
            if not has_original or row.values[column] != row.originals[column]:
                row.changed[column] = row.values[column]
        elif has_original:
            row.cell_problems[column] = "this cell was not sent; reload the page"
    if not (row.changed or row.cell_problems):
        return
    if not row.raw_key:
        row.problem = "the row's key was not sent; reload the page"
    elif not row.version:
        row.problem = "the row's version was not sent; reload the page"
