"""The error workbook: the user's own sheet handed back with every problem of an import marked.

Bad cells get a light red fill and a comment holding the message(s); a problem with a whole
row tints the row's cells in the data area and comments its first cell. A sheet named
``Errors`` at the end lists every problem, each row number a link to the cell.

xlsx and xlsm uploads are opened with openpyxl and marked in place, so their formatting, other
sheets and (for xlsm) macros stay as they were, as far as openpyxl keeps them. xls, ods and csv
cannot be written back: for them a fresh xlsx holds the imported sheet's values at the same
row numbers and column letters. So does a large xlsx (more than ``MAX_STYLED_CELLS`` cells),
whose formatting would not fit in memory; its values are read in slices, and the fresh
workbook is written row by row, so memory does not grow with its rows.

The problems are read once, as a stream: the Errors sheet lists at most ``MAX_LISTED`` of them
and then says how many more there were, and at most ``MAX_COMMENTS`` cells get a comment
(further bad cells are only filled).
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell, WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from datadesk.errors import UnreadableFile
from datadesk.importers.sheet import CellProblem, FileFormat
from datadesk.importers.sheet_values import CalamineValues, CsvValues, SlicedValues, ValueSource
from datadesk.importers.xml_scan import xlsx_details

MAX_LISTED = 100_000
"""Most problems listed on the Errors sheet; a last line counts the rest."""
MAX_COMMENTS = 10_000
"""Most cells given a comment; further bad cells are only filled."""
MAX_COMMENT_LINES = 20
"""Most messages in one comment; a last line counts the rest."""
MAX_STYLED_CELLS = 250_000
"""An xlsx sheet with more cells than this is handed back as values only (see module doc):
openpyxl holds every cell of a workbook it opens for writing (a few hundred bytes each)."""

ERRORS_SHEET = "Errors"
ERRORS_HEADINGS = ("Row", "Column", "Heading", "Value", "Message")
AUTHOR = "datadesk"
CELL_FILL = PatternFill(fill_type="solid", fgColor="FFC8CE")  # not Excel's "Bad" FFC7CE
ROW_FILL = PatternFill(fill_type="solid", fgColor="FDEDEF")
ROW_PREFIX = "Whole row: "

_ERRORS_WIDTHS = (9, 9, 24, 30, 80)
_LINK_FONT = Font(color="0563C1", underline="single")
_BOLD = Font(bold=True)
_HEADING_FILL = PatternFill(fill_type="solid", fgColor="E7E6E6")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_EXCEL_TEXT_LIMIT = 32_767
_LISTED_TEXT_LIMIT = 1_000
_EARLIER = "\n\n--- Earlier comment by "
_SHEET_TITLE_BAD = re.compile(r"[\\/*?:\[\]]")
_MAX_ROW = 1_048_576  # Excel's last row
_XML_BYTES_PER_CELL = 40  # about what a filled cell takes in a sheet's XML
_LETTERS = re.compile(r"^(?:[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D]|[A-Z]{1,2})$")  # A..XFD


def error_workbook_suffix(file_format: FileFormat) -> str:
    """The file name suffix of the error workbook made from an upload of this format."""
    return ".xlsm" if file_format == "xlsm" else ".xlsx"


def write_error_workbook(
    source: Path,
    file_format: FileFormat,
    sheet_name: str,
    header_row: int,
    problems: Iterable[CellProblem],
    out: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> None:
    """Write the uploaded workbook ``source`` to ``out`` with ``problems`` marked.

    ``sheet_name`` is the imported sheet and ``header_row`` the Excel row number of its
    headings (its filled cells are the data area a whole-row problem tints). ``out`` should
    end in ``error_workbook_suffix(file_format)``. ``encoding`` and ``delimiter`` are for csv
    uploads; when not given they are detected. Raises ``UnreadableFile`` when the file or the
    sheet cannot be opened.
    """
    if file_format == "xlsm" or (
        file_format == "xlsx" and _cell_count(source, sheet_name) <= MAX_STYLED_CELLS
    ):
        _mark_in_place(source, file_format, sheet_name, header_row, problems, out)
        return
    values: ValueSource
    if file_format == "csv":
        values = CsvValues(source, encoding, delimiter)
    elif file_format == "xlsx":
        values = SlicedValues(source, sheet_name)
    else:
        values = CalamineValues(source, sheet_name)
    _write_fresh(values, sheet_name, header_row, problems, out)


# --- collecting the marks -------------------------------------------------------------------


@dataclass
class _Marks:
    """Which cells and rows are bad, and the comment lines of the first MAX_COMMENTS cells."""

    first_col: int
    last_col: int
    cells: dict[int, set[int]] = field(default_factory=dict)  # row -> bad columns
    rows: set[int] = field(default_factory=set)  # rows with a whole-row problem
    comments: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    untold: dict[tuple[int, int], int] = field(default_factory=dict)  # lines over the cap

    def add(self, problem: CellProblem) -> None:
        """Record one problem (problems on rows or columns that do not exist are ignored)."""
        if not 1 <= problem.row <= _MAX_ROW:
            return
        if problem.column is None:
            self.rows.add(problem.row)
            self._comment((problem.row, self.first_col), ROW_PREFIX + problem.message)
            return
        try:
            col = column_index_from_string(problem.column.strip().upper())
        except ValueError:
            return
        self.cells.setdefault(problem.row, set()).add(col)
        self._comment((problem.row, col), problem.message)

    def _comment(self, key: tuple[int, int], message: str) -> None:
        lines = self.comments.get(key)
        if lines is None:
            if len(self.comments) >= MAX_COMMENTS:
                return
            lines = self.comments[key] = []
        if len(lines) < MAX_COMMENT_LINES:
            lines.append(_clean_text(message))
        else:
            self.untold[key] = self.untold.get(key, 0) + 1

    def fill_of(self, row: int, col: int) -> PatternFill | None:
        """The fill a cell gets: red when it is bad, pale when its row is, else none."""
        if col in self.cells.get(row, ()):
            return CELL_FILL
        if row in self.rows and self.first_col <= col <= self.last_col:
            return ROW_FILL
        return None

    def comment_of(self, row: int, col: int) -> Comment | None:
        """The comment a cell gets, if any."""
        lines = self.comments.get((row, col))
        if not lines:
            return None
        more = self.untold.get((row, col), 0)
        if more:
            lines = [*lines, f"... and {more} more"]
        return _sized_comment("\n".join(lines))


def _sized_comment(text: str) -> Comment:
    """A comment by datadesk whose box is large enough to show its text without scrolling."""
    longest = max(len(line) for line in text.splitlines() or [""])
    width = min(max(longest * 7 + 20, 160), 420)
    per_line = max((width - 20) // 7, 1)
    lines = sum(max(math.ceil(len(line) / per_line), 1) for line in text.splitlines() or [""])
    height = min(max(lines * 16 + 24, 48), 640)
    return Comment(text[:_EXCEL_TEXT_LIMIT], AUTHOR, height=height, width=width)


# --- the Errors sheet -----------------------------------------------------------------------


class _ErrorsSheet:
    """Appends problems to the Errors sheet, in either kind of openpyxl worksheet."""

    def __init__(self, ws: Any, target: str, first_col: int) -> None:
        self.ws = ws
        self.target = "'" + target.replace("'", "''") + "'"
        self.first_col = first_col
        self.listed = 0
        self.unlisted = 0
        for index, width in enumerate(_ERRORS_WIDTHS, 1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        heading = []
        for text in ERRORS_HEADINGS:
            cell = WriteOnlyCell(ws, text)
            cell.font = _BOLD
            cell.fill = _HEADING_FILL
            heading.append(cell)
        ws.append(heading)
        self.link_style = _style_of(ws, font=_LINK_FONT)

    def add(self, problem: CellProblem) -> None:
        """List one problem, or count it once the list is full."""
        if self.listed >= MAX_LISTED:
            self.unlisted += 1
            return
        self.listed += 1
        line = self.listed + 1
        column = (problem.column or "").strip().upper() or None
        row_cell = WriteOnlyCell(self.ws, problem.row)
        if 1 <= problem.row <= _MAX_ROW:
            row_cell._style = copy(self.link_style)
            letter = column if column and _LETTERS.match(column) else None
            letter = letter or get_column_letter(self.first_col)
            row_cell.hyperlink = Hyperlink(ref="", location=f"{self.target}!{letter}{problem.row}")
            row_cell.hyperlink.ref = f"A{line}"  # the setter took the unplaced cell's A1
        value_cell = WriteOnlyCell(self.ws)
        _put(value_cell, problem.value, limit=_LISTED_TEXT_LIMIT)
        cells = [row_cell, column, problem.heading, value_cell, problem.message]
        self.ws.append([c if isinstance(c, Cell) else _text_cell(self.ws, c) for c in cells])

    def finish(self) -> None:
        """Add the count of unlisted problems and the filter over the listed ones."""
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(ERRORS_HEADINGS))}{self.listed + 1}"
        if self.unlisted:
            self.ws.append([])
            self.ws.append(
                [
                    _text_cell(
                        self.ws,
                        f"{self.unlisted:,} more problems are not listed here;"
                        f" the first {MAX_LISTED:,} are.",
                    )
                ]
            )


def _text_cell(ws: Any, text: str | None) -> Cell:
    cell = WriteOnlyCell(ws)
    _put(cell, text)
    return cell


def _clean_text(text: str, limit: int = _EXCEL_TEXT_LIMIT) -> str:
    """Text Excel can store: no control characters, not longer than a cell holds."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _put(cell: Cell, value: Any, limit: int = _EXCEL_TEXT_LIMIT) -> None:
    """Store a value from the user's file: text always as text, dates with a date format."""
    if value is None or value == "":
        return
    if isinstance(value, bool | int | Decimal) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        cell.value = value
        return
    if isinstance(value, datetime | date | time | timedelta):
        if isinstance(value, datetime | time) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        cell.value = value
        cell.number_format = _date_format(value)
        return
    text = _clean_text(value if isinstance(value, str) else str(value), limit)
    cell.value = text
    cell.data_type = "s"  # never a formula, even when the text starts with '='
    if text.startswith(_FORMULA_STARTS):
        cell.quotePrefix = True  # and Excel keeps it text when the cell is edited


