"""Workbooks and CSV files the reader tests read, written with openpyxl and by hand."""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from datadesk.importers.readers import open_sheet
from datadesk.importers.sheet import SheetData, SourceRow

ACCEPTED = ".xlsx, .xlsm, .xls, .ods, .csv"
REPORT_HEADINGS = [
    ("Student", "A"),
    ("Name", "B"),
    ("Dose 1 Date", "C"),
    ("Dose 1 Lot", "D"),
    ("Dose 2 Date", "E"),
    ("Dose 2 Lot", "F"),
]
REPORT_ROWS = [
    (5, ("007", "Müller  ", date(2024, 1, 15), "L-1", date(2024, 2, 15), "L-2")),
    (7, ("012", "Zoë", date(2024, 1, 16), "L-3", None, None)),
    (8, ("013", "Ann", date(2024, 1, 17), "L-9", date(2024, 2, 17), "L-4")),
    (9, ("014", "Ben", date(2024, 1, 18), "L-9", None, None)),
    (12, ("015", "  Eve", None, None, None, None)),
]
OFFSET_ROWS = [
    (4, (None, "001", 12.5, 13.0, "no heading", datetime(2024, 5, 17, 8, 30))),
    (5, (None, "002", 1.0, None, None, None)),
    (9, (None, "003", None, None, "across", "across")),
    (10, (None, "004", 2.0, None, None, None)),
]


# --------------------------------------------------------------------------- file builders


def rich_workbook(path: Path) -> Path:
    """Sheets: 'Report' (title block, group headings over sub-headings, a hidden row, blank
    rows, a merged data cell, a totals row), 'Lookup' (hidden), 'Offset' (data from B3,
    duplicate and blank headings, hidden blank rows, a merge across), 'Empty'."""
    book = openpyxl.Workbook()
    report = book.active
    report.title = "Report"
    report["A1"] = "Vaccination report 2024"
    report.merge_cells("A1:F1")
    report["A2"] = "Generated 2024-03-01"
    report["A3"], report["B3"], report["C3"], report["E3"] = "Student", "Name", "Dose 1", "Dose 2"
    for cells in ("A3:A4", "B3:B4", "C3:D3", "E3:F3"):
        report.merge_cells(cells)
    report["C4"], report["D4"], report["E4"], report["F4"] = "Date", "Lot", "Date", "Lot"
    rows: dict[int, Sequence[Any]] = {
        5: ["007", "Müller  ", date(2024, 1, 15), "L-1", date(2024, 2, 15), "L-2"],
        7: ["012", "Zoë", date(2024, 1, 16), "L-3"],
        8: ["013", "Ann", date(2024, 1, 17), "L-9", date(2024, 2, 17), "L-4"],
        9: ["014", "Ben", date(2024, 1, 18)],
        10: [" ", "   "],
        11: ["Total", 4],
        12: ["015", "  Eve"],
    }
    for number, values in rows.items():
        for column, value in enumerate(values, start=1):
            cell = report.cell(number, column, value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    report.merge_cells("D8:D9")
    report.row_dimensions[7].hidden = True

    lookup = book.create_sheet("Lookup")
    lookup.append(["Code", "Label"])
    lookup.append(["A", "Alpha"])
    lookup.sheet_state = "hidden"

    offset = book.create_sheet("Offset")
    for letter, heading in zip("BCDF", ["Code", "Amount", "Amount", "When"], strict=True):
        offset[f"{letter}3"] = heading
    offset["B4"], offset["C4"], offset["D4"] = "001", 12.5, 13.0
    offset["E4"], offset["F4"] = "no heading", datetime(2024, 5, 17, 8, 30)
    offset["B5"], offset["C5"] = "002", 1.0
    offset["B9"], offset["E9"] = "003", "across"  # C9:D9 blank, E9:F9 merged
    offset.merge_cells("E9:F9")
    offset["B10"], offset["C10"] = "004", 2.0
    for number in (6, 7, 8, 10):
        offset.row_dimensions[number].hidden = True
    book.create_sheet("Empty")
    book.save(path)
    return path


def workbook(path: Path, rows: Sequence[Sequence[Any]], **options: Any) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = options.get("title", "Sheet1")
    if options.get("epoch_1904"):
        book.epoch = CALENDAR_MAC_1904
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def zip_file(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole_file(path: Path, streams: Sequence[str]) -> Path:
    """A minimal but well-formed OLE2 compound file (version 3, 512-byte sectors) holding the
    named streams, 4 KiB of zeros each (so they live in regular sectors, no mini stream):
    sector 0 is the FAT, sector 1 the directory, the streams follow."""
    assert len(streams) <= 3  # one directory sector: the root and three streams
    per_stream = 4096 // 512
    fat = [FAT_SECTOR, END]
    for index in range(len(streams)):
        first = 2 + index * per_stream
        fat += [first + k + 1 for k in range(per_stream - 1)] + [END]
    fat += [FREE] * (128 - len(fat))
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<II", header, 0x2C, 1, 1)  # one FAT sector; directory at sector 1
    struct.pack_into("<IIIII", header, 0x38, 4096, END, 0, END, 0)  # no mini FAT, no DIFAT
    struct.pack_into("<109I", header, 0x4C, 0, *([FREE] * 108))

    def entry(name: str, kind: int, *, right: int, child: int, start: int, size: int) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\0\0"
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 0x44, NO_STREAM, right, child)
        struct.pack_into("<IQ", raw, 0x74, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, right=NO_STREAM, child=1, start=END, size=0)
    for index, name in enumerate(streams):
        right = index + 2 if index + 1 < len(streams) else NO_STREAM
        start = 2 + index * per_stream
        directory += entry(name, 2, right=right, child=NO_STREAM, start=start, size=4096)
    directory += bytes(512 - len(directory))
    path.write_bytes(
        bytes(header) + struct.pack("<128I", *fat) + directory + bytes(4096) * len(streams)
    )
    return path


def read_sheet(path: Path, **options: Any) -> tuple[SheetData, list[SourceRow]]:
    sheet = open_sheet(path, file_name=options.pop("file_name", path.name), **options)
    return sheet, list(sheet.rows)


def numbered(rows: list[SourceRow]) -> list[tuple[int, tuple[Any, ...]]]:
    return [(row.number, row.values) for row in rows]


def headings(sheet: SheetData) -> list[tuple[str, str]]:
    return [(h.text, h.letter) for h in sheet.headings]


def open_files() -> set[str]:
    """Paths this process holds open (Linux)."""
    folder = Path("/proc/self/fd")
    paths = set()
    for link in folder.iterdir():
        with contextlib.suppress(OSError):  # the folder's own descriptor is gone by now
            paths.add(os.readlink(link))
    return paths
