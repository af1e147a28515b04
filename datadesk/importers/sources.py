"""Where a sheet's raw rows come from: a workbook read with python-calamine (plus what its
zip parts tell), or a CSV file, streamed."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import python_calamine as calamine

from datadesk.errors import UnreadableFile
from datadesk.importers.csv_text import csv_encoding, csv_records, sniff_delimiter
from datadesk.importers.formats import (
    damaged,
    password_message,
)
from datadesk.importers.sheet import (
    FileFormat,
)
from datadesk.importers.xlsx_slices import SlicedSheet
from datadesk.importers.xml_scan import Merge, ods_details, xlsx_details


@dataclass
class Source:
    """One sheet's rows as read, with what the format tells about them."""

    file_format: FileFormat
    sheet_name: str
    sheet_names: list[str]
    hidden_sheets: list[str]
    rows: Iterator[list[Any]]  # raw rows from first_number on
    first_number: int
    col_offset: int
    last_row: int | None  # Excel row number of the last row, when known
    merges: list[Merge] = field(default_factory=list)
    hidden_rows: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    epoch_1904: bool = False
    notices: list[str] = field(default_factory=list)
    data_rows: Callable[[int], Iterator[list[Any]]] | None = None  # re-read after a row


# --------------------------------------------------------------------------- workbooks


def workbook_source(
    path: Path, file_name: str, file_format: FileFormat, sheet: str | int
) -> Source:
    """One sheet of a workbook: xlsx and xlsm sheets are read in slices as they are iterated
    (see ``xlsx_slices``); other sheets are loaded whole with calamine (the workbook closed)
    with what the zip parts tell about them: hidden rows, the 1904 date system, merges."""
    try:
        book = calamine.CalamineWorkbook.from_path(str(path))
    except calamine.PasswordError:
        raise UnreadableFile(password_message(file_name)) from None
    except calamine.CalamineError as exc:
        raise damaged(file_name, file_format, exc) from None
    try:
        metadata = book.sheets_metadata
        if not metadata:
            raise UnreadableFile(f"{file_name} holds no sheets")
        name, hidden_sheets, notices = _choose_sheet(metadata, sheet, file_name)
        sheet_names = [m.name for m in metadata]
        if file_format in ("xlsx", "xlsm"):
            sliced = _sliced_source(path, file_name, file_format, name)
            if sliced is not None:
                sliced.sheet_names, sliced.hidden_sheets, sliced.notices = (
                    sheet_names,
                    hidden_sheets,
                    notices,
                )
                return sliced
        data = book.get_sheet_by_name(name)
        epoch_1904, hidden_rows, merges = _zip_details(path, file_format, name)
    except calamine.PasswordError:
        raise UnreadableFile(password_message(file_name)) from None
    except calamine.CalamineError as exc:
        raise damaged(file_name, file_format, exc) from None
    finally:
        book.close()
    start, end = data.start, data.end
    if start is None or end is None:
        raise UnreadableFile(f"sheet '{name}' of {file_name} is empty")
    ranges = data.merged_cell_ranges
    if ranges is not None:
        merges = [Merge(a[0] + 1, a[1], b[0] + 1, b[1]) for a, b in ranges]
    return Source(
        file_format=file_format,
        sheet_name=name,
        sheet_names=sheet_names,
        hidden_sheets=hidden_sheets,
        rows=_calamine_rows(data, start[0]),
        first_number=start[0] + 1,
        col_offset=start[1],
        last_row=end[0] + 1,
        merges=merges,
        hidden_rows=hidden_rows,
        epoch_1904=epoch_1904,
        notices=notices,
    )


