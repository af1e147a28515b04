"""The values of an imported sheet as the error workbook writes them back: rows of values at
their positions, readable more than once (the writer makes two passes), streamed where the format
allows (csv, and xlsx read in slices)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from python_calamine import CalamineError, CalamineWorkbook

from datadesk.errors import UnreadableFile
from datadesk.importers.csv_text import csv_encoding, sniff_delimiter
from datadesk.importers.xlsx_slices import SlicedSheet
from datadesk.importers.xml_scan import xlsx_details


class ValueSource(Protocol):
    """Rows of one sheet's values at their positions; can be read more than once."""

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """(Excel row number, column number of the first value, values) in row order."""
        ...


class CalamineValues:
    """A sheet of an xls, ods or xlsx file, read with calamine."""

    def __init__(self, path: Path, sheet_name: str) -> None:
        try:
            book = CalamineWorkbook.from_path(str(path))
            self.sheet = book.get_sheet_by_name(sheet_name)
        except CalamineError as exc:
            raise UnreadableFile(f"the workbook cannot be opened again: {exc}") from exc

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """Rows of the sheet's data range; calamine's row iterator may or may not begin at
        the first filled row, so positions are counted back from the range's last cell."""
        end = self.sheet.end
        if end is None:
            return
        count = sum(1 for _ in self.sheet.iter_rows())
        first_row = end[0] - count + 2
        for offset, values in enumerate(self.sheet.iter_rows()):
            yield first_row + offset, end[1] - len(values) + 2, values


class SlicedValues:
    """A sheet of an xlsx file, read in slices (see ``xlsx_slices``) at each pass."""

    def __init__(self, path: Path, sheet_name: str) -> None:
        self.path = path
        self.sheet_name = sheet_name
        self.details = xlsx_details(path, sheet_name)
        if self.details.part is None:
            raise UnreadableFile(f"the workbook has no sheet named '{sheet_name}'")

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """Rows from the first that holds a value, each from column A."""
        assert self.details.part is not None
        sheet = SlicedSheet.open(
            self.path,
            self.details.part,
            file_name=self.path.name,
            epoch_1904=self.details.epoch_1904,
        )
        if sheet is None:  # rows without numbers: read whole, as the import did
            yield from CalamineValues(self.path, self.sheet_name).rows()
            return
        if sheet.first_row is None:
            sheet.close()
            return
        for offset, values in enumerate(sheet.rows()):
            yield sheet.first_row + offset, 1, values


class CsvValues:
    """A csv file: one row per record, every value text; encoding and delimiter found exactly
    as the reader found them, so the cells land where the import saw them."""

    def __init__(self, path: Path, encoding: str | None, delimiter: str | None) -> None:
        self.path = path
        self.encoding = csv_encoding(path, encoding)
        self.delimiter = delimiter or sniff_delimiter(path, self.encoding)

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """Records numbered from 1, as a spreadsheet program shows them."""
        with self.path.open(encoding=self.encoding, errors="replace", newline="") as handle:
            for number, record in enumerate(csv.reader(handle, delimiter=self.delimiter), 1):
                yield number, 1, list(record)
