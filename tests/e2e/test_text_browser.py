"""Text mode: every grid page reads and works in w3m, which runs no JavaScript."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.admin.grid_forms import grid_fields, submit
from tests.e2e.conftest import Session

pytestmark = pytest.mark.e2e

W3M = shutil.which("w3m")
if W3M is None:
    pytest.fail("w3m is not installed (scripts/system-deps installs it)", pytrace=False)


def w3m_dump(
    url: str,
    session: Session | None = None,
    post_file: Path | None = None,
    content_type: str | None = None,
) -> str:
    """What a w3m user sees on a page (optionally signed in, optionally after posting a form;
    ``content_type`` for a body that is not url-encoded, e.g. a multipart upload)."""
    # w3m sends -header values on the first request only, so posts are not followed: the test
    # then reads the outcome through the signed-in session.
    follow = "0" if post_file is not None else "10"
    args = [str(W3M), "-dump", "-cols", "200", "-o", f"follow_redirection={follow}"]
    if session is not None:
        args += ["-header", f"Cookie: {session.cookie}"]
    if post_file is not None:
        args += ["-post", str(post_file)]
    if content_type is not None:
        args += ["-header", f"Content-Type: {content_type}"]
    result = subprocess.run([*args, url], capture_output=True, text=True, timeout=30, check=True)
    return result.stdout


def test_sign_in_page_reads_in_w3m(served: str) -> None:
    text = w3m_dump(f"{served}/admin/immunizations/list")
    assert "Sign in" in text and "User name" in text and "Password" in text


def test_list_page_reads_in_w3m(served: str, session: Session) -> None:
    text = w3m_dump(f"{served}/admin/immunizations/list", session)
    assert "Immunizations" in text
    assert "Next ›" in text
    assert "(2,000 rows)" in text
    assert len(re.findall(r"View\s+Edit", text)) == 50


def test_search_filter_sort_and_page_as_plain_get_forms(served: str, session: Session) -> None:
    text = w3m_dump(
        f"{served}/admin/staff/list?" + urlencode({"search": "SMITH", "sort": "-last_name"}),
        session,
    )
    assert "Staff" in text
    assert "Page 1" in text
    second = w3m_dump(f"{served}/admin/immunizations/list?page=2", session)
    assert "Page 2 of 40" in second


def test_create_edit_and_delete_by_form_posts(
    served: str, session: Session, tmp_path: Path
) -> None:
    code = ("W" + uuid.uuid4().hex.upper())[:10]
    form = w3m_dump(f"{served}/admin/departments/create", session)
    assert "Dept code" in form or "Department code" in form or "Code" in form
    body = tmp_path / "create.txt"
    body.write_text(
        urlencode(
            {
                "dept_code": code,
                "dept_name": "Text Mode Dept",
                "created_date": "2026-02-01",
                "save": "Save",
                "csrf_token": session.csrf,
            }
        )
    )
    w3m_dump(f"{served}/admin/departments/create", session, body)
    listed = session.client.get("/admin/departments/list", params={"search": code}).text
    assert "Text Mode Dept" in listed
    key = re.search(r"/admin/departments/details/(\d+)", listed.split("<tbody>")[1]).group(1)
    confirm = w3m_dump(f"{served}/admin/departments/delete?pks={key}", session)
    assert "Yes, delete" in confirm and "This cannot be undone" in confirm
    body.write_text(urlencode({"pks": key, "csrf_token": session.csrf}))
    w3m_dump(f"{served}/admin/departments/delete", session, body)
    assert session.client.get(f"/admin/departments/details/{key}").status_code == 404


def test_export_link_downloads_the_filtered_rows_in_w3m(
    served: str, session: Session, tmp_path: Path
) -> None:
    query = urlencode({"f.vaccine_code": "HEPB", "sort": "-admin_date"})
    args = [str(W3M), "-dump", "-cols", "200", "-o", "display_link_number=1"]
    url = f"{served}/admin/immunizations/list?{query}"
    page = subprocess.run(
        [*args, "-header", f"Cookie: {session.cookie}", url],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert re.search(r"Export\s+(\[\d+\])?Excel\s+(\[\d+\])?CSV", page)
    link = re.search(r"(http://\S+/admin/immunizations/export\?\S*format=xlsx)\s*$", page, re.M)
    assert link and "f.vaccine_code=HEPB" in link.group(1) and "sort=-admin_date" in link.group(1)
    download = subprocess.run(
        [str(W3M), "-dump_source", "-header", f"Cookie: {session.cookie}", link.group(1)],
        capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "export.xlsx").write_bytes(download)
    import openpyxl

    rows = list(openpyxl.load_workbook(tmp_path / "export.xlsx").worksheets[0].values)
    header, data = rows[0], rows[1:]
    codes = {row[header.index("Vaccine (key)")] for row in data}
    dates = [row[header.index("Given on")] for row in data]
    assert codes == {"HEPB"} and len(data) > 10 and dates == sorted(dates, reverse=True)


def test_grid_edit_form_reads_and_saves_in_w3m(
    served: str, session: Session, tmp_path: Path
) -> None:
    grid = f"{served}/admin/immunizations/grid?sort=imm_id&page_size=25"
    text = w3m_dump(grid, session)
    assert "Edit Immunizations (2,000 rows)" in text and "Save changes" in text
    first = next(line for line in text.splitlines() if re.match(r"\[ \]\s+View\s+1\s", line))
    assert re.search(r"\[\d{4}-\d\d-\d\d\s*\]", first)  # a date input, filled in
    assert "[*]" in first or "[ ]" in first.split("View")[1]  # the Verified check box
    # What w3m submits: every field of the grid form as loaded, with the user's typing.
    html = session.client.get(grid).text
    fields = grid_fields(html).fields
    lot = "W3M" + uuid.uuid4().hex[:6].upper()
    body = tmp_path / "grid.txt"
    body.write_text(urlencode(submit(fields, {"r0-lot_number": lot, "action": "save"})))
    w3m_dump(grid, session, body)
    assert_saved_by_grid(session, 1, lot)


def assert_saved_by_grid(session: Session, imm_id: int, lot: str) -> None:
    """The row shows the new lot number, and the audit log has it from the grid."""
    details = session.client.get(f"/admin/immunizations/details/{imm_id}").text
    assert lot in details
    audit = session.client.get(
        "/admin/audit/export.csv", params={"table": "immunizations", "key": imm_id}
    )
    changes = list(csv.DictReader(io.StringIO(audit.text)))
    assert {"source": "grid", "column": "lot_number", "after": lot}.items() <= changes[-1].items()
