"""The CSV reader: encodings, delimiters, quoting, undecodable rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from datadesk.errors import UnreadableFile
from datadesk.importers.readers import detect_format, open_sheet
from tests.importers.reader_files import headings, numbered, open_files, read_sheet

# --------------------------------------------------------------------------- CSV


def test_csv_utf8_bom_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    text = 'Name,Note,Code\r\nAnna,"line 1\nline 2",007\r\n"Bob, Jr.",plain  ,\r\n'
    path.write_bytes(text.encode("utf-8-sig"))
    sheet, rows = read_sheet(path)
    assert sheet.file_format == "csv"
    assert sheet.sheet_name == "notes"
    assert sheet.sheet_names == ["notes"]
    assert headings(sheet) == [("Name", "A"), ("Note", "B"), ("Code", "C")]
    assert numbered(rows) == [
        (2, ("Anna", "line 1\nline 2", "007")),
        (3, ("Bob, Jr.", "plain  ", None)),
    ]


def test_csv_cp1252_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("Name;City;Amount\nMüller;Zoë;1,50\nTotal;;1,50\n".encode("cp1252"))
    sheet, rows = read_sheet(path)
    assert headings(sheet) == [("Name", "A"), ("City", "B"), ("Amount", "C")]
    assert numbered(rows) == [(2, ("Müller", "Zoë", "1,50"))]
    assert sheet.notices == ["totals row 3 skipped ('Total')"]


def test_csv_utf16_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("Code\tName\r\n001\tÅsa\r\n\r\n002\tŁukasz\r\n".encode("utf-16"))
    sheet, rows = read_sheet(path)
    assert detect_format(path, "export.txt") == "csv"
    assert headings(sheet) == [("Code", "A"), ("Name", "B")]
    assert numbered(rows) == [(2, ("001", "Åsa")), (4, ("002", "Łukasz"))]
    assert sheet.notices == ["1 blank row skipped"]


def test_csv_explicit_delimiter_and_title_line(tmp_path: Path) -> None:
    path = tmp_path / "pipes.csv"
    path.write_text("Export of 2024-03-01\nA|B|C\n1|2|3\n", encoding="utf-8")
    sheet, rows = read_sheet(path, delimiter="|")
    assert sheet.header_row == 2
    assert headings(sheet) == [("A", "A"), ("B", "B"), ("C", "C")]
    assert numbered(rows) == [(3, ("1", "2", "3"))]


def test_csv_single_header_line_falls_back_to_semicolon(tmp_path: Path) -> None:
    path = tmp_path / "head.csv"
    path.write_text("Name;Street, No;City\n", encoding="utf-8")
    sheet, rows = read_sheet(path)
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
    _, rows = read_sheet(path)  # without an encoding: the whole file is checked, cp1252 it is
    assert numbered(rows)[-1] == (5002, ("Ben", "Köln"))
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
    assert str(path) not in open_files()
    rows = sheet.rows
    assert next(rows).number == 2
    assert str(path) in open_files()
    assert [row.number for row in rows] == [3]
    assert str(path) not in open_files()


def test_csv_rows_of_spaces_are_blank_but_kept_as_text_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "spaces.csv"
    path.write_text("A;B\n ;  \n1;2\n", encoding="utf-8")
    sheet, rows = read_sheet(path)
    assert numbered(rows) == [(3, ("1", "2"))]
    assert sheet.notices == ["1 blank row skipped"]
    _, kept = read_sheet(path, skip_blank_rows=False)
    assert numbered(kept) == [(2, (" ", "  ")), (3, ("1", "2"))]


def test_csv_of_blank_lines_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n ; \n\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"^sheet 'blank' of blank\.csv is empty$"):
        open_sheet(path, file_name="blank.csv")
