"""The Import pages over real HTTP: upload, map, preview, commit, error workbook, limits."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl

from tests.imports.conftest import scalar
from tests.imports.test_import_service import HEADINGS, sheet_row, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def existing_staff(url: str, count: int) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT s.employee_no, s.last_name, s.first_name, d.dept_code, "
                    "s.category_code, s.hire_date, s.phone_ext, s.active FROM staff s "
                    "JOIN departments d ON d.dept_id = s.dept_id ORDER BY s.staff_id"
                )
            ).fetchmany(count)
            return [{k.lower(): v for k, v in r._mapping.items()} for r in rows]
    finally:
        engine.dispose()


def upload(client: Any, table: str, content: bytes, profile: str, name: str = "sheet.xlsx") -> Any:
    return client.post(
        f"/admin/{table}/import",
        data={"profile": profile},
        files={"file": (name, content, XLSX)},
    )


def test_grid_links_to_import_only_for_roles_that_may(web: Any) -> None:
    manager = web("manager")
    assert 'href="/admin/staff/import"' in manager.get("/admin/staff/list").text
    official = web("official")
    assert "/admin/staff/import" not in official.get("/admin/staff/list").text
    assert official.get("/admin/staff/import").status_code == 403
    clerk = web("clerk")
    assert clerk.get("/admin/staff/import").status_code == 403
    assert clerk.get("/admin/immunizations/import").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(settings: Any) -> None:
    from starlette.testclient import TestClient

    from datadesk.app import create_app

    app = create_app(settings)
    try:
        with TestClient(app, follow_redirects=False) as client:
            for path in ("/admin/staff/import", "/admin/imports", "/admin/imports/1"):
                response = client.get(path)
                assert response.status_code in (302, 303), path
                assert "/admin/login" in response.headers["location"]
    finally:
        app.state.runtime.engine.dispose()


def test_upload_preview_commit_with_a_configured_profile(web: Any, import_db_url: str) -> None:
    staff = existing_staff(import_db_url, 2)
    rows = [sheet_row(s) for s in staff]
    rows[0][2] = "Webbed"
    client = web("manager")
    page = client.get("/admin/staff/import")
    assert "staff_register" in page.text or "Staff register" in page.text
    response = upload(client, "staff", workbook(rows), "staff_register")
    assert response.status_code == 303, response.text
    job_url = response.headers["location"]
    job_page = client.get(job_url)
    assert job_page.status_code == 200
    assert "nothing has been written yet" in job_page.text
    assert scalar(import_db_url, "SELECT COUNT(*) FROM staff WHERE first_name = 'Webbed'") == 0
    commit = client.post(job_url + "/commit", data={})
    assert commit.status_code == 303
    done = client.get(job_url)
    assert "Imported:" in done.text
    assert scalar(import_db_url, "SELECT COUNT(*) FROM staff WHERE first_name = 'Webbed'") == 1
    again = client.post(job_url + "/commit", data={})
    assert again.status_code == 400 and "committed already" in again.text


def test_problems_come_back_in_the_users_workbook(web: Any, import_db_url: str) -> None:
    staff = existing_staff(import_db_url, 1)
    row = sheet_row(staff[0])
    row[5] = "not a date"
    client = web("manager")
    response = upload(client, "staff", workbook([row]), "staff_register", name="hr register.xlsx")
    job_url = response.headers["location"]
    page = client.get(job_url).text
    assert "not a date" in page and "/errors" in page
    assert "Commit" not in page
    download = client.get(job_url + "/errors")
    assert download.status_code == 200
    assert "hr%20register-errors.xlsx" in download.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book["Staff"]["F4"].comment is not None
    assert book["Errors"].max_row == 2
    # Another user cannot see the job or its file.
    other = web("admin")
    assert other.get(job_url).status_code == 200  # admins see every job
    clerk = web("clerk")
    assert clerk.get(job_url).status_code == 404
    assert clerk.get(job_url + "/errors").status_code == 404


def test_map_columns_on_the_page_and_save_the_mapping(web: Any, import_db_url: str) -> None:
    staff = existing_staff(import_db_url, 1)
    row = sheet_row(staff[0])
    client = web("manager")
    book = openpyxl.Workbook()
    book.active.append(["Employee no", "Last name", "First name", "Phone ext"])
    book.active.append([row[0], row[1], "Mapped", "4242"])
    out = io.BytesIO()
    book.save(out)
    response = upload(client, "staff", out.getvalue(), "__map__", name="adhoc.xlsx")
    assert response.status_code == 303
    map_url = response.headers["location"]
    assert map_url.endswith("/map")
    page = client.get(map_url).text
    # Suggested from the headings: Employee no -> employee_no selected.
    assert re.search(r'name="map\.0".*?<option value="employee_no" selected', page, re.S)
    form = {
        "map.0": "employee_no",
        "map.1": "last_name",
        "map.2": "first_name",
        "map.3": "phone_ext",
        "mode": "upsert",
        "key": "employee_no",
        "save_as": "quick staff fix",
    }
    response = client.post(map_url, data=form)
    assert response.status_code == 303, response.text
    job_url = response.headers["location"]
    assert "1 to update" in client.get(job_url).text or ">1<" in client.get(job_url).text
    client.post(job_url + "/commit", data={})
    assert (
        scalar(import_db_url, "SELECT phone_ext FROM staff WHERE employee_no = :n", n=row[0])
        == "4242"
    )
    # The saved mapping is offered next time.
    assert "quick staff fix" in client.get("/admin/staff/import").text
    # Upsert without a key is explained, not a crash.
    response = upload(client, "staff", out.getvalue(), "__map__", name="adhoc.xlsx")
    bad = client.post(response.headers["location"], data={**form, "key": "", "save_as": ""})
    assert bad.status_code == 400 and "key" in bad.text


def test_oversized_uploads_get_413_and_wrong_formats_a_clear_400(web: Any) -> None:
    client = web("manager")
    just_over = b"x" * (50 * 1024 * 1024 + 300 * 1024)
    response = upload(client, "staff", just_over, "staff_register", name="huge.csv")
    assert response.status_code == 413
    assert "the limit is 50 MB" in response.text
    # Far over: refused from the Content-Length alone, before the body is read.
    response = upload(client, "staff", b"x" * (60 * 1024 * 1024), "staff_register", name="x.csv")
    assert response.status_code == 413 and "the limit is" in response.text
    response = upload(client, "staff", b"%PDF-1.4\n...", "staff_register", name="report.pdf")
    assert response.status_code == 400
    assert ".xlsx" in response.text


def test_a_big_upload_passes_the_csrf_check_without_being_buffered(
    web: Any, import_db_url: str
) -> None:
    import random

    staff = existing_staff(import_db_url, 1)
    row = [str(v) if v is not None else "" for v in sheet_row(staff[0])]
    noise = random.Random(7)
    lines = [",".join([*HEADINGS, "Notes"]), ",".join([*row, "x"])]
    for _ in range(40_000):
        lines.append(",,,,,,,," + "".join(noise.choice("abcdefgh") for _ in range(120)))
    content = "\n".join(lines).encode()
    assert len(content) > 4 * 1024 * 1024  # twice the largest plain form the gate buffers
    response = upload(web("manager"), "staff", content, "staff_register", name="big.csv")
    assert response.status_code == 303, response.text[:300]


def test_posts_without_csrf_token_are_refused(web: Any) -> None:
    from starlette.testclient import TestClient

    client = web("manager")
    response = TestClient.post(
        client,
        "/admin/staff/import",
        data={"profile": "staff_register"},
        files={"file": ("a.xlsx", workbook([]), XLSX)},
    )
    assert response.status_code == 403


__all__ = ["HEADINGS"]
