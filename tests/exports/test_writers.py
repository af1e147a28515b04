"""The .xlsx and CSV writers, read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from datadesk.exports import CsvWriter, ExportColumn, XlsxWorkbook, sheet_name
from datadesk.models.catalog import ColumnInfo

COLUMNS = [
    ExportColumn("id", "Id", "integer"),
    ExportColumn("name", "Name"),
    ExportColumn("code", "Code", "code"),
    ExportColumn("born", "Born", "date"),
    ExportColumn("seen", "Seen", "datetime"),
    ExportColumn("salary", "Salary", "money"),
    ExportColumn("active", "Active", "boolean"),
    ExportColumn("ratio", "Ratio", "float"),
    ExportColumn("rate", "Rate", "decimal", number_format="0.000"),
]
ROWS = [
    [1, "=HYPERLINK(\"http://x\")", "007", dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5),
     Decimal("1234.50"), True, -1.5, Decimal("0.125")],
    [2, "Smith", "0420", None, dt.datetime(2021, 6, 1), Decimal("-10.25"), False, None, None],
    [3, "+1 555", None, dt.date(1999, 12, 31), None, None, None, 2.0, Decimal("-3")],
]  # fmt: skip
INJECTIONS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "\nx"]


def write_book(path: Path, **sheet: object) -> None:
    with XlsxWorkbook(path, title="Staff list", author="jdoe") as book:
        out = book.add_sheet("Staff", COLUMNS, **sheet)  # type: ignore[arg-type]
        assert out.write_rows(ROWS) == 3
        assert out.rows_written == 3


def test_xlsx_cells_are_typed_and_formatted(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_book(path)
    book = openpyxl.load_workbook(path)
    ws = book["Staff"]
    assert book.properties.title == "Staff list"
    assert book.properties.creator == "jdoe"
    header = [c.value for c in ws[1]]
    assert header == [c.label for c in COLUMNS]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I4"
    first = ws[2]
    assert [c.value for c in first[:3]] == [1, '=HYPERLINK("http://x")', "007"]
    assert first[0].data_type == "n" and first[0].number_format == "0"
    assert first[1].data_type == "s" and first[1].quotePrefix  # text, never a formula
    assert first[2].data_type == "s" and first[2].number_format == "@"
    assert first[3].value == dt.datetime(2020, 1, 2) and first[3].number_format == "yyyy-mm-dd"
    assert first[3].is_date
    assert first[4].value == dt.datetime(2020, 1, 2, 3, 4, 5)
    assert first[4].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first[5].value == 1234.5 and first[5].number_format == "#,##0.00"
    assert first[6].value is True and first[6].data_type == "b"
    assert first[7].value == -1.5 and first[7].data_type == "n" and not first[7].quotePrefix
    assert first[8].value == 0.125 and first[8].number_format == "0.000"
    second = ws[3]
    # A datetime at midnight shows as a date, like the grid shows it.
    assert second[4].value == dt.datetime(2021, 6, 1) and second[4].number_format == "yyyy-mm-dd"
    assert second[3].value is None and second[7].value is None
    assert ws["C3"].value == "0420"
    assert ws["B4"].value == "+1 555" and ws["B4"].quotePrefix
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["B"] > len('=HYPERLINK("http://x")') and widths["D"] >= 11


def test_xlsx_preamble_and_totals(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    preamble = ["Staff salaries", "-3 days", "Generated 2026-01-05 by jdoe"]
    write_book(
        path,
        preamble=preamble,
        totals={"salary": "sum", "id": "count", "ratio": "average", "born": "max"},
    )
    ws = openpyxl.load_workbook(path)["Staff"]
    assert [ws.cell(row=i, column=1).value for i in (1, 2, 3)] == preamble
    assert ws["A1"].font.b and ws["A2"].quotePrefix
    assert ws["A4"].value is None
    assert ws["A5"].value == "Id" and ws.freeze_panes == "A6"
    assert ws.auto_filter.ref == "A5:I8"
    assert ws["F9"].value == "=SUBTOTAL(109,F6:F8)" and ws["F9"].number_format == "#,##0.00"
    assert ws["A9"].value == "=SUBTOTAL(103,A6:A8)"
    assert ws["B9"].value == "Total"
    values = openpyxl.load_workbook(path, data_only=True)["Staff"]
    assert values["F9"].value == 1224.25
    assert values["A9"].value == 3
    assert values["H9"].value == pytest.approx(0.25)
    assert values["D9"].value == dt.datetime(2020, 1, 2)


def test_xlsx_totals_of_an_empty_sheet_and_bad_totals(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with XlsxWorkbook(path) as book:
        book.add_sheet("Empty", COLUMNS, totals={"salary": "sum"})
        with pytest.raises(ValueError, match="cannot sum text"):
            book.add_sheet("Bad", COLUMNS, totals={"name": "sum"})
        with pytest.raises(ValueError, match="unknown column 'nope'"):
            book.add_sheet("Bad", COLUMNS, totals={"nope": "count"})
    ws = openpyxl.load_workbook(path)["Empty"]
    assert ws["F2"].value == 0 and ws["A2"].value == "Total"


def test_xlsx_injection_guard_per_column(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    columns = [ExportColumn("a", "Guarded"), ExportColumn("b", "Formula", guard=False)]
    with XlsxWorkbook(path) as book:
        sheet = book.add_sheet("S", columns)
        for text in INJECTIONS:
            sheet.write_row([text, text])
    ws = openpyxl.load_workbook(path)["S"]
    for row, text in enumerate(INJECTIONS, start=2):
        cell = ws.cell(row=row, column=1)
        # openpyxl leaves the XML escape of control characters (_x000D_) as it is; Excel
        # reads it back as the character.
        assert unescape(cell.value) == text and cell.data_type == "s" and cell.quotePrefix
    assert ws["B2"].data_type == "f" and ws["B2"].value == "=1+1"  # allowed by the config
    assert ws["B3"].data_type == "s" and ws["B3"].value == "+SUM(A1)"


def test_xlsx_odd_text_survives(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    odd = ["<r>&amp;</r>", "<r>", "a & <b>", "  padded  ", "x" * 500, "Ünïcødé €"]
    with XlsxWorkbook(path) as book:
        sheet = book.add_sheet("S", [ExportColumn("a", "A")])
        sheet.write_rows([[text] for text in odd])
    ws = openpyxl.load_workbook(path)["S"]
    assert [ws.cell(row=i, column=1).value for i in range(2, 2 + len(odd))] == odd
    assert ws.column_dimensions["A"].width <= 61


def test_xlsx_several_sheets_and_names(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with XlsxWorkbook(path) as book:
        names = [
            book.add_sheet(n, [ExportColumn("a", "A")]).name
            for n in ("Summary", "summary", "a" * 40, "x:y?", "History")
        ]
        book.sheets[1].write_row(["second"])
        book.sheets[0].write_row(["first"])
    assert names == ["Summary", "summary (2)", "a" * 31, "x_y_", "History_"]
    book_read = openpyxl.load_workbook(path)
    assert book_read.sheetnames == names
    assert book_read["Summary"]["A2"].value == "first"
    assert book_read["summary (2)"]["A2"].value == "second"
    assert sheet_name("'quoted'") == "quoted"


def test_column_from_catalog_info() -> None:
    money = ColumnInfo("salary", "SALARY", "decimal", "Salary", scale=2)
    rate = ColumnInfo("rate", "RATE", "decimal", "Rate", scale=3)
    flag = ColumnInfo("active", "ACTIVE", "boolean", "Active")
    stamp = ColumnInfo("seen", "SEEN", "datetime", "Seen")
    text = ColumnInfo("note", "NOTE", "long_text", "Note")
    assert ExportColumn.from_column_info(money).kind == "money"
    assert ExportColumn.from_column_info(rate).excel_format == "#,##0.000"
    assert ExportColumn.from_column_info(flag).kind == "boolean"
    assert ExportColumn.from_column_info(stamp).excel_format == "yyyy-mm-dd hh:mm:ss"
    column = ExportColumn.from_column_info(text, label="Notes", guard=False)
    assert (column.kind, column.label, column.guard) == ("text", "Notes", False)
    with pytest.raises(ValueError, match="unknown cell kind"):
        ExportColumn("x", "X", "colour")  # type: ignore[arg-type]


def test_csv_values_and_guard() -> None:
    stream = io.StringIO(newline="")
    columns = [*COLUMNS, ExportColumn("raw", "Raw", guard=False)]
    writer = CsvWriter(stream, columns, preamble=["Staff", "=title"])
    writer.write_rows([[*row, "=1+1"] for row in ROWS])
    for text in INJECTIONS:
        writer.write_row([None, text, None, None, None, None, None, None, None, text])
    lines = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    assert lines[0] == ["Staff"] and lines[1] == ["'=title"] and lines[2] == []
    assert lines[3] == [c.label for c in columns]
    assert lines[4] == [
        "1", "'=HYPERLINK(\"http://x\")", "007", "2020-01-02", "2020-01-02 03:04:05",
        "1234.50", "true", "-1.5", "0.125", "=1+1",
    ]  # fmt: skip
    assert lines[5][4] == "2021-06-01" and lines[5][5] == "-10.25" and lines[5][6] == "false"
    assert lines[6][1] == "'+1 555" and lines[6][8] == "-3"
    for line, text in zip(lines[7:], INJECTIONS, strict=True):
        assert line[1] == "'" + text and line[9] == text
    assert writer.rows_written == 3 + len(INJECTIONS)
