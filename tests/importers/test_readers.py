"""The readers, on real files: workbooks written with openpyxl (and converted to .xls and .ods
by LibreOffice), CSV files in several encodings, and files that must be refused."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from datadesk.errors import FileTooLarge, UnreadableFile
from datadesk.importers.readers import detect_format, open_sheet
from datadesk.importers.sheet import Heading, SourceRow
from datadesk.importers.xml_scan import _xlsx_row_marks, ods_details
from tests.importers.reader_files import (
    OFFSET_ROWS,
    REPORT_HEADINGS,
    REPORT_ROWS,
    headings,
    numbered,
    open_files,
    read_sheet,
    workbook,
)

# --------------------------------------------------------------------------- xlsx


def test_xlsx_title_block_group_headings_and_skipped_rows(rich_xlsx: Path) -> None:
    sheet = open_sheet(rich_xlsx, file_name="Report 2024.xlsx")
    assert sheet.file_format == "xlsx"
    assert sheet.sheet_name == "Report"
    assert sheet.sheet_names == ["Report", "Lookup", "Offset", "Empty"]
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert headings(sheet) == REPORT_HEADINGS
    assert sheet.hidden_rows == [7]
    assert sheet.epoch_1904 is False
    assert sheet.notices == ["sheet 'Lookup' is hidden and was not read"]

    rows = list(sheet.rows)  # the notices about rows come once they are all read
    assert numbered(rows) == REPORT_ROWS
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
    _, rows = read_sheet(rich_xlsx)
    first = rows[0]
    assert type(first) is SourceRow
    assert first == SourceRow(5, REPORT_ROWS[0][1])
    assert first.value(0) == "007"  # leading zeros kept
    assert first.value(1) == "Müller  "  # trailing spaces kept
    assert first.value(40) is None
    assert isinstance(first.values, tuple)


def test_explicit_header_row_and_blank_rows_kept(rich_xlsx: Path) -> None:
    sheet, rows = read_sheet(rich_xlsx, header_row=4, skip_blank_rows=False, skip_rows_matching=())
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
    sheet, rows = read_sheet(rich_xlsx, sheet=" offset ")
    assert sheet.sheet_name == "Offset"
    assert sheet.header_row == 3
    # D3 repeats C3's heading; E3 has none (its values are read but it is no heading).
    assert headings(sheet) == [("Code", "B"), ("Amount", "C"), ("Amount (2)", "D"), ("When", "F")]
    assert numbered(rows) == OFFSET_ROWS
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
    path = workbook(tmp_path / "block.xlsx", rows)
    guessed = open_sheet(path, file_name="block.xlsx")
    assert guessed.header_row == 1  # two text cells of three: looks like headings
    expected = open_sheet(path, file_name="block.xlsx", expected_headings=["ID", "qty"])
    assert expected.header_row == 3
    assert headings(expected) == [("Id", "A"), ("Name", "B"), ("Qty", "C")]
    assert numbered(list(expected.rows)) == [(4, (1.0, "a", 2.0))]


def test_sheet_index_counts_visible_sheets(rich_xlsx: Path) -> None:
    sheet = open_sheet(rich_xlsx, file_name="report.xlsx", sheet=1)
    assert sheet.sheet_name == "Offset"  # 'Lookup', hidden, is not counted


def test_hidden_sheet_named_explicitly_is_read(rich_xlsx: Path) -> None:
    sheet, rows = read_sheet(rich_xlsx, sheet="LOOKUP")
    assert sheet.sheet_name == "Lookup"
    assert numbered(rows) == [(2, ("A", "Alpha"))]
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
    path = workbook(tmp_path / "closed.xlsx", [["Name", "Qty"], ["a", 1]])
    sheet = open_sheet(path, file_name="closed.xlsx")
    assert str(path) not in open_files()
    path.unlink()  # the engine may delete the upload while iterating
    assert numbered(list(sheet.rows)) == [(2, ("a", 1.0))]


def test_1904_workbook(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["When", "Serial"], [date(2024, 5, 17), 100]]
    sheet, read = read_sheet(workbook(tmp_path / "mac.xlsx", rows, epoch_1904=True))
    assert sheet.epoch_1904 is True
    assert numbered(read) == [(2, (date(2024, 5, 17), 100.0))]


def test_xlsm_by_content_types(tmp_path: Path) -> None:
    source = workbook(tmp_path / "plain.xlsx", [["Name", "Qty"], ["a", 1]])
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
    sheet, rows = read_sheet(target)
    assert sheet.file_format == "xlsm"
    assert numbered(rows) == [(2, ("a", 1.0))]


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
            assert _xlsx_row_marks(archive, part, chunk_size)[0] == hidden


def test_max_rows_stops_the_iterator(tmp_path: Path) -> None:
    rows = [["Name"], *[[f"n{i}"] for i in range(5)]]
    sheet = open_sheet(workbook(tmp_path / "five.xlsx", rows), file_name="five.xlsx", max_rows=3)
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
    sheet, read = read_sheet(workbook(tmp_path / "sub.xlsx", rows), skip_rows_matching=[r"^sub"])
    assert numbered(read) == [(14, ("x", 1.0))]
    assert sheet.notices[0] == "totals row 2 skipped ('Subtotal 0')"
    assert sheet.notices[-1] == "2 more rows matching skip_rows_matching skipped"
    assert len(sheet.notices) == 11


# --------------------------------------------------------------------------- xls and ods


def test_xls_from_libreoffice(rich_converted: dict[str, Path]) -> None:
    sheet, rows = read_sheet(rich_converted["xls"], file_name="report.xls")
    assert sheet.file_format == "xls"
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert headings(sheet) == REPORT_HEADINGS  # calamine reports xls merges
    assert sheet.hidden_rows == []  # not read from xls
    assert numbered(rows) == REPORT_ROWS
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "2 blank rows skipped",
        "totals row 11 skipped ('Total')",
    ]


def test_ods_from_libreoffice(rich_converted: dict[str, Path]) -> None:
    sheet, rows = read_sheet(rich_converted["ods"], file_name="report.ods")
    assert sheet.file_format == "ods"
    assert sheet.hidden_sheets == ["Lookup"]
    assert sheet.header_row == 4
    assert headings(sheet) == REPORT_HEADINGS  # merges read from content.xml
    assert sheet.hidden_rows == [7]
    assert numbered(rows) == REPORT_ROWS
    assert sheet.notices == [
        "sheet 'Lookup' is hidden and was not read",
        "1 hidden row was read: 7",
        "2 blank rows skipped",
        "totals row 11 skipped ('Total')",
    ]


def test_ods_offset_sheet(rich_converted: dict[str, Path]) -> None:
    sheet, rows = read_sheet(rich_converted["ods"], sheet="Offset")
    assert headings(sheet) == [("Code", "B"), ("Amount", "C"), ("Amount (2)", "D"), ("When", "F")]
    assert numbered(rows) == OFFSET_ROWS  # the merge across E9:F9 read from content.xml
    assert sheet.hidden_rows == [6, 7, 8, 10]  # 6 to 8: one repeated row in content.xml


def test_ods_scan_does_not_depend_on_chunks(rich_converted: dict[str, Path]) -> None:
    path = rich_converted["ods"]
    for sheet_name in ("Report", "Offset"):
        whole = ods_details(path, sheet_name)
        assert whole[0]  # hidden rows found
        for chunk_size in (7, 100, 4096):
            assert ods_details(path, sheet_name, chunk_size) == whole
