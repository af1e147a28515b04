"""Exports: streaming .xlsx and CSV writers, and what grid exports and reports build on.

Framework-free (no Starlette, no sqladmin): the web pages and the CLI call the same code.

Writer API
----------
Columns are described by ``ExportColumn`` (``exports/columns.py``)::

    ExportColumn(name, label, kind="text", number_format=None, width=None, guard=True)
    ExportColumn.from_column_info(info, label=None, guard=True)   # from the catalog

``kind`` is one of ``text``, ``code`` (leading zeros kept, cells formatted as text),
``integer``, ``decimal``, ``money`` (two decimals), ``float``, ``date``, ``datetime`` (a value
at midnight shows as a date), ``time``, ``duration`` and ``boolean``; ``number_format`` is an
Excel format that replaces the kind's default; ``width`` (characters) replaces the width
measured from the heading and the first 500 rows. ``guard`` is the formula-injection guard:
text starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF is written as plain text (in
.xlsx with Excel's quote prefix, the text itself unchanged; in CSV with a leading apostrophe).
Numbers, dates and booleans are never affected. Turn it off only for columns the config lists.

Streaming .xlsx (``exports/xlsx.py``, XlsxWriter in constant-memory mode)::

    with XlsxWorkbook(path_or_binary_file, title="Staff", author="jdoe") as book:
        sheet = book.add_sheet(
            "Staff",                         # made a valid Excel name (31 chars, no []:*?/\\)
            columns,
            preamble=["Staff by department", "Department: 3", "Generated 2026-01-05 by jdoe"],
            totals={"salary": "sum", "id": "count"},   # optional: sum/count/average/min/max
            totals_label="Total",
            total_values={"avg_salary": 81250.5},   # optional: totals cells given as values
        )
        sheet.write_row(values)              # values in column order; None = empty cell
        sheet.write_rows(iterable_of_rows)   # returns the number written
        summary = book.add_sheet("Summary", other_columns)   # several sheets are fine

Each sheet gets the preamble lines (the first bold and larger) and an empty line, then a
bold header row, frozen, with an autofilter over header and data, column widths, and the
totals row under the data (``SUBTOTAL`` formulas that follow the filter, with the values
computed while writing, so readers that do not calculate see them too). Rows must be
written top to bottom; memory stays flat in the number of rows. The file is complete only
after ``close()`` (the ``with`` block's end): on an error, delete it rather than serve it.
``sheet.rows_written`` counts data rows. ``sheet_name(text, taken)`` gives the sheet name
that ``add_sheet`` uses.

CSV (``exports/csv_writer.py``)::

    with open(path, "w", newline="", encoding="utf-8-sig") as stream:
        writer = CsvWriter(stream, columns, preamble=[...])   # preamble optional
        writer.write_row(values); writer.write_rows(rows)

Values are written as ISO dates, plain numbers and ``true``/``false``, with the same guard.
"""

from __future__ import annotations

from datadesk.exports.columns import (
    CELL_KINDS,
    FORMULA_STARTS,
    CellKind,
    ExportColumn,
    defuse,
    is_formula_like,
)
from datadesk.exports.csv_writer import CsvWriter, render_value
from datadesk.exports.xlsx import Aggregate, XlsxSheet, XlsxWorkbook, sheet_name

__all__ = [
    "CELL_KINDS",
    "FORMULA_STARTS",
    "Aggregate",
    "CellKind",
    "CsvWriter",
    "ExportColumn",
    "XlsxSheet",
    "XlsxWorkbook",
    "defuse",
    "is_formula_like",
    "render_value",
    "sheet_name",
]
