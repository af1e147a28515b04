"""Streaming .xlsx writing with XlsxWriter's constant-memory mode: typed, formatted, guarded.

Rows go to a temporary file per sheet as they are written, so memory stays flat however many
rows a sheet gets; rows must be written top to bottom. The workbook is complete only after
``close()``: a failed export leaves a file that the caller deletes, never one that is served.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Literal

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from datadesk.exports.columns import (
    DEFAULT_WIDTHS,
    FORMULA_STARTS,
    MAX_WIDTH,
    MIN_WIDTH,
    ExportColumn,
    is_formula_like,
)

Aggregate = Literal["sum", "count", "average", "min", "max"]
MAX_ROWS = 1_048_576  # rows in one Excel sheet, header and preamble included
SHEET_NAME_LIMIT = 31
WIDTH_SAMPLE_ROWS = 500  # column widths come from the heading and the first rows
EXACT_INTEGER_LIMIT = 2**53  # larger integers lose digits as Excel numbers: written as text
# SUBTOTAL ignores rows the autofilter hides, so totals follow what the reader filters.
_SUBTOTAL = {"sum": 109, "count": 103, "average": 101, "min": 105, "max": 104}
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system (after its leap bug)
Putter = Callable[[int, int, Any], Any]


def sheet_name(text: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique Excel sheet name for ``text``: at most 31 characters, none of []:*?/\\."""
    name = _SHEET_NAME_BAD.sub("_", text).strip().strip("'") or "Sheet"
    if name.lower() == "history":  # reserved by Excel
        name = "History_"
    name = name[:SHEET_NAME_LIMIT]
    used = {t.lower() for t in taken}
    candidate, number = name, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = name[: SHEET_NAME_LIMIT - len(suffix)] + suffix
    return candidate


class XlsxWorkbook:
    """A streaming .xlsx file with one or more ``XlsxSheet``s; use as a context manager."""

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        *,
        title: str = "",
        author: str = "",
        subject: str = "",
        temp_dir: str | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "constant_memory": True,
            "remove_timezone": True,  # Excel has no time zones: the wall-clock time is kept
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        if temp_dir:
            options["tmpdir"] = temp_dir
        path = os.fspath(target) if isinstance(target, str | os.PathLike) else target
        self._book = xlsxwriter.Workbook(path, options)
        self._book.set_properties(
            {"title": title, "author": author, "subject": subject, "comments": "datadesk"}
        )
        self._formats: dict[tuple[Any, ...], Format] = {}
        self.sheets: list[XlsxSheet] = []
        self._closed = False

    def add_sheet(
        self,
        name: str,
        columns: Sequence[ExportColumn],
        *,
        preamble: Sequence[str] = (),
        totals: Mapping[str, Aggregate] | None = None,
        totals_label: str = "Total",
        total_values: Mapping[str, Any] | None = None,
    ) -> XlsxSheet:
        """A new sheet: ``preamble`` lines (title first) above a bold, frozen, filtered header.

        ``totals`` maps column names to an aggregate written in a totals row under the data
        when the sheet is finished (a SUBTOTAL formula with its value computed while writing).
        ``total_values`` puts given values in that row as they are (e.g. a report's average
        over all rows, which no aggregate of the rows' own averages gives).
        """
        safe = sheet_name(name, (s.name for s in self.sheets))
        sheet = XlsxSheet(self, safe, columns, preamble, totals or {}, totals_label)
        sheet.set_total_values(total_values or {})
        self.sheets.append(sheet)
        return sheet

    def worksheet(self, name: str) -> Worksheet:
        """A new XlsxWriter worksheet (for ``XlsxSheet``)."""
        return self._book.add_worksheet(name)

    def close(self) -> None:
        """Finish every sheet and write the file; only now is it a complete workbook."""
        if self._closed:
            return
        self._closed = True
        for sheet in self.sheets:
            sheet.finish()
        self._book.close()

    def __enter__(self) -> XlsxWorkbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def format(self, **properties: Any) -> Format:
        """A shared cell format (XlsxWriter keeps one per distinct set of properties)."""
        key = tuple(sorted(properties.items()))
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self._book.add_format(properties)
        return found


