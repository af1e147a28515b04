"""xlsx sheets read in slices give exactly what python-calamine gives for the whole sheet: the
same values at the same positions, on workbooks written by openpyxl, by LibreOffice (shared
strings, styles) and by hand (rich text, escapes, attributes in unusual orders)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine as calamine

from datadesk.errors import UnreadableFile
from datadesk.importers.readers import open_sheet
from datadesk.importers.xlsx_slices import SlicedSheet
from datadesk.importers.xml_scan import Merge, xlsx_details
from tests.importers.reader_files import REPORT_ROWS, numbered, zip_file

Cells = dict[tuple[int, int], Any]


def whole_cells(path: Path, sheet_name: str) -> Cells:
    """Every non-blank cell as python-calamine reads the whole sheet: (row, column) 0-based."""
    book = calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheet = book.get_sheet_by_name(sheet_name)
        start = sheet.start
        rows = sheet.to_python(skip_empty_area=True) if start is not None else []
    finally:
        book.close()
    return {
        (start[0] + r, start[1] + c): value
        for r, row in enumerate(rows)
        for c, value in enumerate(row)
        if value != ""
    }


def sliced_cells(path: Path, sheet_name: str, slice_bytes: int) -> Cells:
    details = xlsx_details(path, sheet_name)
    assert details.part is not None
    with zipfile.ZipFile(path) as archive:
        sheet = SlicedSheet(
            archive,
            details.part,
            file_name=path.name,
            epoch_1904=details.epoch_1904,
            slice_bytes=slice_bytes,
        )
        if sheet.first_row is None:
            return {}
        return {
            (sheet.first_row - 1 + r, c): value
            for r, row in enumerate(sheet.rows())
            for c, value in enumerate(row)
            if value != ""
        }


def assert_same_as_calamine(path: Path, sheet_name: str) -> Cells:
    whole = whole_cells(path, sheet_name)
    for slice_bytes in (1, 300, 4096, 1 << 21):  # one row per slice, a few, one slice
        assert sliced_cells(path, sheet_name, slice_bytes) == whole, slice_bytes
    return whole


def test_openpyxl_sheets_read_in_slices_equal_the_whole(rich_xlsx: Path) -> None:
    for name in ("Report", "Lookup", "Offset"):
        assert assert_same_as_calamine(rich_xlsx, name)


def test_libreoffice_xlsx_with_shared_strings_equals_the_whole(
    tmp_path: Path, libreoffice: Callable[[Path, str], Path], rich_xlsx: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Code", "Text", "When", "At", "Time", "Flag", "Amount", "Formula"])
    for number in range(1, 120):
        sheet.append(
            [
                f"{number:05d}",
                ["a & b", "<tag>", 'say "hi"', "line\nbreak", "Zoë", " spaced ", "same"][
                    number % 7
                ],
                date(2015, 1, 1 + number % 28),
                datetime(2020, 5, 17, 8, number % 60),
                time(7, number % 60),
                number % 2 == 0,
                number * 1.25,
                f"=G{number + 1}*2",
            ]
        )
        sheet.cell(number + 1, 3).number_format = "dd.mm.yyyy"
        sheet.cell(number + 1, 4).number_format = "yyyy-mm-dd hh:mm"
        sheet.cell(number + 1, 5).number_format = "hh:mm"
    source = tmp_path / "typed.xlsx"
    book.save(source)
    converted = libreoffice(source, "xlsx")
    with zipfile.ZipFile(converted) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()  # LibreOffice shares its strings
    cells = assert_same_as_calamine(converted, "Data")
    assert cells[(1, 1)] == 'say "hi"' or cells[(1, 1)] in {"a & b", "<tag>", "line\nbreak"}
    assert cells[(2, 7)] == 5.0  # the formula's cached value
    rich = libreoffice(rich_xlsx, "xlsx")
    for name in ("Report", "Offset"):
        assert_same_as_calamine(rich, name)
    read = open_sheet(rich, file_name="report.xlsx")
    assert numbered(list(read.rows)) == REPORT_ROWS


SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<x:dimension ref="A1:C4"/><x:sheetData>'
    '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s" s="0"><x:v>1</x:v></x:c>'
    "</x:row>"
    '<x:row r="3" hidden="1"><x:c r="B3" t="s"><x:v>2</x:v></x:c>'
    '<x:c r="C3"><x:v>3.5</x:v></x:c></x:row>'
    '<x:row r="4"><x:c r="A4" t="b"><x:v>1</x:v></x:c><x:c r="C4" t="str"><x:f>A1</x:f>'
    "<x:v>x</x:v></x:c></x:row>"
    '</x:sheetData><x:mergeCells count="1"><x:mergeCell ref="A1:B1"/></x:mergeCells>'
    "</x:worksheet>"
)
STRINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3">'
    "<si><t>Plain &amp; simple</t></si>"
    '<si><r><rPr><b/></rPr><t xml:space="preserve">Rich </t></r><r><t>text</t></r>'
    "<rPh><t>ふりがな</t></rPh></si>"
    "<si><t>Line_x000D_break</t></si>"
    "</sst>"
)


def hand_made(path: Path) -> Path:
    """A workbook written by hand: a prefixed namespace, rich text, an escape, a shared-string
    cell with its type before its style, a hidden row and a merge."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    return zip_file(
        path,
        {
            "[Content_Types].xml": (
                b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                b'package/2006/content-types"><Default Extension="xml" '
                b'ContentType="application/xml"/><Default Extension="rels" '
                b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                b"</Types>"
            ),
            "_rels/.rels": (
                f'<Relationships xmlns="{package}"><Relationship Id="r1" '
                f'Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ).encode(),
            "xl/workbook.xml": (
                f'<workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
                '<sheet name="Hand" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ).encode(),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{package}">'
                f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/s1.xml"/>'
                f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/>'
                "</Relationships>"
            ).encode(),
            "xl/worksheets/s1.xml": SHEET.encode(),
            "xl/sharedStrings.xml": STRINGS.encode(),
        },
    )


