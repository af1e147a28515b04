"""Imports end to end through the service the pages and the CLI share, on real workbooks and
the real database: preview, commit, re-import, per-row problems, access, audit, jobs."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from datadesk.app import Runtime
from datadesk.auth.actor import Actor
from datadesk.config.schema import ImportProfile
from datadesk.errors import AccessDenied
from datadesk.importers.jobs import ERRORS
from tests.admin.conftest import CLERK_DEPARTMENT

STAFF_PROFILE = {
    "table": "staff",
    "mode": "upsert",
    "key": ["employee_no"],
    "columns": {
        "employee_no": {"from": ["Emp No", "Employee number"], "zero_pad": 6},
        "last_name": {"from": "Surname"},
        "first_name": {"from": "Given name"},
        "dept_id": {"from": "Dept", "lookup": {"table": "departments", "column": "dept_code"}},
        "category_code": {"from": "Category"},
        "hire_date": {"from": "Start date"},
        "phone_ext": {"from": "Ext", "optional": True},
        "active": {"from": "Active?"},
    },
}
HEADINGS = ["Emp No", "Surname", "Given name", "Dept", "Category", "Start date", "Ext", "Active?"]


def staff_rows(runtime: Runtime, count: int, where: str = "") -> list[dict[str, Any]]:
    """Existing staff with their department codes, as a sheet would hold them."""
    sql = (
        "SELECT s.employee_no, s.last_name, s.first_name, d.dept_code, s.category_code, "
        "s.hire_date, s.phone_ext, s.active, s.dept_id FROM staff s "
        f"JOIN departments d ON d.dept_id = s.dept_id {where} ORDER BY s.staff_id"
    )
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).fetchmany(count)
        return [{k.lower(): v for k, v in r._mapping.items()} for r in rows]


def sheet_row(staff: dict[str, Any]) -> list[Any]:
    hired = staff["hire_date"]
    if isinstance(hired, str):
        hired = dt.date.fromisoformat(hired[:10])
    return [
        staff["employee_no"],
        staff["last_name"],
        staff["first_name"],
        staff["dept_code"],
        staff["category_code"],
        hired.strftime("%d.%m.%Y"),  # text dates, as the legacy sheets have them
        staff["phone_ext"],
        "x" if staff["active"] else None,
    ]


def workbook(rows: list[list[Any]], *, title: bool = True) -> bytes:
    """An .xlsx with a merged title block above the headings, like the HR sheets."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Staff"
    if title:
        sheet.append(["Medical University - Staff register"])
        sheet.merge_cells("A1:H1")
        sheet.append([])
    sheet.append(HEADINGS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(
    runtime: Runtime,
    content: bytes,
    *,
    commit: bool,
    actor: Actor | None = None,
    profile: dict[str, Any] | None = None,
    name: str = "register.xlsx",
) -> Any:
    actor = actor or Actor("manager", frozenset({"data_manager"}))
    service = runtime.imports
    job_id = service.start(
        actor=actor,
        profile=ImportProfile.model_validate(profile or STAFF_PROFILE),
        profile_name="test",
        file_name=name,
        content=content,
        channel="web",
    )
    return service.run(job_id, actor, commit=commit, address="127.0.0.1")


def count(runtime: Runtime, sql: str, **params: Any) -> Any:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def audit_entries(runtime: Runtime, job_id: int) -> list[dict[str, Any]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM datadesk_audit WHERE job_id = :j ORDER BY id"), {"j": job_id}
        )
        return [dict(r._mapping) for r in rows]


def test_preview_changes_nothing_and_commit_writes_every_row(runtime: Runtime) -> None:
    existing = staff_rows(runtime, 3)
    changed = sheet_row(existing[1])
    changed[1] = "Renamed  "  # trailing spaces are trimmed
    new = ["123", "Newman", "Nora", existing[0]["dept_code"], "ADM", "21/09/2015", None, "Y"]
    content = workbook([sheet_row(existing[0]), changed, [], new, ["Total", 3]])
    staff_before = count(runtime, "SELECT COUNT(*) FROM staff")

    job, report = run(runtime, content, commit=False)
    assert job.status == "previewed", job.message
    assert (job.rows_read, job.inserted, job.updated, job.unchanged, job.error_rows) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert report.mapping["employee_no"] == "Emp No"
    assert any("blank" in n for n in report.notices) and any("Total" in n for n in report.notices)
    assert count(runtime, "SELECT COUNT(*) FROM staff") == staff_before
    assert not audit_entries(runtime, job.id)
    assert job.can_commit

    job, report = runtime.imports.run(
        job.id, Actor("manager", frozenset({"data_manager"})), commit=True
    )
    assert job.status == "committed" and (job.inserted, job.updated) == (1, 1)
    assert count(runtime, "SELECT COUNT(*) FROM staff") == staff_before + 1
    added = count(runtime, "SELECT last_name FROM staff WHERE employee_no = '000123'")
    assert added == "Newman"  # zero-padded code, lookup of the department
    assert (
        count(
            runtime,
            "SELECT last_name FROM staff WHERE employee_no = :n",
            n=existing[1]["employee_no"],
        )
        == "Renamed"
    )
    entries = audit_entries(runtime, job.id)
    assert [(e["action"], e["source"], e["username"]) for e in entries] == [
        ("create", "import", "manager"),
        ("update", "import", "manager"),
    ] or sorted(e["action"] for e in entries) == ["create", "update"]
    update = next(e for e in entries if e["action"] == "update")
    assert json.loads(update["changes"]) == {"last_name": [existing[1]["last_name"], "Renamed"]}


def test_the_same_file_twice_changes_nothing_the_second_time(runtime: Runtime) -> None:
    existing = staff_rows(runtime, 2)
    rows = [sheet_row(s) for s in existing]
    rows[0][2] = "Changed"
    content = workbook(
        [*rows, ["555", "Second", "Sam", existing[0]["dept_code"], "ADM", "01.02.2020", None, None]]
    )
    first, _ = run(runtime, content, commit=True)
    assert first.status == "committed" and (first.inserted, first.updated) == (1, 1)
    audit_count = count(runtime, "SELECT COUNT(*) FROM datadesk_audit")
    second, _ = run(runtime, content, commit=True)
    assert second.status == "committed"
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert count(runtime, "SELECT COUNT(*) FROM datadesk_audit") == audit_count


def test_every_problem_is_reported_per_cell_and_nothing_is_written(runtime: Runtime) -> None:
    existing = staff_rows(runtime, 4)
    good = sheet_row(existing[0])
    good[1] = "WouldChange"
    bad_date = sheet_row(existing[1])
    bad_date[5] = "31.02.2013"
    bad_dept = sheet_row(existing[2])
    bad_dept[3] = "NOPE"
    too_long = sheet_row(existing[3])
    too_long[1] = "X" * 45
    duplicate = sheet_row(existing[0])
    missing = ["777", None, "Nameless", existing[0]["dept_code"], "ADM", "01.01.2020", None, "Y"]
    content = workbook([good, bad_date, bad_dept, too_long, duplicate, missing])

    job, report = run(runtime, content, commit=True)
    assert job.status == "failed" and "nothing was imported" in job.message
    by_row = {}
    for problem in report.problems:
        by_row.setdefault(problem.row, []).append(problem)
    # Headings are in row 3 (below the merged title and a blank row): data starts in row 4.
    assert set(by_row) == {5, 6, 7, 8, 9}
    assert by_row[5][0].column == "F" and "31.02.2013" in by_row[5][0].message
    assert by_row[6][0].column == "D" and "'NOPE' was not found" in by_row[6][0].message
    assert by_row[7][0].column == "B" and "30" in by_row[7][0].message
    assert by_row[8][0].column is None and "row 4" in by_row[8][0].message
    assert "required" in by_row[9][0].message and "Last name" in by_row[9][0].message
    assert count(runtime, "SELECT COUNT(*) FROM staff WHERE last_name = 'WouldChange'") == 0
    assert not audit_entries(runtime, job.id)

    errors = runtime.imports.jobs.file(job.id, ERRORS)
    assert errors is not None
    book = openpyxl.load_workbook(io.BytesIO(errors))
    assert "31.02.2013" in book["Staff"]["F5"].comment.text
    listed = [row for row in book["Errors"].iter_rows(min_row=2, values_only=True)]
    assert len(listed) == len(report.problems)


def test_database_refusals_are_found_row_by_row(runtime: Runtime) -> None:
    existing = staff_rows(runtime, 2)
    taken_email = count(
        runtime, "SELECT email FROM staff WHERE email IS NOT NULL ORDER BY staff_id"
    )
    profile = json.loads(json.dumps(STAFF_PROFILE))
    profile["columns"]["email"] = {"from": "E-mail"}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*HEADINGS, "E-mail"])
    sheet.append([*sheet_row(existing[0]), None])
    sheet.append(
        [
            "888",
            "Clash",
            "Carl",
            existing[0]["dept_code"],
            "ADM",
            "01.01.2021",
            None,
            "Y",
            taken_email,
        ]
    )
    sheet.append(
        ["889", "Fine", "Fay", existing[0]["dept_code"], "ADM", "01.01.2021", None, "Y", None]
    )
    out = io.BytesIO()
    book.save(out)
    job, report = run(runtime, out.getvalue(), commit=True, profile=profile)
    assert job.status == "failed"
    assert [(p.row, p.column) for p in report.problems] == [(3, None)]
    assert (
        "already exists" in report.problems[0].message
        or "unique" in report.problems[0].message.lower()
    )
    assert (
        count(runtime, "SELECT COUNT(*) FROM staff WHERE employee_no IN ('000888', '000889')") == 0
    )


