"""Text mode: every grid page reads and works in w3m, which runs no JavaScript."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

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