def test_hand_made_workbook_equals_the_whole(tmp_path: Path) -> None:
    path = hand_made(tmp_path / "hand.xlsx")
    cells = assert_same_as_calamine(path, "Hand")
    assert cells[(0, 0)] == "Plain & simple" and cells[(0, 1)] == "Rich text"
    assert cells[(3, 0)] is True and cells[(2, 2)] == 3.5
    details = xlsx_details(path, "Hand")
    assert details.hidden_rows == [(3, 3)] and details.merges == [Merge(1, 0, 1, 1)]
    read = open_sheet(path, file_name="hand.xlsx", header_row=1)
    assert [h.text for h in read.headings] == ["Plain & simple", "Rich text"]
    rows = list(read.rows)
    assert [r.number for r in rows] == [3, 4]
    assert read.notices == ["1 hidden row was read: 3", "1 blank row skipped"]


def test_rows_without_numbers_are_read_whole(tmp_path: Path) -> None:
    path = hand_made(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["xl/worksheets/s1.xml"] = (
        SHEET.replace(' r="1"', "").replace(' r="3" hidden="1"', "").replace(' r="4"', "")
    ).encode()
    zip_file(path, members)
    with zipfile.ZipFile(path) as archive:
        assert (
            SlicedSheet.open(path, "xl/worksheets/s1.xml", file_name="plain.xlsx", epoch_1904=False)
            is None
        )
        assert archive.testzip() is None
    read = open_sheet(path, file_name="plain.xlsx", header_row=1)
    assert len(list(read.rows)) == 2  # read whole by calamine instead


def test_a_damaged_slice_is_reported(tmp_path: Path) -> None:
    path = hand_made(tmp_path / "broken.xlsx")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["xl/worksheets/s1.xml"] = SHEET.replace("<x:v>2</x:v>", "<x:v>99</x:v>").encode()
    zip_file(path, members)
    with pytest.raises(calamine.CalamineError):
        whole_cells(path, "Hand")
    with pytest.raises(UnreadableFile, match=r"broken\.xlsx is damaged .*shared string"):
        list(open_sheet(path, file_name="broken.xlsx", header_row=1).rows)


def test_a_big_sheet_is_read_in_slices_with_flat_memory(tmp_path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Big")
    sheet.append(["Id", "Text", "When"])
    for number in range(30_000):
        sheet.append([number, f"text {number}", date(2020, 1, 1 + number % 28)])
    path = tmp_path / "big.xlsx"
    book.save(path)
    details = xlsx_details(path, "Big")
    assert details.part is not None
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo(details.part).file_size
        sliced = SlicedSheet(
            archive, details.part, file_name="big.xlsx", epoch_1904=False, slice_bytes=size // 8
        )
        counted = 0
        largest = 0
        for _row in sliced.rows():
            counted += 1
            largest = max(largest, len(sliced.buffer))
    assert counted == 30_001
    assert largest < size // 2  # never the whole sheet at once
