"""The readers, on real files: workbooks written with openpyxl (and converted to .xls and .ods
by LibreOffice), CSV files in several encodings, and files that must be refused."""

from __future__ import annotations

import contextlib
import os
import resource
import struct
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from datadesk.errors import FileTooLarge, UnreadableFile
from datadesk.importers.readers import _ods_details, _xlsx_hidden_rows, detect_format, open_sheet
from datadesk.importers.sheet import Heading, SheetData, SourceRow

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


def _rich_workbook(path: Path) -> Path:
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


def _workbook(path: Path, rows: Sequence[Sequence[Any]], **options: Any) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = options.get("title", "Sheet1")
    if options.get("epoch_1904"):
        book.epoch = CALENDAR_MAC_1904
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_file(path: Path, streams: Sequence[str]) -> Path:
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


def _read(path: Path, **options: Any) -> tuple[SheetData, list[SourceRow]]:
    sheet = open_sheet(path, file_name=options.pop("file_name", path.name), **options)
    return sheet, list(sheet.rows)


def _numbered(rows: list[SourceRow]) -> list[tuple[int, tuple[Any, ...]]]:
    return [(row.number, row.values) for row in rows]


def _headings(sheet: SheetData) -> list[tuple[str, str]]:
    return [(h.text, h.letter) for h in sheet.headings]


def _open_files() -> set[str]:
    """Paths this process holds open (Linux)."""
    folder = Path("/proc/self/fd")
    paths = set()
    for link in folder.iterdir():
        with contextlib.suppress(OSError):  # the folder's own descriptor is gone by now
            paths.add(os.readlink(link))
    return paths


@pytest.fixture(scope="module")
def rich_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _rich_workbook(tmp_path_factory.mktemp("rich") / "report.xlsx")


@pytest.fixture(scope="module")
def rich_converted(rich_xlsx: Path, libreoffice: Callable[[Path, str], Path]) -> dict[str, Path]:
    """The rich workbook as LibreOffice writes it in .xls and .ods (two conversions only)."""
    return {fmt: libreoffice(rich_xlsx, fmt) for fmt in ("xls", "ods")}


# --------------------------------------------------------------------------- xlsx


def test_xlsx_title_block_group_headings_and_skipped_rows(rich_xlsx: Path) -> None:
    sheet = open_sheet(rich_xlsx, file_name="Report 2024.xlsx")
    assert sheet.file_format == "xlsx"
    assert sheet.sheet_name == "Report"
    assert sheet.sheet_names == ["Report", "Lookup", "Offset", "Empty"]
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert _headings(sheet) == REPORT_HEADINGS
    assert sheet.hidden_rows == [7]
    assert sheet.epoch_1904 is False
    assert sheet.notices == ["sheet 'Lookup' is hidden and was not read"]

    rows = list(sheet.rows)  # the notices about rows come once they are all read
    assert _numbered(rows) == REPORT_ROWS
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "1 hidden row was read: 7",
        "2 blank rows skipped",
        "totals row 11 skipped ('Total')",
    ]


def test_expected_headings_pick_the_sub_heading_row(rich_xlsx: Path) -> None:
    sheet = open_sheet(
        rich_xlsx,
        file_name="report.xlsx",
        expected_headings=["student", "Dose 1 - Date", "Dose 2 Lot"],
    )
    assert sheet.header_row == 4
    assert [h.text for h in sheet.headings][2:4] == ["Dose 1 Date", "Dose 1 Lot"]


def test_rows_are_plain_source_rows_and_values_keep_text_as_stored(rich_xlsx: Path) -> None:
    _, rows = _read(rich_xlsx)
    first = rows[0]
    assert type(first) is SourceRow
    assert first == SourceRow(5, REPORT_ROWS[0][1])
    assert first.value(0) == "007"  # leading zeros kept
    assert first.value(1) == "Müller  "  # trailing spaces kept
    assert first.value(40) is None
    assert isinstance(first.values, tuple)


