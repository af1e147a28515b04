"""The rows of an editable grid as the template shows them: inputs, loaded values, marks.

A row is shown from the database (a fresh page), or from what the user submitted (a save that
was refused: their input is kept, each problem placed on its cell or row). A row someone else
changed meanwhile is shown as it is now with the user's changed cells on top, each column the
other person changed marked with its new value, and carries the current version: saving it
again is a decision taken with both sets of values in view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from datadesk.admin_views.access import encode_version
from datadesk.admin_views.cells import key_href, key_to_path
from datadesk.admin_views.grid_form import GridForm
from datadesk.admin_views.grid_submission import SubmittedRow
from datadesk.admin_views.pages import GridPage
from datadesk.auth.policy import TableAccess
from datadesk.models.catalog import ColumnInfo
from datadesk.models.grid_query import GridState
from datadesk.models.row_keys import keys_condition, match_key

EDITABLE = "__editable"  # result column: 1 when the row is one the user may edit


@dataclass
class EditCell:
    """One cell: display text (and link), or an input with the value it was loaded with."""

    column: ColumnInfo
    text: str = ""
    href: str | None = None
    input: Markup | None = None
    loaded: str = ""
    is_changed: bool = False
    error: str = ""
    theirs: str = ""


@dataclass
class EditRow:
    """One row of the editable grid."""

    index: int
    raw_key: str
    href_key: str
    version: str
    is_editable: bool
    cells: list[EditCell] = field(default_factory=list)
    problem: str = ""
    is_saved: bool = False

    def loaded(self) -> dict[str, str]:
        """The loaded text of each input cell, by column (for the script after a save)."""
        return {c.column.name: c.loaded for c in self.cells if c.input is not None}


def version_columns(page: GridPage) -> list[str]:
    """The columns a grid row's version covers: its key and the grid's columns as shown."""
    table = page.view.table_info
    return list(dict.fromkeys([*table.primary_key, *(c.name for c in page.grid.columns)]))


def editable_column(access: TableAccess) -> list[Any]:
    """The extra SELECT term telling rows the user may edit from rows they may only see."""
    scope = access.where_for("edit")
    if scope is None:
        return []
    return [sa.case((scope, 1), else_=0).label(EDITABLE)]


class GridRows:
    """Builds the shown rows of one editable grid page for one user."""

    def __init__(self, page: GridPage, form: GridForm, access: TableAccess) -> None:
        self.page = page
        self.form = form
        self.access = access
        self.table = page.view.table_info
        self.version_columns = version_columns(page)
        self._memo: dict[tuple[str, Any], str] = {}

    def version(self, record: Mapping[str, Any]) -> str:
        """The row version of a record: the grid's columns as loaded."""
        return encode_version({n: record[n] for n in self.version_columns})

    def load(self, keys: Sequence[Sequence[Any]]) -> dict[tuple[Any, ...], Any]:
        """The grid's columns (and labels) of the rows with these keys that the user may see."""
        if not keys:
            return {}
        stmt = self.page.grid.base_select(GridState()).where(keys_condition(self.table, keys))
        stmt = stmt.add_columns(*editable_column(self.access))
        with self.page.view.services.records.reading() as conn:
            rows = conn.execute(stmt).mappings().all()
        return {match_key(r[n] for n in self.table.primary_key): r for r in rows}

    def fresh(self, index: int, record: Mapping[str, Any], saved: frozenset[str]) -> EditRow:
        """A row as stored."""
        loaded = self.form.loaded(record) if self._is_editable(record) else {}
        row = self._row(index, record, key_to_path([record[n] for n in self.table.primary_key]))
        row.version = self.version(record)
        row.is_saved = row.raw_key in saved
        self._fill(row, record, shown=loaded, loaded=loaded)
        return row

    def submitted(
        self,
        sent: SubmittedRow,
        record: Mapping[str, Any] | None,
        *,
        conflict: bool = False,
    ) -> EditRow:
        """A row as the user submitted it, with its problems marked."""
        if record is None:  # unknown, or no longer the user's: show what was sent, as text
            row = EditRow(sent.index, sent.raw_key, "", sent.version, False, problem=sent.problem)
            for column in self.page.grid.columns:
                typed = sent.values.get(column.name, sent.originals.get(column.name, ""))
                row.cells.append(EditCell(column, text=typed))
            return row
        row = self._row(sent.index, record, sent.raw_key)
        row.problem = sent.problem
        now = self.form.loaded(record) if row.is_editable else {}
        if conflict:
            shown = {**now, **sent.changed}
            loaded = now
            row.version = self.version(record)
        else:
            shown = sent.shown(now, self.form.checkboxes)
            loaded = {**now, **sent.originals}
            row.version = sent.version or self.version(record)
        self._fill(row, record, shown=shown, loaded=loaded, errors=sent.cell_problems)
        if conflict:  # the value each column someone else changed holds now
            for cell in row.cells:
                if cell.column.name in sent.their_changes and cell.input is not None:
                    cell.theirs = cell.text or "(empty)"
        return row

    def _is_editable(self, record: Mapping[str, Any]) -> bool:
        return bool(record.get(EDITABLE, 1))

    def _row(self, index: int, record: Mapping[str, Any], raw_key: str) -> EditRow:
        key_values = [record[n] for n in self.table.primary_key]
        return EditRow(index, raw_key, key_href(key_values), "", self._is_editable(record))

    def _fill(
        self,
        row: EditRow,
        record: Mapping[str, Any],
        *,
        shown: Mapping[str, str],
        loaded: Mapping[str, str],
        errors: Mapping[str, str] | None = None,
    ) -> None:
        texts = self.page.cells(record, self._memo)
        inputs = (
            self.form.inputs(f"r{row.index}", shown, f"row {row.index + 1}")
            if row.is_editable
            else {}
        )
        for column, (text, href) in zip(self.page.grid.columns, texts, strict=True):
            cell = EditCell(column, text=text, href=href)
            name = column.name
            if name in inputs:
                cell.input = inputs[name]
                cell.loaded = loaded.get(name, "")
                now = self.form.normalise(name, shown.get(name, ""))
                cell.is_changed = now != self.form.normalise(name, cell.loaded)
                cell.error = (errors or {}).get(name, "")
            row.cells.append(cell)