def test_a_database_error_mid_commit_leaves_the_database_as_before(runtime: Runtime) -> None:
    existing = staff_rows(runtime, 1)
    rows = [
        [f"Z{i:05d}", f"Bulk{i}", "B", existing[0]["dept_code"], "ADM", "01.01.2021", None, "Y"]
        for i in range(1200)
    ]
    with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON staff "
                "WHEN NEW.last_name = 'Bulk1100' "
                "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                "IF NEW.last_name = 'Bulk1100' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON staff "
                "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            )
    before = count(runtime, "SELECT COUNT(*) FROM staff")
    job, report = run(runtime, workbook(rows, title=False), commit=True)
    assert job.status == "failed"
    assert [p.row for p in report.problems] == [2 + 1100]
    assert "refused by trigger" in report.problems[0].message
    assert count(runtime, "SELECT COUNT(*) FROM staff") == before
    assert job.inserted == 1199  # counted in the run, rolled back with it


IMMUNIZATION_PROFILE = {
    "table": "immunizations",
    "mode": "insert",
    "columns": {
        "staff_id": {"from": "Employee", "lookup": {"table": "staff", "column": "employee_no"}},
        "vaccine_code": {"from": "Vaccine", "case": "upper"},
        "dose_no": {"from": "Dose"},
        "admin_date": {"from": "Given on"},
        "lot_number": {"from": "Lot"},
        "verified": {"from": "Verified"},
    },
}