def test_explicit_header_row_and_blank_rows_kept(rich_xlsx: Path) -> None:
    sheet, rows = _read(rich_xlsx, header_row=4, skip_blank_rows=False, skip_rows_matching=())
    assert sheet.header_row == 4
    numbers = [row.number for row in rows]
    assert numbers == [5, 6, 7, 8, 9, 10, 11, 12]
    assert rows[1].values == (None,) * 6
    # openpyxl writes text of only spaces without xml:space="preserve": it reads as blank.
    assert rows[5].values == (None,) * 6
    assert rows[6].values == ("Total", 4.0, None, None, None, None)
    assert sheet.notices[2:] == []


def test_header_row_on_the_title_gives_the_title_as_heading(rich_xlsx: Path) -> None:
    sheet = open_sheet(rich_xlsx, file_name="report.xlsx", header_row=1)
    title = "Vaccination report 2024"  # merged over A1:F1: every covered cell shows it
    assert sheet.headings == [
        Heading(title, 0),
        *(Heading(f"{title} ({n})", n - 1) for n in range(2, 7)),
    ]


def test_header_row_below_the_data_is_refused(rich_xlsx: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"header row 40 is below the last row \(12\)"):
        open_sheet(rich_xlsx, file_name="report.xlsx", header_row=40)


def test_data_from_b3_keeps_excel_rows_and_columns(rich_xlsx: Path) -> None:
    sheet, rows = _read(rich_xlsx, sheet=" offset ")
    assert sheet.sheet_name == "Offset"
    assert sheet.header_row == 3
    # D3 repeats C3's heading; E3 has none (its values are read but it is no heading).
    assert _headings(sheet) == [("Code", "B"), ("Amount", "C"), ("Amount (2)", "D"), ("When", "F")]
    assert _numbered(rows) == OFFSET_ROWS
    assert isinstance(rows[1].values[2], float)
    assert sheet.hidden_rows == [6, 7, 8, 10]
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "1 hidden row was read: 10",  # 6 to 8 are blank
        "3 blank rows skipped",
    ]


