"""Reports in text mode: the list and the form read in w3m (no JavaScript), a wrong value comes
back next to its field, and the form's post answers with the workbook over real HTTP."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlencode

import openpyxl
import pytest

from tests.e2e.conftest import Session
from tests.e2e.test_text_browser import w3m_dump

pytestmark = pytest.mark.e2e


def test_report_form_in_w3m_and_the_download(served: str, session: Session, tmp_path: Path) -> None:
    listing = w3m_dump(f"{served}/admin/reports", session)
    assert "Headcount by department and staff category" in listing
    form = w3m_dump(f"{served}/admin/reports/certifications_expiring", session)
    assert "Expiring within (days) (required)" in form
    assert "[60" in form  # the default, in a text field
    assert "Training" in form and "(all)" in form
    assert "Download the workbook (.xlsx)" in form

    body = tmp_path / "post.txt"
    body.write_text(urlencode({"days": "soon", "training": "", "csrf_token": session.csrf}))
    answer = w3m_dump(f"{served}/admin/reports/certifications_expiring", session, body)
    lines = answer.splitlines()
    field = next(i for i, line in enumerate(lines) if "Expiring within (days)" in line)
    assert "'soon' is not a whole number" in " ".join(lines[field : field + 4])

    response = session.client.post(
        "/admin/reports/certifications_expiring",
        data={"days": "730", "training": "", "department": "", "csrf_token": session.csrf},
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["By training", "Certifications"]
    assert book["Certifications"]["A1"].value == "Certifications expiring soon"
