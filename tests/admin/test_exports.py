"""Grid exports through the real app: the list's rows, typed, as the user's role allows.

Exports are read back with openpyxl and the csv module and compared with the grid pages for
the same list state and with SQL written independently here.
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import logging
import re
import threading
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
import yaml
from openpyxl.worksheet.worksheet import Worksheet
from starlette.testclient import TestClient

from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import cell_texts
from tests.conftest import SERVER_URL

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# HEPB doses given since 2023 whose lot number holds an "8", by dose then newest first.
STATE = "search=8&f.vaccine_code=HEPB&f.admin_date.from=2023-01-01&sort=dose_no,-admin_date"
EXPECTED_SQL = """
SELECT IMM_ID FROM IMMUNIZATIONS
WHERE VACCINE_CODE = 'HEPB' AND ADMIN_DATE >= :since AND lower(LOT_NUMBER) LIKE '%8%'
ORDER BY DOSE_NO, ADMIN_DATE DESC, IMM_ID
"""


def read_xlsx(content: bytes) -> tuple[list[Any], list[list[Any]], Worksheet]:
    """Header values, data rows and the sheet of a one-sheet workbook."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:], sheet


def grid_rows(client: TestClient, url: str) -> list[list[str]]:
    """Every row of every page of a grid (cell texts, the row's View cell dropped)."""
    rows: list[list[str]] = []
    page = 1
    while True:
        html = client.get(f"{url}&page_size=200&page={page}").text
        body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        trs = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        rows += [[html_lib.unescape(t) for t in cell_texts(tr)[1:]] for tr in trs]
        if 'rel="next"' not in html:
            return rows
        page += 1


