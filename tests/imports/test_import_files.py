"""Files as data managers really have them, through the real import: a workbook LibreOffice
wrote (shared strings, its own styles), and the bad files of the issue's list through the upload
page: a zip bomb, a password-protected workbook, an empty sheet, each with a clear message and
nothing written."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl

from datadesk.app import Runtime
from tests.importers.conftest import libreoffice
from tests.importers.reader_files import ole_file
from tests.imports.test_import_pages import XLSX, upload
from tests.imports.test_import_service import count, run, sheet_row, staff_rows, workbook

__all__ = ["libreoffice"]


def test_a_workbook_written_by_libreoffice_imports_like_the_original(
    runtime: Runtime, tmp_path: Path, libreoffice: Callable[[Path, str], Path]
) -> None:
    existing = staff_rows(runtime, 3)
    rows = [sheet_row(s) for s in existing]
    rows[1][1] = "Office & Co"  # an update, with text XML must escape
    rows.append(["4321", "Libre", "Lou", existing[0]["dept_code"], "ADM", "05.06.2019", None, "Y"])
    original = tmp_path / "register.xlsx"
    original.write_bytes(workbook(rows))
    converted = libreoffice(original, "xlsx")
    with zipfile.ZipFile(converted) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    job, report = run(runtime, converted.read_bytes(), commit=True, name="register.xlsx")
    assert job.status == "committed", (job.message, report and report.problems)
    assert (job.rows_read, job.inserted, job.updated, job.unchanged) == (4, 1, 1, 2)
    assert count(runtime, "SELECT last_name FROM staff WHERE employee_no = '004321'") == "Libre"
    again, _ = run(runtime, original.read_bytes(), commit=True, name="register.xlsx")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_bad_files_get_a_clear_message_and_change_nothing(
    web: Any, runtime: Runtime, tmp_path: Path
) -> None:
    client = web("manager")
    staff_before = count(runtime, "SELECT COUNT(*) FROM staff")

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(120 << 20))
    response = upload(client, "staff", bomb.getvalue(), "staff_register", name="bomb.xlsx")
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "refused as a possible zip bomb" in page and "failed" in page

    secret = ole_file(tmp_path / "secret.xlsx", ["EncryptionInfo", "EncryptedPackage"])
    response = upload(client, "staff", secret.read_bytes(), "staff_register", name="secret.xlsx")
    assert response.status_code == 400
    assert "secret.xlsx is protected by a password" in response.text

    book = openpyxl.Workbook()
    book.active.title = "Staff"
    empty = io.BytesIO()
    book.save(empty)
    response = upload(client, "staff", empty.getvalue(), "staff_register", name="empty.xlsx")
    page = client.get(response.headers["location"]).text
    assert "sheet &#39;Staff&#39; of empty.xlsx is empty" in page

    response = client.post(
        "/admin/staff/import", data={"profile": "staff_register"}, files={"file": ("", b"", XLSX)}
    )
    assert response.status_code == 400 and "choose a file" in response.text
    assert count(runtime, "SELECT COUNT(*) FROM staff") == staff_before