def _date_format(value: date | time | timedelta) -> str:
    if isinstance(value, datetime):
        return (
            "yyyy-mm-dd hh:mm:ss"
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else "yyyy-mm-dd"
        )
    if isinstance(value, date):
        return "yyyy-mm-dd"
    if isinstance(value, time):
        return "hh:mm:ss"
    return "[h]:mm:ss"


# --- xlsx and xlsm: marked in place ---------------------------------------------------------


def _load(source: Path, **options: Any) -> Any:
    """Open a workbook with openpyxl, quietly dropping what it cannot keep."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(source, **options)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise UnreadableFile(f"the workbook cannot be opened again: {exc}") from exc


def _cell_count(source: Path, sheet_name: str) -> int:
    """Rows times columns of the sheet's used range, read cheaply."""
    wb = _load(source, read_only=True)
    try:
        ws = _sheet(wb, sheet_name)
        rows, cols = ws.max_row, ws.max_column
    finally:
        wb.close()
    if rows is None or cols is None:  # no dimension recorded: judged by the sheet's XML size
        details = xlsx_details(source, sheet_name)
        if details.part is None:
            return 0
        with zipfile.ZipFile(source) as archive:
            return archive.getinfo(details.part).file_size // _XML_BYTES_PER_CELL
    return int(rows) * int(cols)


