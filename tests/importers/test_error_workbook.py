"""The error workbook: real uploads (openpyxl-written xlsx, LibreOffice-written xls, ods and
xlsm, a Windows-1252 csv) marked, reopened with openpyxl and checked cell by cell."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from python_calamine import CalamineWorkbook

from datadesk.errors import UnreadableFile
from datadesk.importers import error_workbook as ew
from datadesk.importers.csv_text import csv_encoding, sniff_delimiter
from datadesk.importers.error_workbook import (
    CELL_FILL,
    ROW_FILL,
    error_workbook_suffix,
    write_error_workbook,
)
from datadesk.importers.sheet import CellProblem

SHEET = "Staff list"
HEADER_ROW = 3
HEADINGS = ["Emp No", "Surname", "Start date", "Code", "Salary"]
# Data starts at B3: headings in row 3, columns B..F.
ROWS: list[list[Any]] = [
    ["000123", "Smith ", "31.02.2014", "IMED", 52300],
    ["000456", "Nguyen", date(2013, 6, 17), "=cmd|' /C calc'!A0", 61000.5],
    ["000789", "Brown", date(2015, 9, 21), "+SUM(A1)", None],
    ["001011", "Lee", "21/09/2015", "-2", 48000],
    ["001213", "Kelly", date(2011, 1, 3), "@x", 50000],
]
DANGEROUS = "=cmd|' /C calc'!A0"
RED = "00" + "FFC8CE"
PALE = "00" + "FDEDEF"

PROBLEMS = [
    CellProblem(4, "D", "Start date", "31.02.2014", "not a date: 31.02.2014"),
    CellProblem(4, "D", "Start date", "31.02.2014", "Start date is required"),
    CellProblem(5, "E", "Code", DANGEROUS, "unknown department code"),
    CellProblem(6, None, None, None, "duplicate of row 4 (same Emp No)"),
    CellProblem(7, "E", "Code", "-2", "unknown department code"),
    CellProblem(6, "E", "Code", "+SUM(A1)", "unknown department code"),
    CellProblem(8, "E", "Code", "@x", "unknown department code"),
    CellProblem(8, "C", "Surname", "\tKelly", "text starts with a tab"),
]


def _converter(tmp: Path) -> Callable[[Path, str], Path]:
    """Convert with LibreOffice into ``tmp``, with a private profile (no clash with others)."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = (tmp / "profile").as_uri()

    def convert(src: Path, fmt: str) -> Path:
        out_dir = tmp / fmt.split(":")[0]
        subprocess.run(
            ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
             fmt, "--outdir", str(out_dir), str(src)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        result = out_dir / f"{src.stem}.{fmt.split(':')[0]}"
        assert result.exists(), f"LibreOffice did not write {result.name}"
        return result

    return convert


@pytest.fixture(scope="module")
def convert(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], Path]:
    """LibreOffice conversion, once per module (each call takes seconds)."""
    return _converter(tmp_path_factory.mktemp("libreoffice"))


