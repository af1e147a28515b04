"""The Reports pages through the real app, signed in through the real form, without JavaScript:
the list, the form with its defaults, errors next to their fields, the download, refusals."""

from __future__ import annotations

import html
import io
import logging
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.admin.report_books import demo_config_with, read_book
from tests.admin.test_exports import signed_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEMO_REPORTS = [
    "Immunization compliance by department",
    "Certifications expiring soon",
    "Headcount by department and staff category",
    "Clinical placements per site and term",
]


def field_error(page: str, name: str) -> str:
    """The message shown right under a field (empty when there is none)."""
    field = page.index(f'name="{name}')
    found = re.search(rf'<div id="p-{re.escape(name)}-error"[^>]*>([^<]+)<', page)
    if found is None:
        return ""
    assert field < found.start()
    assert 'class="mb-3"' not in page[field : found.start()]  # no other field in between
    return html.unescape(found.group(1))


def test_menu_and_list_show_the_reports_the_user_may_run(as_user: Any) -> None:
    official = as_user("official")
    page = official.get("/admin/reports")
    assert page.status_code == 200
    titles = re.findall(r'<dt><a href="/admin/reports/\w+">([^<]+)</a></dt>', page.text)
    assert [html.unescape(t) for t in titles] == DEMO_REPORTS
    assert 'href="/admin/reports">Reports</a>' in official.get("/admin/").text
    auditor = as_user("auditor")
    assert 'href="/admin/reports"' not in auditor.get("/admin/").text
    assert "There are no reports you may run." in auditor.get("/admin/reports").text


def test_form_shows_the_defaults_and_choices_without_javascript(as_user: Any) -> None:
    page = as_user("official").get("/admin/reports/immunization_compliance")
    assert page.status_code == 200
    form = page.text.split('<form method="post" action="/admin/reports/immunization_compliance">')[
        1
    ]
    form = form.split("</form>")[0]
    assert 'name="csrf_token"' in form and "<script" not in form
    # Only mandatory vaccines are offered; the default is chosen.
    select = form.split('name="vaccine"')[1].split("</select>")[0]
    vaccines = re.findall(r'<option value="(\w+)"( selected)?>', select)
    assert sorted(code for code, _ in vaccines) == ["FLU", "HEPB", "MMR", "TDAP", "VAR"]
    assert [code for code, chosen in vaccines if chosen] == ["FLU"]
    assert 'name="since" value="2025-01-01"' in form
    assert '<option value="">(all)</option>' in form.split('name="department"')[1]


def test_wrong_values_are_shown_next_to_their_fields(as_user: Any) -> None:
    official = as_user("official")
    response = official.post(
        "/admin/reports/certifications_expiring",
        data={"days": "ninety", "training": "NOPE", "department": "13"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert (
        field_error(response.text, "days")
        == "Expiring within (days): 'ninety' is not a whole number"
    )
    assert field_error(response.text, "training") == "Training: 'NOPE' is not one of the choices"
    assert field_error(response.text, "department") == ""
    # The values typed are kept, so they can be corrected.
    assert 'name="days" value="ninety"' in response.text
    response = official.post(
        "/admin/reports/immunization_compliance",
        data={"vaccine": "COVID19", "since": "", "department": ""},
    )
    assert response.status_code == 400
    assert field_error(response.text, "vaccine") == "Vaccine: 'COVID19' is not one of the choices"
    assert field_error(response.text, "since") == "Doses counted from: required"
    response = official.post(
        "/admin/reports/placements_by_site",
        data={"period.from": "2025-06-01", "period.to": "2025-01-01", "site_type": "", "site": ""},
    )
    assert response.status_code == 400
    assert "the first day (2025-06-01) is after the last (2025-01-01)" in html.unescape(
        response.text
    )


def test_the_form_downloads_the_workbook(
    as_user: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="datadesk.reports")
    response = as_user("official").post(
        "/admin/reports/headcount", data={"hired_by": "2020-01-01", "department": "13"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert 'filename="headcount-' in response.headers["content-disposition"]
    path = tmp_path / "headcount.xlsx"
    path.write_bytes(response.content)
    sheets = read_book(path, {"By department": True, "By department and category": True})
    assert list(sheets) == ["By department", "By department and category", "By category"]
    first = sheets["By department"]
    assert first.preamble[:3] == [
        "Headcount by department and staff category",
        "Hired on or before: 2020-01-01",
        "Department: Emergency Medicine",
    ]
    assert first.preamble[3].startswith("Generated ") and first.preamble[3].endswith(" by official")
    assert first.header == ["Department", "Staff", "Clinical"]  # salaries hidden from officials
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["By department"]
    header_row = len(first.preamble) + 2  # the preamble, an empty row, then the header
    assert sheet.freeze_panes == f"A{header_row + 1}"
    assert sheet.auto_filter.ref.startswith(f"A{header_row}:")
    assert [c.value for c in sheet[header_row]] == first.header
    assert all(c.font.bold for c in sheet[header_row])
    assert book.properties.creator == "official"
    logged = [r.getMessage() for r in caplog.records if r.name == "datadesk.reports"]
    assert [m.rsplit(" ", 1)[0] for m in logged] == [
        "report user=official name=headcount rows=1,7,7"
    ]


def test_refusals_come_without_a_file(as_user: Any) -> None:
    auditor = as_user("auditor")
    for response in (
        auditor.get("/admin/reports/headcount"),
        auditor.post("/admin/reports/headcount", data={"hired_by": "2020-01-01"}),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "you may not run the report" in response.text
    official = as_user("official")
    missing = official.get("/admin/reports/nope")
    assert missing.status_code == 404 and "no report &#39;nope&#39;" in missing.text
    # No CSRF token: refused before anything runs.
    forged = official.post(
        "/admin/reports/headcount", data={"hired_by": "2020-01-01", "csrf_token": ""}
    )
    assert forged.status_code == 403 and forged.headers["content-type"] != XLSX


def test_too_many_rows_shows_the_form_again_and_leaves_no_file(
    app_factory: Any, tmp_path: Path
) -> None:
    temp = tmp_path / "exports"
    temp.mkdir()

    def small(document: dict[str, Any]) -> None:
        document["exports"] = {"max_rows": 10, "temp_dir": str(temp)}

    official = signed_in(app_factory, demo_config_with(tmp_path, small), "official")
    response = official.post("/admin/reports/headcount", data={"hired_by": "2020-01-01"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "would hold more than 10 rows" in response.text
    assert 'name="hired_by" value="2020-01-01"' in response.text
    assert list(temp.iterdir()) == []
    fits = official.post(
        "/admin/reports/headcount", data={"hired_by": "2020-01-01", "department": "13"}
    )
    assert fits.status_code == 200 and fits.headers["content-type"] == XLSX
    assert list(temp.iterdir()) == []  # sent, then removed
    official.__exit__(None, None, None)
