"""The Import pages in real browsers against a real ``datadesk serve``: the whole no-JavaScript
flow in w3m (upload, choose a profile, preview, commit), and the JavaScript progress shown in
Chromium while a large file is read."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from datadesk.demo import workbooks
from tests.e2e.conftest import Session
from tests.e2e.test_browser import browser, browser_sign_in
from tests.e2e.test_text_browser import w3m_dump

pytestmark = pytest.mark.e2e

STAFF_REGISTER = Path(workbooks.__file__).parent / "workbooks" / "staff_register.xlsx"
__all__ = ["browser"]


def multipart(
    fields: dict[str, str], file_field: str, file: Path, content_type: str
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it for a file upload form."""
    boundary = "----w3m" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{file.name}"\r\nContent-Type: {content_type}\r\n\r\n'
    )
    body = "".join(parts).encode() + head.encode() + file.read_bytes()
    return body + f"\r\n--{boundary}--\r\n".encode(), boundary


def w3m_links(url: str, session: Session) -> list[str]:
    """The link targets of a page, as w3m lists them under its dump."""
    import subprocess

    from tests.e2e.test_text_browser import W3M

    result = subprocess.run(
        [
            str(W3M),
            "-dump",
            "-o",
            "display_link_number=1",
            "-header",
            f"Cookie: {session.cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return re.findall(r"^\s*\[\d+\]\s+(\S+)$", result.stdout, re.MULTILINE)


def test_upload_preview_and_commit_without_javascript_in_w3m(
    served: str, session: Session, tmp_path: Path
) -> None:
    page = w3m_dump(f"{served}/admin/staff/import", session)
    assert "Workbook (.xlsx, .xlsm, .xls, .ods or .csv" in page
    assert "Staff register (HR)" in page and "Map the columns myself" in page
    assert "Upload and preview" in page

    body, boundary = multipart(
        {"csrf_token": session.csrf, "profile": "staff_register", "progress_token": ""},
        "file",
        STAFF_REGISTER,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    upload = tmp_path / "upload.bin"
    upload.write_bytes(body)
    w3m_dump(
        f"{served}/admin/staff/import",
        session,
        upload,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    jobs = [u for u in w3m_links(f"{served}/admin/imports", session) if "/imports/" in u]
    job_url = next(u for u in jobs if re.search(r"/admin/imports/\d+$", u))
    expected = workbooks.EXPECTED["staff_register.xlsx"]

    preview = w3m_dump(job_url, session)
    assert "Preview: nothing has been written yet" in preview
    assert f"{expected['inserted']} to add, {expected['updated']} to update" in preview
    writes = expected["inserted"] + expected["updated"]
    assert f"Commit: write {writes} rows" in preview
    assert "sheet 'Staff', headings in row" in preview and "staff_register" in preview

    commit = tmp_path / "commit.txt"
    commit.write_text(urlencode({"csrf_token": session.csrf, "progress_token": ""}))
    w3m_dump(f"{job_url}/commit", session, commit)
    done = w3m_dump(job_url, session)
    assert f"Imported: {expected['inserted']} rows added, {expected['updated']} updated" in done
    assert "committed" in done
    listed = w3m_dump(f"{served}/admin/imports", session)
    assert "staff_register.xlsx" in listed and "committed" in listed


@pytest.mark.browser
def test_javascript_shows_the_rows_read_while_a_large_file_is_previewed(
    browser: object, served: str, tmp_path: Path
) -> None:
    rows = 60_000
    path = tmp_path / "sites.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("Site code;Site name;Type;City;Capacity\n")
        for number in range(rows):
            handle.write(
                f"P{number:06d};Practice {number};CLINIC;Town {number % 50};{number % 90}\n"
            )
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        browser_sign_in(page, served, "/admin/placement_sites/import")
        page.set_input_files("input[name=file]", str(path))
        page.check("input[name=profile][value=placement_sites_csv]")
        page.get_by_role("button", name="Upload and preview").click()
        status = page.locator(".dd-progress")
        # The form was sent in the background: the page stays and reports the rows read.
        status.filter(has_text=re.compile(r"Working… [1-9][\d,]* rows read")).wait_for(
            timeout=60_000
        )
        shown = status.inner_text()
        read = int(re.search(r"([\d,]+) rows read", shown).group(1).replace(",", ""))  # type: ignore[union-attr]
        assert 0 < read <= rows
        page.wait_for_url(re.compile(r".*/admin/imports/\d+$"), timeout=120_000)
        assert f"{rows} read: {rows} to add" in page.locator("dl.dd-facts").inner_text()
    finally:
        context.close()
