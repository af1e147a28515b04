"""What a reader hands to the import engine: one sheet's headings and data rows, every value
with the position the user sees in their spreadsheet (sheet, Excel row number, column letter).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

FileFormat = Literal["xlsx", "xlsm", "xls", "ods", "csv"]


def column_letter(index: int) -> str:
    """Excel column letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Heading:
    """One column heading: its text as shown (merged headings filled in) and its position."""

    text: str
    index: int  # 0-based column index in the sheet

    @property
    def letter(self) -> str:
        """The column's letter as Excel shows it."""
        return column_letter(self.index)


class SourceRow(NamedTuple):
    """One data row: its Excel row number and its values by 0-based column index (a named
    tuple: made once per row on the hot path, so it must be cheap to build).

    Values are what the reader got from the file: str, int, float, bool, datetime.date,
    datetime.datetime, datetime.time, datetime.timedelta, or None for a blank cell. Text is
    given as stored (not trimmed); numbers stored as text stay text.
    """

    number: int
    values: tuple[Any, ...]

    def value(self, index: int) -> Any:
        """The value in a column, None when the row is shorter."""
        return self.values[index] if index < len(self.values) else None


@dataclass
class SheetData:
    """One sheet as read for an import.

    ``rows`` is an iterator: data rows are produced as the file is read, after the heading
    row, with the skipped rows (blank, totals) already left out and counted in ``notices``.
    """

    file_format: FileFormat
    sheet_name: str
    sheet_names: list[str]  # every sheet, in workbook order
    hidden_sheets: list[str]
    header_row: int  # Excel row number of the headings
    headings: list[Heading]
    rows: Iterator[SourceRow]
    epoch_1904: bool = False  # the workbook counts serial dates from 1904
    hidden_rows: list[int] = field(default_factory=list)  # Excel row numbers of hidden rows
    notices: list[str] = field(default_factory=list)  # things the user should know, as text


@dataclass(frozen=True)
class CellProblem:
    """Something wrong with one cell (``column`` set) or a whole row (``column`` None)."""

    row: int  # Excel row number
    column: str | None  # column letter, None for a problem with the whole row
    heading: str | None  # the column's heading as in the sheet
    value: Any  # the value as read from the file
    message: str


def normalize_heading(text: Any) -> str:
    """A heading reduced for matching: lower case, letters and digits only ('Emp. No' ->
    'empno'); accents are kept (é stays é)."""
    if text is None:
        return ""
    return "".join(ch for ch in str(text).casefold() if ch.isalnum())