def test_header_row_above_the_used_range_holds_no_headings(rich_xlsx: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        open_sheet(rich_xlsx, file_name="report.xlsx", sheet="Offset", header_row=1)
    assert caught.value.message == "row 1 of sheet 'Offset' of report.xlsx holds no headings"


def test_expected_headings_win_over_a_key_value_block(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Report", "Q1"], ["Region", "North"], ["Id", "Name", "Qty"]]
    rows.append([1, "a", 2])
    path = _workbook(tmp_path / "block.xlsx", rows)
    guessed = open_sheet(path, file_name="block.xlsx")
    assert guessed.header_row == 1  # two text cells of three: looks like headings
    expected = open_sheet(path, file_name="block.xlsx", expected_headings=["ID", "qty"])
    assert expected.header_row == 3
    assert _headings(expected) == [("Id", "A"), ("Name", "B"), ("Qty", "C")]
    assert _numbered(list(expected.rows)) == [(4, (1.0, "a", 2.0))]


def test_sheet_index_counts_visible_sheets(rich_xlsx: Path) -> None:
    sheet = open_sheet(rich_xlsx, file_name="report.xlsx", sheet=1)
    assert sheet.sheet_name == "Offset"  # 'Lookup', hidden, is not counted


def test_hidden_sheet_named_explicitly_is_read(rich_xlsx: Path) -> None:
    sheet, rows = _read(rich_xlsx, sheet="LOOKUP")
    assert sheet.sheet_name == "Lookup"
    assert _numbered(rows) == [(2, ("A", "Alpha"))]
    assert "sheet 'Lookup' is hidden; it was read because the import names it" in sheet.notices


def test_unknown_sheet_lists_the_sheets(rich_xlsx: Path) -> None:
    listing = "'Report', 'Lookup' (hidden), 'Offset', 'Empty'"
    with pytest.raises(UnreadableFile) as by_name:
        open_sheet(rich_xlsx, file_name="report.xlsx", sheet="Summary")
    assert by_name.value.message == f"report.xlsx has no sheet 'Summary'; its sheets are {listing}"
    with pytest.raises(UnreadableFile, match=r"no sheet number 3 .*counting visible sheets"):
        open_sheet(rich_xlsx, file_name="report.xlsx", sheet=3)


def test_empty_sheet_is_refused(rich_xlsx: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        open_sheet(rich_xlsx, file_name="report.xlsx", sheet="Empty")
    assert caught.value.message == "sheet 'Empty' of report.xlsx is empty"


def test_workbook_is_closed_once_open(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "closed.xlsx", [["Name", "Qty"], ["a", 1]])
    sheet = open_sheet(path, file_name="closed.xlsx")
    assert str(path) not in _open_files()
    path.unlink()  # the engine may delete the upload while iterating
    assert _numbered(list(sheet.rows)) == [(2, ("a", 1.0))]


def test_1904_workbook(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["When", "Serial"], [date(2024, 5, 17), 100]]
    sheet, read = _read(_workbook(tmp_path / "mac.xlsx", rows, epoch_1904=True))
    assert sheet.epoch_1904 is True
    assert _numbered(read) == [(2, (date(2024, 5, 17), 100.0))]


def test_xlsm_by_content_types(tmp_path: Path) -> None:
    source = _workbook(tmp_path / "plain.xlsx", [["Name", "Qty"], ["a", 1]])
    target = tmp_path / "macro.xlsm"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
                assert b"macroEnabled" in data
            new.writestr(item, data)
    assert detect_format(target, "macro.xlsm") == "xlsm"
    assert detect_format(source, "plain.xlsx") == "xlsx"
    sheet, rows = _read(target)
    assert sheet.file_format == "xlsm"
    assert _numbered(rows) == [(2, ("a", 1.0))]


def test_many_hidden_rows_are_listed_in_one_notice(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Id", "Name"])
    for number in range(2, 40):
        sheet.append([number, f"n{number}"])
    hidden = list(range(3, 39, 3))
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    book.save(tmp_path / "hidden.xlsx")
    read = open_sheet(tmp_path / "hidden.xlsx", file_name="hidden.xlsx")
    assert read.hidden_rows == hidden
    assert len(list(read.rows)) == 38
    assert read.notices == ["12 hidden rows were read: 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, …"]


def test_hidden_rows_are_found_across_chunk_boundaries(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Id", "Name"])
    for number in range(2, 302):
        sheet.append([number, "x" * (number % 17)])
    hidden = list(range(5, 302, 7))
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    book.save(tmp_path / "chunks.xlsx")
    with zipfile.ZipFile(tmp_path / "chunks.xlsx") as archive:
        part = "xl/worksheets/sheet1.xml"
        for chunk_size in (3, 10, 64, 1000, 1 << 20):
            assert _xlsx_hidden_rows(archive, part, chunk_size) == hidden


def test_max_rows_stops_the_iterator(tmp_path: Path) -> None:
    rows = [["Name"], *[[f"n{i}"] for i in range(5)]]
    sheet = open_sheet(_workbook(tmp_path / "five.xlsx", rows), file_name="five.xlsx", max_rows=3)
    seen = []
    with pytest.raises(FileTooLarge) as caught:
        for row in sheet.rows:
            seen.append(row.number)
    assert seen == [2, 3, 4]
    assert caught.value.message == (
        "five.xlsx has more than 3 data rows; split it or raise import_settings.max_rows"
    )


def test_custom_skip_patterns_and_notices_of_many_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Item", "Qty"], *[[f"Subtotal {i}", i] for i in range(12)]]
    rows.append(["x", 1])
    sheet, read = _read(_workbook(tmp_path / "sub.xlsx", rows), skip_rows_matching=[r"^sub"])
    assert _numbered(read) == [(14, ("x", 1.0))]
    assert sheet.notices[0] == "totals row 2 skipped ('Subtotal 0')"
    assert sheet.notices[-1] == "2 more rows matching skip_rows_matching skipped"
    assert len(sheet.notices) == 11


# --------------------------------------------------------------------------- xls and ods


def test_xls_from_libreoffice(rich_converted: dict[str, Path]) -> None:
    sheet, rows = _read(rich_converted["xls"], file_name="report.xls")
    assert sheet.file_format == "xls"
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert _headings(sheet) == REPORT_HEADINGS  # calamine reports xls merges
    assert sheet.hidden_rows == []  # not read from xls
    assert _numbered(rows) == REPORT_ROWS
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "2 blank rows skipped",
        "totals row 11 skipped ('Total')",
    ]


def test_ods_from_libreoffice(rich_converted: dict[str, Path]) -> None:
    sheet, rows = _read(rich_converted["ods"], file_name="report.ods")
    assert sheet.file_format == "ods"
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert _headings(sheet) == REPORT_HEADINGS  # merges read from content.xml
    assert sheet.hidden_rows == [7]
    assert _numbered(rows) == REPORT_ROWS
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "1 hidden row was read: 7",
        "2 blank rows skipped",
        "totals row 11 skipped ('Total')",
    ]


def test_ods_offset_sheet(rich_converted: dict[str, Path]) -> None:
    sheet, rows = _read(rich_converted["ods"], sheet="Offset")
    assert _headings(sheet) == [("Code", "B"), ("Amount", "C"), ("Amount (2)", "D"), ("When", "F")]
    assert _numbered(rows) == OFFSET_ROWS  # the merge across E9:F9 read from content.xml
    assert sheet.hidden_rows == [6, 7, 8, 10]  # 6 to 8: one repeated row in content.xml


def test_ods_scan_does_not_depend_on_chunks(rich_converted: dict[str, Path]) -> None:
    path = rich_converted["ods"]
    for sheet_name in ("Report", "Offset"):
        whole = _ods_details(path, sheet_name)
        assert whole[0]  # hidden rows found
        for chunk_size in (7, 100, 4096):
            assert _ods_details(path, sheet_name, chunk_size) == whole


# --------------------------------------------------------------------------- CSV


def test_csv_utf8_bom_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    text = 'Name,Note,Code\r\nAnna,"line 1\nline 2",007\r\n"Bob, Jr.",plain  ,\r\n'
    path.write_bytes(text.encode("utf-8-sig"))
    sheet, rows = _read(path)
    assert sheet.file_format == "csv"
    assert sheet.sheet_name == "notes"
    assert sheet.sheet_names == ["notes"]
    assert _headings(sheet) == [("Name", "A"), ("Note", "B"), ("Code", "C")]
    assert _numbered(rows) == [
        (2, ("Anna", "line 1\nline 2", "007")),
        (3, ("Bob, Jr.", "plain  ", None)),
    ]


def test_csv_cp1252_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("Name;City;Amount\nMüller;Zoë;1,50\nTotal;;1,50\n".encode("cp1252"))
    sheet, rows = _read(path)
    assert _headings(sheet) == [("Name", "A"), ("City", "B"), ("Amount", "C")]
    assert _numbered(rows) == [(2, ("Müller", "Zoë", "1,50"))]
    assert sheet.notices == ["totals row 3 skipped ('Total')"]


def test_csv_utf16_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("Code\tName\r\n001\tÅsa\r\n\r\n002\tŁukasz\r\n".encode("utf-16"))
    sheet, rows = _read(path)
    assert detect_format(path, "export.txt") == "csv"
    assert _headings(sheet) == [("Code", "A"), ("Name", "B")]
    assert _numbered(rows) == [(2, ("001", "Åsa")), (4, ("002", "Łukasz"))]
    assert sheet.notices == ["1 blank row skipped"]


def test_csv_explicit_delimiter_and_title_line(tmp_path: Path) -> None:
    path = tmp_path / "pipes.csv"
    path.write_text("Export of 2024-03-01\nA|B|C\n1|2|3\n", encoding="utf-8")
    sheet, rows = _read(path, delimiter="|")
    assert sheet.header_row == 2
    assert _headings(sheet) == [("A", "A"), ("B", "B"), ("C", "C")]
    assert _numbered(rows) == [(3, ("1", "2", "3"))]


def test_csv_single_header_line_falls_back_to_semicolon(tmp_path: Path) -> None:
    path = tmp_path / "head.csv"
    path.write_text("Name;Street, No;City\n", encoding="utf-8")
    sheet, rows = _read(path)
    assert [h.text for h in sheet.headings] == ["Name", "Street, No", "City"]
    assert rows == []


def test_csv_undecodable_row_under_explicit_encoding(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Name,City\n" + b"Anna,Berlin\n" * 5000 + b"Ben,K\xf6ln\n")
    sheet = open_sheet(path, file_name="mixed.csv", encoding="utf-8")  # first rows decode
    with pytest.raises(UnreadableFile) as caught:
        list(sheet.rows)
    assert caught.value.message == (
        "row 5002 of mixed.csv is not valid utf-8 text; set the import's encoding "
        "(for example cp1252) or save the file as UTF-8"
    )
    _, rows = _read(path)  # without an encoding: the whole file is checked, cp1252 it is
    assert _numbered(rows)[-1] == (5002, ("Ben", "Köln"))
    short = tmp_path / "short.csv"
    short.write_bytes(b"Name,City\nBen,K\xf6ln\n")
    with pytest.raises(UnreadableFile, match=r"^row 2 of short.csv is not valid utf-8 text"):
        open_sheet(short, file_name="short.csv", encoding="utf-8")  # fails in the first chunk


def test_csv_field_beyond_the_csv_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("A,B\n" + "1,2\n" * 40 + "3," + "x" * 200_000 + "\n", encoding="utf-8")
    sheet = open_sheet(path, file_name="long.csv")  # the headings are found before it
    with pytest.raises(UnreadableFile, match=r"^line 42 of long.csv cannot be read: field larger"):
        list(sheet.rows)


def test_csv_is_closed_until_iterated_and_after(tmp_path: Path) -> None:
    path = tmp_path / "lazy.csv"
    path.write_text("A,B\n1,2\n3,4\n", encoding="utf-8")
    sheet = open_sheet(path, file_name="lazy.csv")
    assert str(path) not in _open_files()
    rows = sheet.rows
    assert next(rows).number == 2
    assert str(path) in _open_files()
    assert [row.number for row in rows] == [3]
    assert str(path) not in _open_files()


def test_csv_rows_of_spaces_are_blank_but_kept_as_text_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "spaces.csv"
    path.write_text("A;B\n ;  \n1;2\n", encoding="utf-8")
    sheet, rows = _read(path)
    assert _numbered(rows) == [(3, ("1", "2"))]
    assert sheet.notices == ["1 blank row skipped"]
    _, kept = _read(path, skip_blank_rows=False)
    assert _numbered(kept) == [(2, (" ", "  ")), (3, ("1", "2"))]


def test_csv_of_blank_lines_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n ; \n\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"^sheet 'blank' of blank\.csv is empty$"):
        open_sheet(path, file_name="blank.csv")


# --------------------------------------------------------------------------- refused files


def test_formats_by_content_not_name(tmp_path: Path, rich_xlsx: Path) -> None:
    assert detect_format(rich_xlsx, "upload.bin") == "xlsx"
    text = tmp_path / "data.dat"
    text.write_text("a;b\n1;2\n", encoding="utf-8")
    assert detect_format(text, "data.dat") == "csv"


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("scan.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "it is a PDF document"),
        ("logo.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "it is a PNG image"),
        ("page.xls", b"<html><body><table><tr><td>1</td></tr></table>", "web page or XML"),
        ("notes.dat", b"just some words without any columns\n", "text without columns"),
    ],
)
def test_files_that_are_not_spreadsheets(
    tmp_path: Path, name: str, content: bytes, detail: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as caught:
        detect_format(path, name)
    assert caught.value.message.startswith(f"{name} is not a spreadsheet that can be imported (")
    assert detail in caught.value.message
    assert caught.value.message.endswith(f"accepted formats: {ACCEPTED}")


def test_docx_like_zip_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "letter.docx", {"word/document.xml": b"<w:document/>"})
    with pytest.raises(UnreadableFile, match=r"^letter.docx is not a spreadsheet .*Word document"):
        open_sheet(path, file_name="letter.docx")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nothing.xlsx"
    path.touch()
    with pytest.raises(UnreadableFile) as caught:
        open_sheet(path, file_name="nothing.xlsx")
    assert caught.value.message == f"nothing.xlsx is empty; accepted formats: {ACCEPTED}"


def test_password_protected_xlsx_is_refused(tmp_path: Path) -> None:
    # What Excel writes for a password-protected workbook: an OLE file with these streams.
    path = _ole_file(tmp_path / "secret.xlsx", ["EncryptionInfo", "EncryptedPackage"])
    message = (
        "secret.xlsx is protected by a password: save a copy without a password and upload that"
    )
    with pytest.raises(UnreadableFile) as caught:
        open_sheet(path, file_name="secret.xlsx")
    assert caught.value.message == message


def test_ole_files_without_a_readable_workbook(tmp_path: Path) -> None:
    damaged = _ole_file(tmp_path / "old.xls", ["Workbook"])
    assert detect_format(damaged, "old.xls") == "xls"
    with pytest.raises(UnreadableFile, match=r"^old.xls holds no sheets$"):
        open_sheet(damaged, file_name="old.xls")
    word = _ole_file(tmp_path / "letter.doc", ["WordDocument"])
    with pytest.raises(UnreadableFile, match="Word 97-2003 document"):
        detect_format(word, "letter.doc")


def test_corrupt_zip_is_refused(tmp_path: Path, rich_xlsx: Path) -> None:
    path = tmp_path / "cut.xlsx"
    path.write_bytes(rich_xlsx.read_bytes()[:3000])
    with pytest.raises(UnreadableFile, match=r"^cut.xlsx is damaged or not a valid zip"):
        open_sheet(path, file_name="cut.xlsx")


def test_workbook_with_broken_xml_is_refused(tmp_path: Path, rich_xlsx: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(rich_xlsx) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            new.writestr(item, data)
    with pytest.raises(
        UnreadableFile, match=r"^broken.xlsx is damaged or not a valid xlsx file \("
    ):
        open_sheet(path, file_name="broken.xlsx")


def test_zip_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(200):
                member.write(zeros)
    assert path.stat().st_size < 1 << 20
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(FileTooLarge) as caught:
        open_sheet(path, file_name="bomb.xlsx")
    assert time.perf_counter() - started < 2
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 50
    assert caught.value.message.startswith("bomb.xlsx unpacks to 200.0 MB, more than 100 times")


def test_zip_declaring_more_than_2_gib_is_refused(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "huge.xlsx",
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"<worksheet/>",
        },
    )
    # The central directory declares the sheet's unpacked size: make it claim 3.75 GiB.
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    for _ in range(2):  # the sheet is the third entry of the directory
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 0xF0000000)
    path.write_bytes(bytes(data))
    with pytest.raises(FileTooLarge) as caught:
        open_sheet(path, file_name="huge.xlsx", max_expansion=10**9)
    assert caught.value.message == "huge.xlsx unpacks to 3.8 GB, more than the 2 GB allowed"


def test_zip_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crowd.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
        for index in range(10_001):
            archive.writestr(f"Pictures/{index}.png", b"")
    with pytest.raises(FileTooLarge, match=r"^crowd.ods holds 10,002 packed files"):
        open_sheet(path, file_name="crowd.ods")