def _sheet(wb: Any, sheet_name: str) -> Any:
    if sheet_name not in wb.sheetnames:
        raise UnreadableFile(f"the workbook has no sheet named '{sheet_name}'")
    return wb[sheet_name]


def _mark_in_place(
    source: Path,
    file_format: FileFormat,
    sheet_name: str,
    header_row: int,
    problems: Iterable[CellProblem],
    out: Path,
) -> None:
    wb = _load(source, keep_vba=file_format == "xlsm", rich_text=True)
    ws = _sheet(wb, sheet_name)
    if not hasattr(ws, "merged_cells"):
        raise UnreadableFile(f"'{sheet_name}' is a chart, not a worksheet")
    for sheet in list(wb.worksheets):
        if sheet is not ws and _is_errors_sheet(sheet):
            wb.remove(sheet)
    _clear_marks(ws)

    headings = (
        [
            cell.column
            for cell in ws[header_row]
            if not isinstance(cell, MergedCell) and cell.value not in (None, "")
        ]
        if header_row >= 1
        else []
    )
    first_col = min(headings, default=ws.min_column)
    last_col = max(headings, default=ws.max_column)
    marks = _Marks(first_col, last_col)
    errors = _ErrorsSheet(wb.create_sheet(_free_title(wb.sheetnames)), ws.title, first_col)
    for problem in problems:
        marks.add(problem)
        errors.add(problem)
    errors.finish()

    for row in sorted(marks.rows):
        for col in range(first_col, last_col + 1):
            cell = ws.cell(row, col)
            if not isinstance(cell, MergedCell):
                cell.fill = ROW_FILL
    for row, cols in marks.cells.items():
        for col in cols:
            _anchor(ws, row, col).fill = CELL_FILL
    for (row, col), _lines in marks.comments.items():
        comment = marks.comment_of(row, col)
        if comment is not None:
            cell = _anchor(ws, row, col)
            if cell.comment is not None:
                comment = _sized_comment(
                    f"{comment.text}{_EARLIER}{cell.comment.author}:\n{cell.comment.text}"
                )
            cell.comment = comment

    if ws.sheet_state != "visible":
        ws.sheet_state = "visible"
    wb.active = ws
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws
    try:
        wb.save(out)
    finally:
        wb.close()