def _write_upload(path: Path) -> Path:
    """A legacy-looking xlsx: merged bold title, headings at B3, formats, a second sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["B1"] = "Medical University - Staff"
    ws["B1"].font = Font(bold=True, size=14)
    ws.merge_cells("B1:F1")
    for col, text in enumerate(HEADINGS, 2):
        ws.cell(HEADER_ROW, col, text).font = Font(bold=True)
    for number, values in enumerate(ROWS, HEADER_ROW + 1):
        for col, value in enumerate(values, 2):
            cell = ws.cell(number, col, value)
            if isinstance(value, str):
                cell.data_type = "s"  # a text cell, even when it looks like a formula
            if isinstance(value, date):
                cell.number_format = "dd.mm.yyyy"
            if isinstance(value, int | float) and col == 6:
                cell.number_format = "#,##0.00"
    ws["C4"].font = Font(italic=True, color="1F4E79")
    ws["B5"].comment = Comment("checked by HR", "Jo")
    ws["F8"].fill = PatternFill(fill_type="solid", fgColor="FFC7CE")  # the user's own "Bad" style
    ws.column_dimensions["C"].width = 18
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Keep this sheet"
    notes["A2"] = 42
    notes["A1"].font = Font(bold=True)
    wb.save(path)
    return path


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    """The xlsx upload."""
    return _write_upload(tmp_path / "staff.xlsx")


@pytest.fixture(scope="module")
def converted(
    tmp_path_factory: pytest.TempPathFactory, convert: Callable[[Path, str], Path]
) -> dict[str, Path]:
    """The same upload as LibreOffice writes it: xls, ods and a macro-enabled xlsm."""
    source = _write_upload(tmp_path_factory.mktemp("upload") / "staff.xlsx")
    return {
        "xls": convert(source, "xls"),
        "ods": convert(source, "ods"),
        "xlsm": convert(source, "xlsm:Calc MS Excel 2007 VBA XML"),
    }


def _errors_rows(wb: Any) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in wb["Errors"].iter_rows(min_row=2)]


def _check_marks(ws: Any) -> None:
    """Fills and comments every format shares."""
    assert ws["D4"].fill.fgColor.rgb == RED
    assert ws["D4"].comment.text == "not a date: 31.02.2014\nStart date is required"
    assert ws["D4"].comment.author == "datadesk"
    assert ws["E5"].fill.fgColor.rgb == RED
    assert ws["E5"].comment.text == "unknown department code"
    # Row 6: the whole data area B..F tinted, E6 red, the row comment on B6.
    assert [ws.cell(6, c).fill.fgColor.rgb for c in range(2, 7)] == [PALE] * 3 + [RED, PALE]
    assert ws["B6"].comment.text == "Whole row: duplicate of row 4 (same Emp No)"
    assert ws["A6"].fill.fgColor.rgb != PALE and ws["G6"].fill.fgColor.rgb != PALE
    assert ws["C8"].fill.fgColor.rgb == RED
    # Untouched cells keep no fill.
    assert ws["B4"].fill.fgColor.rgb != RED and ws["F7"].fill.fgColor.rgb != RED


def _check_errors_sheet(wb: Any, target: str = SHEET) -> None:
    errors = wb["Errors"]
    assert wb.sheetnames[-1] == "Errors"
    assert [c.value for c in errors[1]] == ["Row", "Column", "Heading", "Value", "Message"]
    assert all(c.font.bold for c in errors[1])
    assert errors.freeze_panes == "A2"
    assert errors.auto_filter.ref == f"A1:E{len(PROBLEMS) + 1}"
    rows = _errors_rows(wb)
    expected = [
        (p.row, p.column, p.heading, p.value, p.message) for p in PROBLEMS
    ]  # the row problem has no column, heading nor value
    assert rows == expected
    links = [errors.cell(r, 1).hyperlink.location for r in range(2, len(PROBLEMS) + 2)]
    quoted = "'" + target + "'"
    assert links == [
        f"{quoted}!D4", f"{quoted}!D4", f"{quoted}!E5", f"{quoted}!B6", f"{quoted}!E7",
        f"{quoted}!E6", f"{quoted}!E8", f"{quoted}!C8",
    ]  # fmt: skip
    for r in range(2, len(PROBLEMS) + 2):
        value = errors.cell(r, 4)
        if isinstance(value.value, str):
            assert value.data_type == "s"
    assert errors["D4"].value == DANGEROUS and errors["D4"].data_type == "s"
    assert errors["D4"].quotePrefix
    assert errors.column_dimensions["E"].width >= 60


def _comment_box(path: Path, coordinate: str) -> tuple[int, int]:
    """Width and height in pixels of a cell's comment box, from the VML drawing of the first
    sheet (openpyxl does not read them back)."""
    cell = openpyxl.utils.cell.coordinate_to_tuple(coordinate)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".vml"))
        vml = archive.read(name).decode()
    for shape in re.findall(r"<\w+:shape .*?</\w+:shape>", vml, re.S):
        row = re.search(r"<\w+:Row>(\d+)</\w+:Row>", shape)
        col = re.search(r"<\w+:Column>(\d+)</\w+:Column>", shape)
        if row and col and (int(row[1]) + 1, int(col[1]) + 1) == cell:
            size = re.search(r"width:(\d+)px;\s*height:(\d+)px", shape)
            assert size is not None
            return int(size[1]), int(size[2])
    raise AssertionError(f"no comment box for {coordinate}")


def _sheet_xml(path: Path, index: int) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"xl/worksheets/sheet{index}.xml").decode()


def test_xlsx_marked_in_place(upload: Path, tmp_path: Path) -> None:
    out = tmp_path / "errors.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, iter(PROBLEMS), out)
    wb = openpyxl.load_workbook(out)
    source = openpyxl.load_workbook(upload)
    assert wb.sheetnames == [SHEET, "Notes", "Errors"]
    assert wb.active.title == SHEET
    assert [s.sheet_view.tabSelected for s in wb.worksheets] == [True, False, False]
    ws = wb[SHEET]
    _check_marks(ws)
    _check_errors_sheet(wb)
    # Values, formatting, merged title, column widths and the other sheet are unchanged.
    for row in source[SHEET].iter_rows():
        for cell in row:
            assert ws[cell.coordinate].value == cell.value, cell.coordinate
            assert ws[cell.coordinate].number_format == cell.number_format
    width, height = _comment_box(out, "D4")
    assert width >= 160 and height >= 48  # two lines of 22-30 characters fit
    assert _comment_box(out, "B6")[0] > width  # a longer line, a wider box
    assert ws["C4"].font.italic and ws["C4"].font.color.rgb == "001F4E79"
    assert ws["B1"].font.bold and "B1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.column_dimensions["C"].width == 18
    assert ws["E5"].value == DANGEROUS and ws["E5"].data_type == "s"
    assert ws["B5"].comment.text == "checked by HR"  # the user's own comment stays
    assert [[c.value for c in row] for row in wb["Notes"].iter_rows()] == [
        ["Keep this sheet"],
        [42],
    ]
    assert wb["Notes"]["A1"].font.bold
    # The Errors sheet (the third) holds no formula at all.
    assert "<f>" not in _sheet_xml(out, 3)


def test_formula_like_values_stay_text(upload: Path, tmp_path: Path) -> None:
    out = tmp_path / "errors.xlsx"
    problems = [
        CellProblem(4, "B", "Emp No", text, "bad")
        for text in (DANGEROUS, "+1+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "=1+1")
    ]
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, problems, out)
    errors = openpyxl.load_workbook(out)["Errors"]
    for row, problem in enumerate(problems, 2):
        cell = errors.cell(row, 4)
        # XML reads a lone CR as LF: the text stays text, its first character changes.
        assert cell.value == problem.value.replace("\r", "\n") and cell.data_type == "s"
        assert cell.quotePrefix
    assert "<f>" not in _sheet_xml(out, 3)


def test_second_round_replaces_the_errors_sheet_and_old_marks(upload: Path, tmp_path: Path) -> None:
    first = tmp_path / "round1.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, PROBLEMS, first)
    # The user fixes everything but E5 and uploads the error workbook again.
    second = tmp_path / "round2.xlsx"
    remaining = [CellProblem(5, "E", "Code", DANGEROUS, "still unknown"),
                 CellProblem(5, "B", "Emp No", "000456", "new problem")]  # fmt: skip
    write_error_workbook(first, "xlsx", SHEET, HEADER_ROW, remaining, second)
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames == [SHEET, "Notes", "Errors"]
    assert _errors_rows(wb) == [(5, "E", "Code", DANGEROUS, "still unknown"),
                                (5, "B", "Emp No", "000456", "new problem")]  # fmt: skip
    ws = wb[SHEET]
    assert ws["D4"].fill.fgColor.rgb != RED and ws["D4"].comment is None
    assert ws["B6"].fill.fgColor.rgb != PALE and ws["B6"].comment is None
    assert ws["E5"].comment.text == "still unknown"
    assert ws["F8"].fill.fgColor.rgb == "00FFC7CE"  # the user's own fill is not ours to clear
    # B5 had the user's comment: ours goes on top, theirs comes back once the cell is fixed.
    assert ws["B5"].comment.text.startswith("new problem\n\n--- Earlier comment by Jo:")
    assert ws["B5"].comment.text.endswith("checked by HR")
    third = tmp_path / "round3.xlsx"
    write_error_workbook(second, "xlsx", SHEET, HEADER_ROW, [], third)
    restored = openpyxl.load_workbook(third)[SHEET]["B5"].comment
    assert (restored.text, restored.author) == ("checked by HR", "Jo")


def test_a_users_own_errors_sheet_is_kept(upload: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(upload)
    wb.create_sheet("Errors")["A1"] = "my own notes"
    wb.save(upload)
    out = tmp_path / "errors.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, PROBLEMS, out)
    result = openpyxl.load_workbook(out)
    assert result.sheetnames == [SHEET, "Notes", "Errors", "Errors 2"]
    assert result["Errors"]["A1"].value == "my own notes"
    assert result["Errors 2"]["A2"].hyperlink.location == f"'{SHEET}'!D4"


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_xls_and_ods_become_a_fresh_xlsx(
    fmt: str, converted: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / f"errors{error_workbook_suffix(fmt)}"  # type: ignore[arg-type]
    write_error_workbook(converted[fmt], fmt, SHEET, HEADER_ROW, PROBLEMS, out)  # type: ignore[arg-type]
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET, "Errors"]
    ws = wb[SHEET]
    # Same positions: title in B1, headings in B3:F3, data from row 4.
    assert ws["B1"].value == "Medical University - Staff" and ws["A1"].value is None
    assert [c.value for c in ws[HEADER_ROW]][1:6] == HEADINGS
    assert all(ws.cell(HEADER_ROW, c).font.bold for c in range(2, 7))
    for number, values in enumerate(ROWS, HEADER_ROW + 1):
        for col, value in enumerate(values, 2):
            cell = ws.cell(number, col)
            if isinstance(value, date):
                assert cell.value == datetime(value.year, value.month, value.day)
                assert cell.is_date and "yy" in cell.number_format
            elif isinstance(value, str):
                assert (cell.value, cell.data_type) == (value, "s")
            elif value is not None:
                assert cell.value == value
    assert ws.freeze_panes == "A4"
    _check_marks(ws)
    _check_errors_sheet(wb)


def test_xlsm_keeps_its_kind(converted: dict[str, Path], tmp_path: Path) -> None:
    """A macro-enabled workbook as LibreOffice writes it (without a VBA project: nothing here
    can write one honestly) comes back macro-enabled; VBA parts are kept by openpyxl's
    keep_vba, which this test cannot exercise."""
    out = tmp_path / f"errors{error_workbook_suffix('xlsm')}"
    write_error_workbook(converted["xlsm"], "xlsm", SHEET, HEADER_ROW, PROBLEMS, out)
    with zipfile.ZipFile(out) as archive:
        types = archive.read("[Content_Types].xml").decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert wb.sheetnames == [SHEET, "Notes", "Errors"]
    _check_marks(wb[SHEET])
    _check_errors_sheet(wb)
    assert wb[SHEET]["B1"].value == "Medical University - Staff"


CSV_TEXT = (
    "Site code;Site name;Type;Capacity\r\n"
    "S001;Northside General Hospital;HOSPITAL;120\r\n"
    "S041;Clinique Sainte-Thérèse – Annexe;CLINIC;12\r\n"
    'S042;=HYPERLINK("http://x");CLINIC;-3\r\n'
    'S043;"Line one\nline two";COMMUNITY;eight\r\n'
    "S044;Bayswater Clinic;CLINIC;7\r\n"
)


def _csv_problems() -> list[CellProblem]:
    return [
        CellProblem(3, "C", "Type", "CLINIC", "wrong type"),
        CellProblem(4, "B", "Site name", '=HYPERLINK("http://x")', "looks like a formula"),
        CellProblem(4, "D", "Capacity", "-3", "must be at least 0"),
        CellProblem(5, "D", "Capacity", "eight", "not a number"),
        CellProblem(6, None, None, None, "duplicate site"),
    ]


@pytest.mark.parametrize("given", [False, True])
def test_cp1252_semicolon_csv(tmp_path: Path, given: bool) -> None:
    source = tmp_path / "sites.csv"
    source.write_bytes(CSV_TEXT.encode("cp1252"))
    out = tmp_path / "errors.xlsx"
    options = {"encoding": "cp1252", "delimiter": ";"} if given else {}
    write_error_workbook(source, "csv", "sites", 1, _csv_problems(), out, **options)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["sites", "Errors"]
    ws = wb["sites"]
    assert [c.value for c in ws[1]] == ["Site code", "Site name", "Type", "Capacity"]
    assert ws["B3"].value == "Clinique Sainte-Thérèse – Annexe"
    assert ws["B4"].value == '=HYPERLINK("http://x")' and ws["B4"].data_type == "s"
    assert ws["B5"].value == "Line one\nline two"  # one record over two lines is one row
    assert ws["D5"].value == "eight" and ws["D2"].value == "120"
    assert ws["C3"].fill.fgColor.rgb == RED and ws["C3"].comment.text == "wrong type"
    assert [ws.cell(6, c).fill.fgColor.rgb for c in range(1, 5)] == [PALE] * 4
    assert ws["A6"].comment.text == "Whole row: duplicate site"
    assert [row[:2] for row in _errors_rows(wb)] == [
        (3, "C"), (4, "B"), (4, "D"), (5, "D"), (6, None),
    ]  # fmt: skip
    assert wb["Errors"]["A6"].hyperlink.location == "'sites'!A6"
    assert "<f>" not in _sheet_xml(out, 1) + _sheet_xml(out, 2)


def test_csv_detection(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("a;b\r\nThérèse;1\r\n".encode("cp1252"))
    assert csv_encoding(path, None) == "cp1252"
    path.write_bytes("a;b\nThérèse;1\n".encode())
    assert csv_encoding(path, None) == "utf-8"
    path.write_bytes("a;b\n".encode("utf-8-sig"))
    assert csv_encoding(path, None) == "utf-8-sig"
    path.write_bytes("a;b\n".encode("utf-16"))
    assert csv_encoding(path, None) == "utf-16"

    def delimiter(text: str) -> str:
        path.write_text(text, encoding="utf-8")
        return sniff_delimiter(path, "utf-8")

    assert delimiter("a;b;c\n1;2;3\n4;5;6\n") == ";"
    assert delimiter("a\tb\n1\t2\n") == "\t"
    assert delimiter("a|b|c\n1|2|3\n") == "|"
    assert delimiter('name,city\n"Smith, J",Brookfield\n') == ","
    assert delimiter("single\n") == ","


def test_limits_on_comments_and_listed_problems(
    upload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ew, "MAX_LISTED", 6)
    monkeypatch.setattr(ew, "MAX_COMMENTS", 4)
    monkeypatch.setattr(ew, "MAX_COMMENT_LINES", 2)
    problems = [CellProblem(4, "B", "Emp No", "000123", f"message {n}") for n in range(5)]
    problems += [CellProblem(row, col, "x", None, "bad") for row in (5, 6, 7) for col in "BCDEF"]

    def stream() -> Iterator[CellProblem]:
        yield from problems  # a generator: read once

    out = tmp_path / "errors.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, stream(), out)
    wb = openpyxl.load_workbook(out)
    ws = wb[SHEET]
    assert ws["B4"].comment.text == "message 0\nmessage 1\n... and 3 more"
    commented = [
        c for row in ws.iter_rows() for c in row if c.comment and c.comment.author == "datadesk"
    ]
    assert len(commented) == 4
    red = [c for row in ws.iter_rows(min_row=5, max_row=7) for c in row if c.fill == CELL_FILL]
    assert len(red) == 15  # every bad cell filled, commented or not
    errors = wb["Errors"]
    assert errors.max_row == 1 + 6 + 2
    assert (
        errors["A9"].value
        == f"{len(problems) - 6:,} more problems are not listed here; the first 6 are."
    )
    assert errors.auto_filter.ref == "A1:E7"


def test_a_huge_xlsx_comes_back_as_values(
    upload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ew, "MAX_STYLED_CELLS", 10)
    out = tmp_path / "errors.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, PROBLEMS, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET, "Errors"]  # values only: the Notes sheet is not copied
    ws = wb[SHEET]
    assert [c.value for c in ws[HEADER_ROW]][1:6] == HEADINGS
    assert ws["E5"].value == DANGEROUS and ws["E5"].data_type == "s"
    _check_marks(ws)
    _check_errors_sheet(wb)


def test_many_problems_stream_through(tmp_path: Path) -> None:
    """100,000 problems over a csv of 20,000 rows: all filled, 10,000 commented, all listed."""
    source = tmp_path / "big.csv"
    lines = ["a,b,c,d,e"] + [f"{n},x{n},y,z,w" for n in range(20_000)]
    source.write_text("\n".join(lines) + "\n")
    problems = (
        CellProblem(row, col, col, "x", "bad value") for row in range(2, 20_002) for col in "ABCDE"
    )
    out = tmp_path / "errors.xlsx"
    write_error_workbook(source, "csv", "big", 1, problems, out)
    book = CalamineWorkbook.from_path(str(out))
    assert book.get_sheet_by_name("Errors").end == (100_000, 4)  # headings + 100,000 rows
    assert book.get_sheet_by_name("big").end == (20_000, 4)
    with zipfile.ZipFile(out) as archive:
        comments = archive.read("xl/comments/comment1.xml").decode()
    assert comments.count("<comment ") == 10_000


def test_impossible_positions_are_listed_but_not_marked(upload: Path, tmp_path: Path) -> None:
    odd = [
        CellProblem(0, "B", None, None, "row zero"),
        CellProblem(5, "XFE", None, None, "past the last column"),
        CellProblem(2_000_000, "B", None, None, "past the last row"),
        CellProblem(5, "no such", None, None, "not a column"),
    ]
    out = tmp_path / "errors.xlsx"
    write_error_workbook(upload, "xlsx", SHEET, HEADER_ROW, odd, out)
    wb = openpyxl.load_workbook(out)
    assert [row[4] for row in _errors_rows(wb)] == [p.message for p in odd]
    links = [wb["Errors"].cell(r, 1).hyperlink for r in range(2, 6)]
    assert links[0] is None and links[2] is None
    assert links[1].location == links[3].location == f"'{SHEET}'!B5"
    marked = [c for row in wb[SHEET].iter_rows() for c in row if c.fill in (CELL_FILL, ROW_FILL)]
    assert marked == []


def test_unknown_sheet_is_refused(upload: Path, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no sheet named 'Nope'"):
        write_error_workbook(upload, "xlsx", "Nope", 1, PROBLEMS, tmp_path / "x.xlsx")


def test_fills_are_the_documented_colours() -> None:
    assert CELL_FILL.fgColor.rgb == RED and ROW_FILL.fgColor.rgb == PALE
    assert isinstance(CELL_FILL, PatternFill)
