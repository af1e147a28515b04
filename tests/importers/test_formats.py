"""Format detection and refused files: foreign, damaged, password-protected, zip bombs."""

from __future__ import annotations

import resource
import struct
import time
import zipfile
from pathlib import Path

import pytest

from datadesk.errors import FileTooLarge, UnreadableFile
from datadesk.importers.readers import detect_format, open_sheet
from tests.importers.reader_files import ACCEPTED, ole_file, zip_file

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
    path = zip_file(tmp_path / "letter.docx", {"word/document.xml": b"<w:document/>"})
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
    path = ole_file(tmp_path / "secret.xlsx", ["EncryptionInfo", "EncryptedPackage"])
    message = (
        "secret.xlsx is protected by a password: save a copy without a password and upload that"
    )
    with pytest.raises(UnreadableFile) as caught:
        open_sheet(path, file_name="secret.xlsx")
    assert caught.value.message == message


def test_ole_files_without_a_readable_workbook(tmp_path: Path) -> None:
    damaged = ole_file(tmp_path / "old.xls", ["Workbook"])
    assert detect_format(damaged, "old.xls") == "xls"
    with pytest.raises(UnreadableFile, match=r"^old.xls holds no sheets$"):
        open_sheet(damaged, file_name="old.xls")
    word = ole_file(tmp_path / "letter.doc", ["WordDocument"])
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
    path = zip_file(
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