def _is_errors_sheet(sheet: Any) -> bool:
    """An Errors sheet this module wrote in an earlier round (replaced, not kept)."""
    if not sheet.title.startswith(ERRORS_SHEET) or not hasattr(sheet, "iter_rows"):
        return False
    first = next(
        sheet.iter_rows(min_row=1, max_row=1, max_col=len(ERRORS_HEADINGS), values_only=True), ()
    )
    return tuple(first) == ERRORS_HEADINGS


def _free_title(taken: list[str]) -> str:
    lowered = {name.lower() for name in taken}
    title, number = ERRORS_SHEET, 1
    while title.lower() in lowered:
        number += 1
        title = f"{ERRORS_SHEET} {number}"
    return title


def _clear_marks(ws: Any) -> None:
    """Undo the fills and comments of an earlier round, so fixed cells are no longer red."""
    for cell in list(ws._cells.values()):  # existing cells only; iter_rows would create more
        if cell.fill == CELL_FILL or cell.fill == ROW_FILL:
            cell.fill = PatternFill()
        comment = cell.comment
        if comment is not None and comment.author == AUTHOR:
            text = comment.text or ""
            if _EARLIER in text:
                earlier = text.split(_EARLIER, 1)[1]
                author, _, body = earlier.partition(":\n")
                cell.comment = Comment(body, author)
            else:
                cell.comment = None


def _anchor(ws: Any, row: int, col: int) -> Any:
    """The cell at a position, or the top-left cell of the merged range covering it."""
    cell = ws.cell(row, col)
    if isinstance(cell, MergedCell):
        for merged in ws.merged_cells.ranges:
            if merged.min_row <= row <= merged.max_row and merged.min_col <= col <= merged.max_col:
                return ws.cell(merged.min_row, merged.min_col)
    return cell