def _sliced_source(
    path: Path, file_name: str, file_format: FileFormat, sheet_name: str
) -> Source | None:
    """An xlsx/xlsm sheet read in slices (flat memory), None when it must be read whole."""
    details = xlsx_details(path, sheet_name)
    if details.part is None:
        return None
    sliced = SlicedSheet.open(
        path, details.part, file_name=file_name, epoch_1904=details.epoch_1904
    )
    if sliced is None:
        return None
    if sliced.first_row is None:
        sliced.close()
        raise UnreadableFile(f"sheet '{sheet_name}' of {file_name} is empty")
    return Source(
        file_format=file_format,
        sheet_name=sheet_name,
        sheet_names=[],
        hidden_sheets=[],
        rows=sliced.rows(),
        first_number=sliced.first_row,
        col_offset=0,
        last_row=None,
        merges=details.merges,
        hidden_rows=details.hidden_rows,
        epoch_1904=details.epoch_1904,
    )


def _zip_details(
    path: Path, file_format: FileFormat, sheet_name: str
) -> tuple[bool, list[tuple[int, int]], list[Merge]]:
    """What the zip parts tell that calamine does not: the 1904 date system and hidden rows
    (xlsx, xlsm), hidden rows and merged ranges (ods). Nothing for xls."""
    if file_format in ("xlsx", "xlsm"):
        details = xlsx_details(path, sheet_name)
        return details.epoch_1904, details.hidden_rows, details.merges
    if file_format == "ods":
        hidden, merges = ods_details(path, sheet_name)
        return False, hidden, merges
    return False, [], []


def _choose_sheet(
    metadata: list[calamine.SheetMetadata], sheet: str | int, file_name: str
) -> tuple[str, list[str], list[str]]:
    """The sheet to read, the hidden sheets and notices about them."""
    visible_kind = calamine.SheetVisibleEnum.Visible
    hidden = [m.name for m in metadata if m.visible != visible_kind]
    listing = ", ".join(
        f"'{m.name}'" + (" (hidden)" if m.visible != visible_kind else "") for m in metadata
    )
    if isinstance(sheet, str):
        wanted = sheet.strip().casefold()
        name = next((m.name for m in metadata if m.name.strip().casefold() == wanted), None)
        if name is None:
            raise UnreadableFile(f"{file_name} has no sheet '{sheet}'; its sheets are {listing}")
    else:
        visible = [
            m.name
            for m in metadata
            if m.visible == visible_kind and m.typ == calamine.SheetTypeEnum.WorkSheet
        ]
        if not 0 <= sheet < len(visible):
            raise UnreadableFile(
                f"{file_name} has no sheet number {sheet} (counting visible sheets from 0); "
                f"its sheets are {listing}"
            )
        name = visible[sheet]
    notices = [f"sheet '{other}' is hidden and was not read" for other in hidden if other != name]
    if name in hidden:
        notices.append(f"sheet '{name}' is hidden; it was read because the import names it")
    return name, hidden, notices


def _calamine_rows(data: calamine.CalamineSheet, start_row: int) -> Iterator[list[Any]]:
    """The sheet's rows from its first used row on.

    python-calamine's iter_rows yields ``start_row`` blank rows before the used range
    (0.9: rows from the top of the sheet, columns from the first used one); versions that
    start at the used range are handled too: the first used row is never blank.
    """
    rows = iter(data.iter_rows())
    if start_row == 0:
        return rows
    first = next(rows, None)
    if first is None:
        return rows
    if any(v != "" for v in first):
        return chain([first], rows)
    deque(islice(rows, start_row - 1), maxlen=0)
    return rows


# xlsx: workbook.xml, its relationships, and the sheet part's <row hidden="1">

# --------------------------------------------------------------------------- CSV


def csv_source(path: Path, file_name: str, encoding: str | None, delimiter: str | None) -> Source:
    """A CSV file as one sheet named after the file; its rows are streamed."""
    encoding = csv_encoding(path, encoding)
    if delimiter is None:
        delimiter = sniff_delimiter(path, encoding)
    stem = Path(file_name).stem or file_name

    def records(after: int = 0) -> Iterator[list[Any]]:
        return csv_records(path, file_name, encoding, delimiter, after)

    return Source(
        file_format="csv",
        sheet_name=stem,
        sheet_names=[stem],
        hidden_sheets=[],
        rows=records(),
        first_number=1,
        col_offset=0,
        last_row=None,
        data_rows=records,
    )