def immunization_book(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Employee", "Vaccine", "Dose", "Given on", "Lot", "Verified"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_importers_row_filter_and_columns_apply(runtime: Runtime) -> None:
    clerk = Actor("clerk", frozenset({"clerk"}), {"department_id": CLERK_DEPARTMENT})
    own = staff_rows(runtime, 1, f"WHERE s.dept_id = {int(CLERK_DEPARTMENT)}")[0]
    other = staff_rows(runtime, 1, f"WHERE s.dept_id <> {int(CLERK_DEPARTMENT)}")[0]
    vaccine = count(runtime, "SELECT vaccine_code FROM vaccines ORDER BY vaccine_code")
    content = immunization_book(
        [
            [own["employee_no"], vaccine, 1, dt.date(2016, 1, 4), "A1", "x"],
            [other["employee_no"], vaccine, 1, dt.date(2016, 1, 4), "A2", "x"],
        ]
    )
    before = count(runtime, "SELECT COUNT(*) FROM immunizations")
    job, report = run(runtime, content, commit=True, actor=clerk, profile=IMMUNIZATION_PROFILE)
    assert [p.row for p in report.problems] == [3]
    assert "outside the rows you may change" in report.problems[0].message
    assert job.status == "failed" and count(runtime, "SELECT COUNT(*) FROM immunizations") == before
    job, report = run(
        runtime,
        immunization_book([[own["employee_no"], vaccine, 1, dt.date(2016, 1, 4), "A1", "x"]]),
        commit=True,
        actor=clerk,
        profile=IMMUNIZATION_PROFILE,
        name="own.xlsx",
    )
    assert job.status == "committed", job.message
    # The clerk may not import staff at all (no import action there), whatever the columns.
    with pytest.raises(AccessDenied):
        run(runtime, workbook([sheet_row(own)]), commit=False, actor=clerk)


def test_roles_without_import_are_refused(runtime: Runtime) -> None:
    official = Actor("official", frozenset({"official"}))
    with pytest.raises(AccessDenied):
        run(runtime, workbook([]), commit=False, actor=official)


def test_missing_headings_stop_the_import_with_the_headings_found(runtime: Runtime) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Emp No", "Surname"])
    book.active.append(["000123", "Only"])
    out = io.BytesIO()
    book.save(out)
    job, _ = run(runtime, out.getvalue(), commit=False)
    assert job.status in {"previewed", "failed"}
    assert "missing" in job.message and "'Given name'" in job.message and "'Surname'" in job.message


def test_generated_keys_are_audited_and_keyless_files_are_refused_twice(runtime: Runtime) -> None:
    staff = staff_rows(runtime, 2)
    profile = IMMUNIZATION_PROFILE
    vaccine = count(runtime, "SELECT vaccine_code FROM vaccines ORDER BY vaccine_code")
    book = openpyxl.Workbook()
    book.active.append(["Employee", "Vaccine", "Dose", "Given on", "Lot", "Verified"])
    book.active.append(
        [staff[0]["employee_no"], vaccine.lower(), 1, dt.date(2015, 3, 2), "L1 ", "x"]
    )
    book.active.append([staff[1]["employee_no"], vaccine, 2.0, 42000, "L2", None])
    out = io.BytesIO()
    book.save(out)
    before = count(runtime, "SELECT MAX(imm_id) FROM immunizations")
    job, report = run(runtime, out.getvalue(), commit=True, profile=profile, name="imm.xlsx")
    assert job.status == "committed", (job.message, report and report.problems)
    new_ids = [
        r[0]
        for r in runtime.engine.connect().execute(
            sa.text("SELECT imm_id FROM immunizations WHERE imm_id > :m ORDER BY imm_id"),
            {"m": before},
        )
    ]
    assert len(new_ids) == 2
    keys = sorted(int(e["row_key"]) for e in audit_entries(runtime, job.id))
    assert keys == new_ids
    assert (
        count(runtime, "SELECT verified FROM immunizations WHERE imm_id = :i", i=new_ids[0]) == "Y"
    )
    again, _ = run(runtime, out.getvalue(), commit=True, profile=profile, name="imm.xlsx")
    assert again.status == "failed" and f"job {job.id}" in again.message
    assert count(runtime, "SELECT COUNT(*) FROM immunizations WHERE imm_id > :m", m=before) == 2


def test_jobs_record_who_what_and_how_it_went(runtime: Runtime) -> None:
    content = workbook([sheet_row(staff_rows(runtime, 1)[0])])
    job, _ = run(runtime, content, commit=True)
    stored = runtime.imports.jobs.get(job.id)
    assert stored.username == "manager" and stored.channel == "web"
    assert stored.file_name == "register.xlsx" and len(stored.file_sha256) == 64
    assert stored.file_format == "xlsx" and stored.status == "committed"
    assert stored.duration_ms is not None and stored.finished_at is not None
    assert stored.profile.table == "staff"


def test_upload_limits_and_unreadable_files(runtime: Runtime, tmp_path: Path) -> None:
    from datadesk.errors import UnreadableFile

    actor = Actor("manager", frozenset({"data_manager"}))
    profile = ImportProfile.model_validate(STAFF_PROFILE)
    with pytest.raises(UnreadableFile):
        runtime.imports.start(
            actor=actor,
            profile=profile,
            profile_name=None,
            file_name="notes.pdf",
            content=b"%PDF-1.4 not a workbook",
            channel="web",
        )
