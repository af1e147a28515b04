"""The inputs of an editable grid: the edit form's own fields, one set per row.

The fields are built by ``DatadeskModelView.scaffold_form`` for the grid-editable columns the
user may write, so a cell is converted and validated exactly like the same field of the edit
form (lengths, required values, numbers, dates, flags, references). Each row renders them with
the prefix ``r<row>`` (``r3-lot_number``), next to hidden ``o<row>-<field>`` inputs holding the
value as loaded, so that a plain HTML form lets the server work out which cells changed.

Cell values travel as "raw" text: what the input shows and submits (a check box: ``y`` when
ticked, empty when not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqladmin.forms import WTFORMS_ATTRS
from starlette.datastructures import MultiDict
from wtforms import BooleanField, Field, Form, SelectField

from datadesk.admin_views.access import current_access, writable
from datadesk.admin_views.model_view import DatadeskModelView
from datadesk.auth.policy import TableAccess
from datadesk.models.catalog import ColumnInfo

VALUE_PREFIX = "r"  # r3-lot_number: the value of a cell of row 3
ORIGINAL_PREFIX = "o"  # o3-lot_number: the value that cell was loaded with
CHECKED = "y"  # what a ticked check box submits
FALSE_TEXTS = frozenset({"", "false"})  # what unticked check boxes submit (WTForms' defaults)


@dataclass(frozen=True)
class CellCheck:
    """The outcome of validating one row's changed cells: typed values, or messages."""

    values: dict[str, Any]
    errors: dict[str, str]


class GridForm:
    """The edit form's fields for the columns one user may edit in one grid."""

    def __init__(self, view: DatadeskModelView, form_class: type[Form], columns: Sequence[str]):
        self.view = view
        self.form_class = form_class
        present = form_class()
        self.columns = [c for c in columns if WTFORMS_ATTRS.get(c, c) in present._fields]
        self.field_names = {c: WTFORMS_ATTRS.get(c, c) for c in self.columns}
        self.checkboxes = frozenset(
            c for c in self.columns if isinstance(present[self.field_names[c]], BooleanField)
        )

    @classmethod
    async def build(cls, view: DatadeskModelView, access: TableAccess) -> GridForm:
        """The grid's inputs for this user: grid-editable columns they may write."""
        columns = writable(access, view.grid_edit_fields, "edit")
        token = current_access.set(access)
        try:
            # A fresh list: scaffold_form tells the create form by the identity of its rules.
            form_class = await view.scaffold_form(list(columns))
        finally:
            current_access.reset(token)
        return cls(view, form_class, columns)

    def column(self, name: str) -> ColumnInfo:
        """The catalog column of a grid-editable column name."""
        return self.view.table_info.columns[name]

    # -- raw texts ------------------------------------------------------------------------------

    def loaded(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The raw text of each editable cell of a row as stored (what its input shows)."""
        form = self.form_class(data={self.field_names[c]: values.get(c) for c in self.columns})
        return {c: raw_text(form[self.field_names[c]]) for c in self.columns}

    def normalise(self, column: str, raw: str) -> str:
        """A submitted text as compared with the loaded one (check boxes: ticked or not)."""
        if column in self.checkboxes:
            return "" if raw.strip().lower() in FALSE_TEXTS else CHECKED
        return raw

    # -- rendering ------------------------------------------------------------------------------

    def inputs(self, prefix: str, shown: Mapping[str, str], label: str) -> dict[str, Markup]:
        """The input of each editable cell, named ``<prefix>-<field>`` (``r3-lot_number``),
        showing the ``shown`` raw texts; ``label`` tells the row apart for screen readers."""
        data = MultiDict(
            [(f"{prefix}-{self.field_names[c]}", shown.get(c, "")) for c in self.columns]
        )
        form = self.form_class(formdata=data, prefix=prefix)
        rendered: dict[str, Markup] = {}
        for name in self.columns:
            field = form[self.field_names[name]]
            css = "form-check-input" if name in self.checkboxes else "form-control form-control-sm"
            attrs = {
                "class_": f"{css} dd-cell-input",
                "aria-label": f"{self.column(name).label}, {label}",
                "data-column": name,
            }
            rendered[name] = Markup(field(**attrs))
        return rendered

    def value_text(self, column: str, raw: str) -> str:
        """A raw value as a person reads it: the label of a chosen row, Yes or No, the text."""
        if column in self.checkboxes:
            return "Yes" if self.normalise(column, raw) == CHECKED else "No"
        field = self.form_class()[self.field_names[column]]
        if isinstance(field, SelectField):
            for value, label in field.choices or []:  # type: ignore[misc]
                if str(value) == raw:
                    return str(label)
        return raw if raw.strip() else "(empty)"

    # -- validation -----------------------------------------------------------------------------

    def check(self, changed: Mapping[str, str]) -> CellCheck:
        """Convert and validate the changed cells of one row like the edit form does; runs
        the form's validators, some of which query the database (references)."""
        formdata = MultiDict([(self.field_names[c], raw) for c, raw in changed.items()])
        form = self.form_class(formdata=formdata)
        errors: dict[str, str] = {}
        data: dict[str, Any] = {}
        for name in changed:
            field = form[self.field_names[name]]
            if field.validate(form):
                data[self.field_names[name]] = field.data
            else:
                errors[name] = _first_error(field)
        if errors:
            return CellCheck({}, errors)
        columns = {field: column for column, field in self.field_names.items()}
        data = {columns[k]: v for k, v in data.items()}
        return CellCheck(self.view.clean_values(data, list(changed)), {})


def raw_text(field: Field) -> str:
    """What a field's input shows: the text of a text input, the chosen key of a drop-down,
    ``y`` or nothing for a check box."""
    if isinstance(field, BooleanField):
        return CHECKED if field.data else ""
    if isinstance(field, SelectField):
        return "" if field.data is None else str(field.data)
    return str(field._value())


def _first_error(field: Field) -> str:
    errors = list(field.errors or [])
    return str(errors[0]) if errors else "Not a valid value"
