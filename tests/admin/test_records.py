"""Detail pages, create/edit forms and delete with confirmation, through real HTTP."""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient


def scalar(url: str, sql: str, **params: object) -> object:
    """One value straight from the database, bypassing the app."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def new_code(prefix: str, size: int = 8) -> str:
    """A unique code that fits a short VARCHAR."""
    return (prefix + uuid.uuid4().hex.upper())[:size]


def test_details_shows_labels_of_references(client: TestClient, demo_db_url: str) -> None:
    staff_id = scalar(demo_db_url, "SELECT MIN(STAFF_ID) FROM STAFF")
    dept_name = scalar(
        demo_db_url,
        "SELECT D.DEPT_NAME FROM STAFF S JOIN DEPARTMENTS D ON D.DEPT_ID = S.DEPT_ID "
        "WHERE S.STAFF_ID = :i",
        i=staff_id,
    )
    page = client.get(f"/admin/staff/details/{staff_id}")
    assert page.status_code == 200
    assert str(dept_name) in page.text
    assert "/admin/departments/details/" in page.text


def test_missing_and_malformed_keys_are_404_pages(client: TestClient) -> None:
    for pk in ("99999999", "not-a-number"):
        page = client.get(f"/admin/staff/details/{pk}")
        assert page.status_code == 404
        assert "no row with key" in page.text
        assert "Traceback" not in page.text
    assert client.get("/admin/no_such_table/list").status_code == 404


def test_create_department_then_it_is_listed(client: TestClient, demo_db_url: str) -> None:
    code = new_code("T", 10)
    form = client.get("/admin/departments/create")
    assert form.status_code == 200
    assert 'name="dept_code"' in form.text
    assert 'name="dept_id"' not in form.text  # generated key stays out of the form
    response = client.post(
        "/admin/departments/create",
        data={
            "dept_code": code,
            "dept_name": "Test Department",
            "location": "",
            "created_date": "2026-01-05",
            "save": "Save",
        },
    )
    assert response.status_code == 302, response.text
    assert "/admin/departments/details/" in response.headers["location"]
    assert scalar(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_CODE = :c", c=code) == 1
    # An empty text box is stored as NULL, never as ''.
    assert (
        scalar(
            demo_db_url,
            "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_CODE = :c AND LOCATION IS NULL",
            c=code,
        )
        == 1
    )
    listed = client.get("/admin/departments/list", params={"search": code})
    assert code in listed.text


def test_too_long_and_missing_values_are_form_errors(client: TestClient, demo_db_url: str) -> None:
    before = scalar(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS")
    too_long = client.post(
        "/admin/departments/create",
        data={"dept_code": "X" * 11, "dept_name": "", "created_date": "2026-01-05", "save": "Save"},
    )
    assert too_long.status_code == 400
    assert "10 characters" in too_long.text
    assert "This field is required" in too_long.text
    assert scalar(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS") == before


def test_duplicate_natural_key_is_a_clear_message(client: TestClient, demo_db_url: str) -> None:
    code = scalar(demo_db_url, "SELECT MIN(DEPT_CODE) FROM DEPARTMENTS")
    response = client.post(
        "/admin/departments/create",
        data={"dept_code": code, "dept_name": "Dup", "created_date": "2026-01-05", "save": "Save"},
    )
    assert response.status_code == 400
    assert "already exists" in response.text
    assert "Traceback" not in response.text


def test_edit_staff_and_flag_is_stored_in_legacy_form(client: TestClient, demo_db_url: str) -> None:
    staff_id = scalar(demo_db_url, "SELECT MIN(STAFF_ID) FROM STAFF WHERE ACTIVE = 1")
    form = client.get(f"/admin/staff/edit/{staff_id}")
    assert form.status_code == 200
    assert 'type="checkbox"' in form.text and 'name="active"' in form.text
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', form.text))
    selects = re.findall(r'<select[^>]*name="(\w+)"', form.text)
    data = {k: v for k, v in fields.items() if k not in {"active", "save"}}
    for name in selects:
        chosen = re.search(
            rf'<select[^>]*name="{name}".*?<option selected value="([^"]*)"', form.text, re.S
        ) or re.search(
            rf'<select[^>]*name="{name}".*?<option value="([^"]*)" selected', form.text, re.S
        )
        if chosen:
            data[name] = chosen.group(1)
    data["email"] = "edited@example.org"
    data["save"] = "Save"
    # The checkbox is left unticked: the flag becomes 0.
    response = client.post(f"/admin/staff/edit/{staff_id}", data=data)
    assert response.status_code == 302, response.text
    assert (
        scalar(demo_db_url, "SELECT EMAIL FROM STAFF WHERE STAFF_ID = :i", i=staff_id)
        == "edited@example.org"
    )
    assert scalar(demo_db_url, "SELECT ACTIVE FROM STAFF WHERE STAFF_ID = :i", i=staff_id) == 0


def test_composite_key_row_has_details_and_edit(client: TestClient, demo_db_url: str) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        staff_id, code = conn.exec_driver_sql(
            "SELECT STAFF_ID, TRAINING_CODE FROM CERTIFICATIONS ORDER BY 1, 2"
        ).first()
    engine.dispose()
    page = client.get(f"/admin/certifications/details/{staff_id};{code}")
    assert page.status_code == 200
    assert client.get(f"/admin/certifications/edit/{staff_id};{code}").status_code == 200


def test_delete_asks_for_confirmation_then_deletes(client: TestClient, demo_db_url: str) -> None:
    code = new_code("D", 10)
    client.post(
        "/admin/departments/create",
        data={
            "dept_code": code,
            "dept_name": "To delete",
            "created_date": "2026-01-05",
            "save": "Save",
        },
    )
    dept_id = scalar(demo_db_url, "SELECT DEPT_ID FROM DEPARTMENTS WHERE DEPT_CODE = :c", c=code)
    confirm = client.get("/admin/departments/delete", params={"pks": str(dept_id)})
    assert confirm.status_code == 200
    assert "To delete" in confirm.text and 'method="post"' in confirm.text
    assert (
        scalar(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id) == 1
    )
    done = client.post("/admin/departments/delete", data={"pks": str(dept_id)})
    assert done.status_code == 303
    assert (
        scalar(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id) == 0
    )


def test_deleting_several_rows_is_all_or_nothing(client: TestClient, demo_db_url: str) -> None:
    code = new_code("F", 10)
    client.post(
        "/admin/departments/create",
        data={"dept_code": code, "dept_name": "Free", "created_date": "2026-01-05", "save": "Save"},
    )
    free = scalar(demo_db_url, "SELECT DEPT_ID FROM DEPARTMENTS WHERE DEPT_CODE = :c", c=code)
    used = scalar(demo_db_url, "SELECT MIN(DEPT_ID) FROM STAFF")
    response = client.post("/admin/departments/delete", data={"pks": [str(free), str(used)]})
    assert response.status_code == 409
    assert "referenced" in response.text
    assert (
        scalar(
            demo_db_url,
            "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_ID IN (:a, :b)",
            a=free,
            b=used,
        )
        == 2
    )


def test_big_reference_is_a_key_input_validated_against_its_table(
    client: TestClient, demo_db_url: str
) -> None:
    form = client.get("/admin/immunizations/create")
    assert form.status_code == 200
    # Staff has thousands of rows: a key input with a lookup, not a 2,000-option drop-down.
    assert re.search(
        r'<input[^>]*data-lookup="staff"[^>]*name="staff_id"|'
        r'<input[^>]*name="staff_id"[^>]*data-lookup="staff"',
        form.text,
    )
    vaccine = scalar(demo_db_url, "SELECT MIN(VACCINE_CODE) FROM VACCINES")
    response = client.post(
        "/admin/immunizations/create",
        data={
            "staff_id": "99999999",
            "vaccine_code": vaccine,
            "dose_no": "1",
            "admin_date": "2026-01-05",
            "save": "Save",
        },
    )
    assert response.status_code == 400
    assert "No Staff" in response.text or "No staff" in response.text.lower()
    lookup = client.get("/admin/staff/lookup", params={"q": "a"})
    assert lookup.status_code == 200
    assert len(lookup.json()) == 20


def test_delete_confirmation_lists_many_rows_in_the_order_chosen(
    client: TestClient, demo_db_url: str
) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT STAFF_ID, TRAINING_CODE FROM CERTIFICATIONS ORDER BY 1 DESC, 2 LIMIT 3"
        ).all()
    engine.dispose()
    keys = [f"{staff_id};{code}" for staff_id, code in rows]  # a composite key
    confirm = client.get("/admin/certifications/delete", params={"pks": keys})
    assert confirm.status_code == 200
    shown = re.findall(r'name="pks" value="([^"]+)"', confirm.text)
    assert shown == keys
    missing = client.get("/admin/certifications/delete", params={"pks": [keys[0], "0;NOPE"]})
    assert missing.status_code == 404 and "0, NOPE" in missing.text


def test_lookup_finds_rows_by_key_and_by_label(client: TestClient, demo_db_url: str) -> None:
    staff_id, last_name = scalar_row(
        demo_db_url, "SELECT STAFF_ID, LAST_NAME FROM STAFF ORDER BY STAFF_ID DESC"
    )
    by_key = client.get("/admin/staff/lookup", params={"q": str(staff_id)}).json()
    assert str(staff_id) in [item["key"] for item in by_key]
    by_label = client.get("/admin/staff/lookup", params={"q": last_name.lower()}).json()
    assert by_label and all(last_name.lower() in item["label"].lower() for item in by_label)
    vaccine = scalar_row(demo_db_url, "SELECT VACCINE_CODE FROM VACCINES ORDER BY 1")[0]
    by_code = client.get("/admin/vaccines/lookup", params={"q": vaccine}).json()
    assert vaccine in [item["key"] for item in by_code]  # a text key matched as it is


def scalar_row(url: str, sql: str) -> tuple[Any, ...]:
    """The first row of a query."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(sql).first() or ())
    finally:
        engine.dispose()