# --- xls, ods, csv and huge xlsx: a fresh workbook of values --------------------------------


def _write_fresh(
    values: ValueSource,
    sheet_name: str,
    header_row: int,
    problems: Iterable[CellProblem],
    out: Path,
) -> None:
    # First pass: the extent of the data, the headings (the data area) and column widths.
    last_row, first_col, last_col = 0, 0, 0
    heading_cols: list[int] = []
    widths: dict[int, int] = {}
    for number, start, row in values.rows():
        filled = [start + i for i, value in enumerate(row) if value not in (None, "")]
        if not filled:
            continue
        last_row = number
        first_col = min(filled[0], first_col or filled[0])
        last_col = max(filled[-1], last_col)
        if number == header_row:
            heading_cols = filled
        if number <= header_row + 500:
            for col in filled:
                length = len(str(row[col - start]))
                widths[col] = max(widths.get(col, 0), min(length + 2, 50))
    first_col = heading_cols[0] if heading_cols else max(first_col, 1)
    last_col = heading_cols[-1] if heading_cols else max(last_col, 1)

    wb = openpyxl.Workbook(write_only=True)
    title = _sheet_title(sheet_name)
    ws = wb.create_sheet(title)
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(width, 8)
    if 1 <= header_row < last_row:
        ws.freeze_panes = f"A{header_row + 1}"
    marks = _Marks(first_col, last_col)
    errors = _ErrorsSheet(wb.create_sheet(_free_title([title])), title, first_col)
    for problem in problems:
        marks.add(problem)
        errors.add(problem)
    errors.finish()

    styles = {
        (fill, bold): _style_of(
            ws, **({"fill": fill} if fill else {}), **({"font": _BOLD} if bold else {})
        )
        for fill in (CELL_FILL, ROW_FILL, None)
        for bold in (False, True)
    }
    written = 0
    for number, start, row in values.rows():
        while written < number - 1:
            ws.append([])
            written += 1
        ws.append(_fresh_row(ws, marks, styles, number, start, row, bold=number == header_row))
        written = number
        if number >= last_row:
            break
    wb.save(out)


def _fresh_row(
    ws: Any,
    marks: _Marks,
    styles: dict[tuple[PatternFill | None, bool], StyleArray],
    number: int,
    start: int,
    row: list[Any],
    *,
    bold: bool,
) -> list[Cell | None]:
    """The cells of one row of the fresh sheet: values, fills and comments."""
    bad = marks.cells.get(number, set())
    width = max(start - 1 + len(row), max(bad, default=0))
    if number in marks.rows:
        width = max(width, marks.last_col)
    cells: list[Cell | None] = []
    for col in range(1, width + 1):
        value = row[col - start] if start <= col < start + len(row) else None
        fill = marks.fill_of(number, col)
        comment = marks.comment_of(number, col)
        if value in (None, "") and fill is None and comment is None:
            cells.append(None)
            continue
        cell = WriteOnlyCell(ws)
        if fill is not None or bold:
            cell._style = copy(styles[fill, bold])
        _put(cell, value)
        if comment is not None:
            cell.comment = comment
        cells.append(cell)
    return cells


def _style_of(ws: Any, **style: Any) -> StyleArray:
    """The style array of a cell with these attributes, to copy onto many cells: setting a
    style attribute looks it up in the workbook's lists each time, a copy does not."""
    cell = WriteOnlyCell(ws)
    for name, value in style.items():
        setattr(cell, name, value)
    return cell._style


def _sheet_title(name: str) -> str:
    """A sheet title Excel accepts: no []:*?/\\ and at most 31 characters."""
    title = _SHEET_TITLE_BAD.sub("_", name).strip("'")[:31]
    return title or "Sheet1"