class XlsxSheet:
    """One sheet of an ``XlsxWorkbook``: write rows in order with ``write_row``/``write_rows``."""

    def __init__(
        self,
        book: XlsxWorkbook,
        name: str,
        columns: Sequence[ExportColumn],
        preamble: Sequence[str],
        totals: Mapping[str, Aggregate],
        totals_label: str,
    ) -> None:
        if not columns:
            raise ValueError(f"sheet {name}: no columns to write")
        self.book = book
        self.name = name
        self.columns = list(columns)
        self.totals_label = totals_label
        self._totals = self._plan_totals(totals)  # before the sheet exists: a bad plan adds none
        self._fixed_totals: dict[int, Any] = {}
        self._ws = book.worksheet(name)
        self._finished = False
        self._widths = [len(c.label) for c in self.columns]
        self._sums: list[Any] = [None] * len(self.columns)
        self._counts = [0] * len(self.columns)
        for line_no, line in enumerate(preamble):
            self._put_text(line_no, 0, line, {"bold": True, "font_size": 14} if not line_no else {})
        self.header_row = len(preamble) + (1 if preamble else 0)
        for col, column in enumerate(self.columns):
            self._put_text(self.header_row, col, column.label, {"bold": True, "bottom": 1})
        self._ws.freeze_panes(self.header_row + 1, 0)
        self._next_row = self.header_row + 1
        self._putters = [self._putter(column) for column in self.columns]

    def set_total_values(self, values: Mapping[str, Any]) -> None:
        """Values the totals row shows as they are, by column name (before any row)."""
        index = {column.name: i for i, column in enumerate(self.columns)}
        unknown = [name for name in values if name not in index or index[name] in self._totals]
        if unknown:
            raise ValueError(f"sheet {self.name}: total values for {', '.join(unknown)}")
        self._fixed_totals = {index[name]: value for name, value in values.items()}

    @property
    def rows_written(self) -> int:
        """Data rows written so far (preamble, header and totals not counted)."""
        return self._next_row - self.header_row - 1

    def write_row(self, values: Sequence[Any]) -> None:
        """Write one data row; ``values`` are in column order, None leaves a cell empty."""
        row = self._next_row
        if row >= MAX_ROWS - (1 if self._totals or self._fixed_totals else 0):
            raise ValueError(f"sheet {self.name}: more rows than an Excel sheet holds")
        if row - self.header_row <= WIDTH_SAMPLE_ROWS:
            self._measure(values)
        if self._totals:
            self._accumulate(values)
        for col, put in enumerate(self._putters):
            value = values[col]
            if value is not None:
                put(row, col, value)
        self._next_row = row + 1

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> int:
        """Write rows in order; returns how many were written."""
        before = self._next_row
        for values in rows:
            self.write_row(values)
        return self._next_row - before

    def finish(self) -> None:
        """Totals row, autofilter over header and data, column widths (done by ``close``)."""
        if self._finished:
            return
        self._finished = True
        last = self._next_row - 1
        if self._totals or self._fixed_totals:
            self._write_totals(last)
        self._ws.autofilter(self.header_row, 0, last, len(self.columns) - 1)
        for col, column in enumerate(self.columns):
            self._ws.set_column(col, col, self._width(col, column))

    # -- cells --------------------------------------------------------------------------------

    def _putter(self, column: ExportColumn) -> Putter:
        """The function writing one non-empty value of this column: typed, formatted, guarded."""
        ws = self._ws
        book = self.book
        number_format = column.excel_format
        fmt = book.format(num_format=number_format) if number_format else None
        text = self._text_putter(column)
        kind = column.kind
        if kind in {"text", "code"}:
            return text
        if kind == "boolean":

            def put_boolean(row: int, col: int, value: Any) -> Any:
                return ws.write_boolean(row, col, bool(value), fmt)

            return put_boolean
        if kind == "integer":

            def put_integer(row: int, col: int, value: Any) -> Any:
                if isinstance(value, int | Decimal) and -EXACT_INTEGER_LIMIT < value < (
                    EXACT_INTEGER_LIMIT
                ):
                    return ws.write_number(row, col, value, fmt)
                return text(row, col, value)

            return put_integer
        if kind in {"decimal", "money", "float"}:

            def put_number(row: int, col: int, value: Any) -> Any:
                if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                    return ws.write_number(row, col, value, fmt)
                return text(row, col, value)

            return put_number
        if kind in {"date", "datetime", "time"}:
            date_only = book.format(num_format="yyyy-mm-dd") if kind == "datetime" else fmt
            temporal = dt.time if kind == "time" else dt.date

            def put_temporal(row: int, col: int, value: Any) -> Any:
                if not isinstance(value, temporal):
                    return text(row, col, value)
                if (
                    date_only is not fmt
                    and isinstance(value, dt.datetime)
                    and not (value.hour or value.minute or value.second or value.microsecond)
                ):
                    return ws.write_datetime(row, col, value, date_only)
                return ws.write_datetime(row, col, value, fmt)

            return put_temporal
        if kind == "duration":

            def put_duration(row: int, col: int, value: Any) -> Any:
                if isinstance(value, dt.timedelta):
                    return ws.write_number(row, col, value.total_seconds() / 86400, fmt)
                return text(row, col, value)

            return put_duration
        raise ValueError(f"{column.name}: unknown cell kind '{kind}'")  # pragma: no cover

    def _text_putter(self, column: ExportColumn) -> Putter:
        ws = self._ws
        number_format = "@" if column.kind == "code" else None
        fmt = self.book.format(num_format=number_format) if number_format else None
        # Excel's quote prefix keeps formula-like text as text, even after the cell is edited.
        inert = self.book.format(quote_prefix=True, **({"num_format": "@"} if fmt else {}))
        guard = column.guard
        starts = FORMULA_STARTS

        def put_text(row: int, col: int, value: Any) -> Any:
            text = value if isinstance(value, str) else _as_text(value)
            if text.startswith(starts):
                if guard:
                    return ws.write_string(row, col, text, inert)
                if text.startswith("="):
                    return ws.write_formula(row, col, text, fmt)
            if text.startswith("<r>") and text.endswith("</r>"):
                return _write_markup_like(ws, row, col, text, fmt)
            return ws.write_string(row, col, text, fmt)

        return put_text

    def _put_text(self, row: int, col: int, text: str, style: dict[str, Any]) -> None:
        """Preamble, headings, labels: always plain text, formula-like text made inert."""
        if is_formula_like(text):
            style = {**style, "quote_prefix": True}
        fmt = self.book.format(**style) if style else None
        if text.startswith("<r>") and text.endswith("</r>"):
            _write_markup_like(self._ws, row, col, text, fmt)
        else:
            self._ws.write_string(row, col, text, fmt)

    # -- widths and totals --------------------------------------------------------------------

    def _measure(self, values: Sequence[Any]) -> None:
        widths = self._widths
        for col, value in enumerate(values):
            if value is not None and self.columns[col].width is None:
                size = len(value) if isinstance(value, str) else len(str(value))
                if size > widths[col]:
                    widths[col] = size

    def _width(self, col: int, column: ExportColumn) -> float:
        if column.width is not None:
            return column.width
        seen: float = self._widths[col] + 2
        if column.kind not in {"text", "code"}:
            seen = max(seen, DEFAULT_WIDTHS.get(column.kind, MIN_WIDTH))
        return float(min(max(seen, MIN_WIDTH), MAX_WIDTH))

    def _plan_totals(self, totals: Mapping[str, Aggregate]) -> dict[int, Aggregate]:
        index = {column.name: i for i, column in enumerate(self.columns)}
        plan: dict[int, Aggregate] = {}
        for name, aggregate in totals.items():
            if name not in index:
                raise ValueError(f"sheet {self.name}: totals name an unknown column '{name}'")
            if aggregate not in _SUBTOTAL:
                raise ValueError(f"{name}: unknown aggregate '{aggregate}'")
            column = self.columns[index[name]]
            numeric = column.is_numeric or column.kind in {"date", "datetime", "time"}
            if aggregate != "count" and not (
                column.is_numeric or (numeric and aggregate in {"min", "max"})
            ):
                raise ValueError(f"{name}: cannot {aggregate} {column.kind} values")
            plan[index[name]] = aggregate
        return plan

    def _accumulate(self, values: Sequence[Any]) -> None:
        sums, counts = self._sums, self._counts
        for col, aggregate in self._totals.items():
            value = values[col]
            if value is None or isinstance(value, str):
                continue
            counts[col] += 1
            current = sums[col]
            if aggregate in {"sum", "average"}:
                sums[col] = value if current is None else current + value
            elif current is None or (value < current if aggregate == "min" else value > current):
                sums[col] = value

    def _total_value(self, col: int, aggregate: Aggregate) -> Any:
        if aggregate == "count":
            return self._counts[col]
        value = self._sums[col]
        if value is None:
            return 0 if aggregate == "sum" else ""
        if aggregate == "average":
            value = value / self._counts[col]
        if isinstance(value, dt.date | dt.time):
            return excel_serial(value)
        return value

    def _write_totals(self, last: int) -> None:
        row = self._next_row
        first = self.header_row + 1
        taken = self._totals.keys() | self._fixed_totals.keys()
        label_col = next((c for c in range(len(self.columns)) if c not in taken), None)
        if label_col is not None:
            self._put_text(row, label_col, self.totals_label, {"bold": True, "top": 1})
        for col, fixed in self._fixed_totals.items():
            fmt = self.book.format(bold=True, top=1, **_num_format(self.columns[col].excel_format))
            self._ws.write(row, col, float(fixed) if isinstance(fixed, Decimal) else fixed, fmt)
        for col, aggregate in self._totals.items():
            column = self.columns[col]
            number_format = column.excel_format if aggregate != "count" else "0"
            fmt = self.book.format(bold=True, top=1, **_num_format(number_format))
            value = self._total_value(col, aggregate)
            if last < first:
                self._ws.write(row, col, value if value != "" else None, fmt)
                continue
            cells = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(last, col)}"
            formula = f"=SUBTOTAL({_SUBTOTAL[aggregate]},{cells})"
            cached = float(value) if isinstance(value, Decimal) else value
            self._ws.write_formula(row, col, formula, fmt, cached)
        self._next_row = row + 1


def excel_serial(value: dt.date | dt.time) -> float:
    """A date, datetime or time as Excel's day number (1900 date system, as XlsxWriter writes)."""
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if not isinstance(value, dt.datetime):
        return float((value - _EPOCH.date()).days)
    delta = value.replace(tzinfo=None) - _EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _num_format(number_format: str | None) -> dict[str, str]:
    return {"num_format": number_format} if number_format else {}


def _as_text(value: Any) -> str:
    """Text for a value that is not a str (GUIDs, binary as a size, anything unexpected)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _write_markup_like(ws: Worksheet, row: int, col: int, text: str, fmt: Format | None) -> Any:
    """Text that looks like XlsxWriter's inline rich-string markup ('<r>…</r>'); written as
    plain fragments, since constant-memory mode would copy it into the sheet's XML as is."""
    parts = [text[:1], text[1:-1], text[-1:]]
    if fmt is not None:
        return ws.write_rich_string(row, col, *parts, fmt)
    return ws.write_rich_string(row, col, *parts)