def expected_keys(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        since = dt.datetime(2023, 1, 1)
        keys = [r[0] for r in conn.execute(sa.text(EXPECTED_SQL), {"since": since})]
    engine.dispose()
    return keys


def test_export_link_carries_the_list_state(as_user: Any) -> None:
    official = as_user("official")
    page = official.get(f"/admin/immunizations/list?{STATE}").text
    links = re.findall(r'href="([^"]*/immunizations/export\?[^"]*)"', page)
    assert len(links) == 3
    for link in links:
        query = link.replace("&amp;", "&")
        for part in STATE.split("&"):
            name, value = part.split("=")
            assert re.search(
                rf"[?&]{re.escape(name)}={re.escape(value).replace(',', '%2C')}", query
            )
    clerk = as_user("clerk")  # lists immunizations, may not export them
    assert "/immunizations/export" not in clerk.get("/admin/immunizations/list").text


def test_xlsx_holds_the_grid_rows_typed(as_user: Any, demo_db_url: str) -> None:
    official = as_user("official")
    response = official.get(f"/admin/immunizations/export?{STATE}&format=xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    assert 'filename="immunizations.xlsx"' in response.headers["content-disposition"]
    header, rows, sheet = read_xlsx(response.content)
    assert header == [
        "No.", "Given on", "Staff member", "Staff member (key)", "Student", "Student (key)",
        "Vaccine", "Vaccine (key)", "Dose", "Lot", "Verified",
    ]  # fmt: skip
    keys = expected_keys(demo_db_url)
    assert 20 < len(keys) < 1000  # a real selection: neither nothing nor everything
    assert [r[0] for r in rows] == keys
    grid = grid_rows(official, f"/admin/immunizations/list?{STATE}")
    assert len(grid) == len(rows)
    for shown, row in zip(grid, rows, strict=True):
        number, given, staff, _, student, _, vaccine, code, dose, lot, verified = row
        assert shown == [
            str(number),
            given.date().isoformat(),
            staff or "",
            student or "",
            vaccine,
            str(dose),
            lot or "",
            "Yes" if verified else "No",
        ]
        assert code == "HEPB" and given >= dt.datetime(2023, 1, 1)
    first = 2
    assert sheet.cell(first, 1).data_type == "n" and sheet.cell(first, 1).number_format == "0"
    assert sheet.cell(first, 2).is_date and sheet.cell(first, 2).number_format == "yyyy-mm-dd"
    assert sheet.cell(first, 9).data_type == "n"
    assert sheet.cell(first, 11).data_type == "b"
    assert sheet.title == "Immunizations" and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:K{len(rows) + 1}"
    properties = openpyxl.load_workbook(io.BytesIO(response.content)).properties
    assert properties.title == "Immunizations" and properties.creator == "official"


def test_csv_holds_the_same_rows(
    as_user: Any, demo_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="datadesk.exports")
    response = as_user("official").get(f"/admin/immunizations/export?{STATE}&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert lines[0][:2] == ["No.", "Given on"]
    assert [int(line[0]) for line in lines[1:]] == expected_keys(demo_db_url)
    assert {line[10] for line in lines[1:]} <= {"true", "false"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", line[1]) for line in lines[1:])
    logged = [r.getMessage() for r in caplog.records if r.name == "datadesk.exports"]
    assert any(
        m.startswith(f"export user=official table=immunizations format=csv rows={len(lines) - 1} ")
        for m in logged
    ), logged


def scoped_config(tmp_path: Path, **exports: Any) -> Path:
    """The demo config, with clerks allowed to export their department's staff."""
    document = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    document["roles"]["clerk"]["tables"]["staff"]["actions"].append("export")
    document["exports"] = {"temp_dir": str(tmp_path / "exports"), **exports}
    (tmp_path / "exports").mkdir(exist_ok=True)
    path = tmp_path / "datadesk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def signed_in(app_factory: Any, config: Path, username: str) -> Any:
    from tests.admin.conftest import SignedInClient, sign_in

    client = SignedInClient(app_factory(config), follow_redirects=False)
    client.__enter__()
    client.csrf = sign_in(client, username)
    return client


def test_hidden_columns_and_rows_outside_the_scope_are_absent(
    app_factory: Any, demo_db_url: str, tmp_path: Path
) -> None:
    config = scoped_config(tmp_path)
    admin = signed_in(app_factory, config, "admin")
    clerk = signed_in(app_factory, config, "clerk")
    full_header, full_rows, _ = read_xlsx(
        admin.get("/admin/staff/export?format=xlsx&columns=all").content
    )
    header, rows, _ = read_xlsx(clerk.get("/admin/staff/export?format=xlsx&columns=all").content)
    assert "Salary ($)" in full_header  # the admin sees it: the check below can fail
    assert "Salary ($)" not in header and len(header) == len(full_header) - 1
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        own = [
            r[0] for r in conn.exec_driver_sql("SELECT EMPLOYEE_NO FROM STAFF WHERE DEPT_ID = 3")
        ]
        everyone = conn.exec_driver_sql("SELECT count(*) FROM STAFF").scalar()
    engine.dispose()
    assert len(full_rows) == everyone > len(own) > 0
    column = header.index("Employee no.")
    assert sorted(r[column] for r in rows) == sorted(own)
    department = header.index("Department (key)")
    assert {r[department] for r in rows} == {3}
    clerk.__exit__(None, None, None)
    admin.__exit__(None, None, None)


def test_a_role_without_export_gets_403_and_no_file(as_user: Any) -> None:
    for username in ("auditor", "clerk"):
        response = as_user(username).get("/admin/immunizations/export?format=xlsx")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "may not export" in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=nope", "cannot sort by &#39;nope&#39;"),
        ("f.nope=1", "cannot filter by &#39;nope&#39;"),
        ("f.admin_date.from=yesterday", "not a valid"),
        ("format=pdf", "export format must be xlsx or csv"),
    ],
)
def test_malformed_list_state_is_a_clear_400(as_user: Any, query: str, message: str) -> None:
    response = as_user("official").get(f"/admin/immunizations/export?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_hidden_column_cannot_be_sorted_or_filtered_through_the_export(as_user: Any) -> None:
    response = as_user("official").get("/admin/staff/export?sort=salary")
    assert response.status_code == 400 and "cannot sort by" in response.text


def test_row_cap_refuses_with_a_message_and_leaves_no_file(
    app_factory: Any, tmp_path: Path
) -> None:
    config = scoped_config(tmp_path, max_rows=100)
    client = signed_in(app_factory, config, "official")
    refused = client.get("/admin/immunizations/export?format=xlsx")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "more than 100 rows" in refused.text and "search or filters" in refused.text
    assert list((tmp_path / "exports").iterdir()) == []
    narrowed = client.get(
        "/admin/immunizations/export?format=csv&f.vaccine_code=HEPB&f.dose_no.to=1&f.admin_date.from=2025-06-01"
    )
    assert narrowed.status_code == 200, narrowed.text
    assert 1 < len(narrowed.text.splitlines()) <= 101
    assert list((tmp_path / "exports").iterdir()) == []  # sent, then removed
    client.__exit__(None, None, None)


def test_formula_injection_guard_in_both_formats(
    app_factory: Any, demo_db_url: str, tmp_path: Path
) -> None:
    payload = '=HYPERLINK("http://evil.example","x")'
    config = scoped_config(tmp_path, allow_formulas={"departments": ["location"]})
    engine = sa.create_engine(demo_db_url)
    with engine.begin() as conn:
        before = conn.exec_driver_sql(
            "SELECT DEPT_NAME, LOCATION FROM DEPARTMENTS WHERE DEPT_ID = 3"
        ).one()
        conn.execute(
            sa.text("UPDATE DEPARTMENTS SET DEPT_NAME = :v, LOCATION = :v WHERE DEPT_ID = 3"),
            {"v": payload},
        )
    try:
        client = signed_in(app_factory, config, "admin")
        query = "f.dept_code=&search=&sort=dept_id&columns=all"
        header, rows, sheet = read_xlsx(
            client.get(f"/admin/departments/export?format=xlsx&{query}").content
        )
        row = next(i for i, r in enumerate(rows, start=2) if r[header.index("Name")] == payload)
        name = sheet.cell(row, header.index("Name") + 1)
        assert name.data_type == "s" and name.value == payload and name.quotePrefix
        location = sheet.cell(row, header.index("Location") + 1)
        assert location.data_type == "f"  # the config allows formulas in this column only
        text = client.get(f"/admin/departments/export?format=csv&{query}").content
        lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"), newline="")))
        line = next(li for li in lines if payload in li)
        assert "'" + payload in line and payload in line
        client.__exit__(None, None, None)
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE DEPARTMENTS SET DEPT_NAME = :n, LOCATION = :l WHERE DEPT_ID = 3"),
                {"n": before[0], "l": before[1]},
            )
        engine.dispose()


LOCK_WAITS = (
    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'immunizations'::regclass"
)


def in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``call`` in a thread; its result lands in the returned dict under 'response'."""
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(response=call()), daemon=True)
    thread.start()
    return thread, result


@pytest.mark.skipif(not SERVER_URL, reason="needs a lock that holds readers: PostgreSQL")
def test_other_requests_are_answered_while_an_export_runs(as_user: Any, demo_db_url: str) -> None:
    client = as_user("official")  # one app, one event loop, two requests at once
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as lock:
        lock.exec_driver_sql("BEGIN")
        lock.exec_driver_sql("LOCK TABLE IMMUNIZATIONS IN ACCESS EXCLUSIVE MODE")
        export, exported = in_thread(lambda: client.get("/admin/immunizations/export?format=csv"))
        for _ in range(600):  # until the export's SELECT waits for the lock
            if lock.exec_driver_sql(LOCK_WAITS).scalar():
                break
            export.join(0.05)
        assert export.is_alive() and lock.exec_driver_sql(LOCK_WAITS).scalar() == 1
        page, shown = in_thread(lambda: client.get("/admin/departments/list"))
        page.join(60)  # answered while the export still waits
        assert shown["response"].status_code == 200 and export.is_alive()
        lock.exec_driver_sql("COMMIT")
    export.join(60)
    engine.dispose()
    assert exported["response"].status_code == 200
    assert len(exported["response"].text.splitlines()) == 3_001
