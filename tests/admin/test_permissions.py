"""Every role x table x endpoint of the demo decides as datadesk.yaml says, on the server.

Includes crafted requests: ids outside the row scope, hidden column names in search, sort and
filter parameters, read-only and hidden fields in posted forms.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin.conftest import CLERK_DEPARTMENT, cell_texts
from tests.admin.test_audit_and_conflicts import edit_form


def scalar(url: str, sql: str, **params: object) -> Any:
    """One value straight from the database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def own_and_foreign_staff(url: str) -> tuple[int, int]:
    """A staff id inside the clerk's department and one outside it."""
    own = scalar(url, "SELECT MIN(STAFF_ID) FROM STAFF WHERE DEPT_ID = :d", d=int(CLERK_DEPARTMENT))
    other = scalar(
        url, "SELECT MIN(STAFF_ID) FROM STAFF WHERE DEPT_ID <> :d", d=int(CLERK_DEPARTMENT)
    )
    return int(own), int(other)


MENU = {
    "clerk": (
        {"Staff", "Immunizations", "Departments", "Vaccines"},
        {"Students", "Clinical placements", "Certifications"},
    ),
    "official": ({"Staff", "Students", "Certifications"}, set()),
    "nobody": (set(), {"Staff", "Departments"}),
}


@pytest.mark.parametrize("username", sorted(MENU))
def test_menu_shows_only_tables_the_role_may_list(as_user: Any, username: str) -> None:
    client = as_user(username)
    page = client.get("/admin/").text
    shown, absent = MENU[username]
    for label in shown:
        assert f">{label}<" in page, label
    for label in absent:
        assert f">{label}<" not in page, label


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("clerk", "/admin/students/list", 403),
        ("clerk", "/admin/students/lookup?q=a", 403),
        ("clerk", "/admin/departments/create", 403),
        ("clerk", "/admin/departments/delete?pks=1", 403),
        ("official", "/admin/staff/create", 403),
        ("official", "/admin/staff/edit/1", 403),
        ("official", "/admin/staff/delete?pks=1", 403),
        ("auditor", "/admin/immunizations/create", 403),
        ("manager", "/admin/departments/delete?pks=1", 403),
        ("manager", "/admin/students/list", 200),
        ("nobody", "/admin/staff/list", 403),
        ("nobody", "/admin/staff/details/1", 403),
    ],
)
def test_actions_are_refused_on_every_endpoint(
    as_user: Any, username: str, path: str, status: int
) -> None:
    response = as_user(username).get(path)
    assert response.status_code == status, (username, path, response.text[:200])


def test_clerk_sees_only_their_department(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    expected = scalar(
        demo_db_url, "SELECT COUNT(*) FROM STAFF WHERE DEPT_ID = :d", d=int(CLERK_DEPARTMENT)
    )
    page = clerk.get("/admin/staff/list", params={"page_size": 200})
    assert page.status_code == 200
    assert f"({expected:,} rows)" in page.text
    own, other = own_and_foreign_staff(demo_db_url)
    assert clerk.get(f"/admin/staff/details/{own}").status_code == 200
    # Outside the scope a row looks absent, on every path.
    assert clerk.get(f"/admin/staff/details/{other}").status_code == 404
    assert clerk.get(f"/admin/staff/edit/{other}").status_code in {403, 404}
    lookup = clerk.get("/admin/staff/lookup", params={"q": str(other)})
    assert all(row["key"] != str(other) for row in lookup.json())


def test_clerk_immunizations_follow_staff_department(as_user: Any, demo_db_url: str) -> None:
    expected = scalar(
        demo_db_url,
        "SELECT COUNT(*) FROM IMMUNIZATIONS I JOIN STAFF S ON S.STAFF_ID = I.STAFF_ID "
        "WHERE S.DEPT_ID = :d",
        d=int(CLERK_DEPARTMENT),
    )
    page = as_user("clerk").get("/admin/immunizations/list")
    assert f"({expected:,} rows)" in page.text


def test_hidden_column_never_leaves_the_server(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    own, _ = own_and_foreign_staff(demo_db_url)
    salary = scalar(demo_db_url, "SELECT SALARY FROM STAFF WHERE STAFF_ID = :i", i=own)
    for path in (
        f"/admin/staff/details/{own}",
        f"/admin/staff/edit/{own}",
        "/admin/staff/list?page_size=200",
        "/admin/staff/create",
    ):
        text = clerk.get(path).text
        assert "Salary" not in text, path
        assert 'name="salary"' not in text, path
    assert f"{salary:.2f}" not in clerk.get(f"/admin/staff/details/{own}").text
    # Naming the hidden column in sort or filter parameters is refused like an unknown one.
    assert clerk.get("/admin/staff/list", params={"sort": "salary"}).status_code == 400
    assert clerk.get("/admin/staff/list", params={"f.salary.from": "1"}).status_code == 400


def test_crafted_post_cannot_write_hidden_or_read_only_columns(
    as_user: Any, demo_db_url: str
) -> None:
    clerk = as_user("clerk")
    own, _ = own_and_foreign_staff(demo_db_url)
    before = scalar(demo_db_url, "SELECT SALARY FROM STAFF WHERE STAFF_ID = :i", i=own)
    number = scalar(demo_db_url, "SELECT EMPLOYEE_NO FROM STAFF WHERE STAFF_ID = :i", i=own)
    data = edit_form(clerk, f"/admin/staff/edit/{own}")
    data.update(
        {
            "salary": "999999.99",
            "employee_no": "XXXXXX",
            "email": "crafted@example.org",
            "save": "Save",
        }
    )
    response = clerk.post(f"/admin/staff/edit/{own}", data=data)
    assert response.status_code == 302, response.text[:500]
    assert (
        scalar(demo_db_url, "SELECT EMAIL FROM STAFF WHERE STAFF_ID = :i", i=own)
        == "crafted@example.org"
    )
    assert scalar(demo_db_url, "SELECT SALARY FROM STAFF WHERE STAFF_ID = :i", i=own) == before
    assert scalar(demo_db_url, "SELECT EMPLOYEE_NO FROM STAFF WHERE STAFF_ID = :i", i=own) == number


def test_clerk_cannot_edit_or_move_rows_out_of_scope(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    own, other = own_and_foreign_staff(demo_db_url)
    data = edit_form(clerk, f"/admin/staff/edit/{own}")
    data["save"] = "Save"
    # Editing a row of another department by a crafted POST: refused, nothing written.
    email = scalar(demo_db_url, "SELECT EMAIL FROM STAFF WHERE STAFF_ID = :i", i=other)
    crafted = clerk.post(f"/admin/staff/edit/{other}", data={**data, "email": "x@example.org"})
    assert crafted.status_code in {400, 403, 404}
    assert scalar(demo_db_url, "SELECT EMAIL FROM STAFF WHERE STAFF_ID = :i", i=other) == email
    # Moving one's own row to another department would take it out of scope: refused.
    foreign_dept = scalar(
        demo_db_url,
        "SELECT MIN(DEPT_ID) FROM DEPARTMENTS WHERE DEPT_ID <> :d",
        d=int(CLERK_DEPARTMENT),
    )
    moved = clerk.post(f"/admin/staff/edit/{own}", data={**data, "dept_id": str(foreign_dept)})
    assert moved.status_code in {400, 403}
    assert scalar(demo_db_url, "SELECT DEPT_ID FROM STAFF WHERE STAFF_ID = :i", i=own) == int(
        CLERK_DEPARTMENT
    )


def test_clerk_cannot_create_outside_scope_or_delete(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    foreign_dept = scalar(
        demo_db_url,
        "SELECT MIN(DEPT_ID) FROM DEPARTMENTS WHERE DEPT_ID <> :d",
        d=int(CLERK_DEPARTMENT),
    )
    category = scalar(demo_db_url, "SELECT MIN(CATEGORY_CODE) FROM STAFF_CATEGORIES")
    base = {
        "employee_no": "777001",
        "first_name": "Out",
        "last_name": "Ofscope",
        "category_code": category,
        "hire_date": "2026-01-05",
        "active": "y",
        "save": "Save",
    }
    before = scalar(demo_db_url, "SELECT COUNT(*) FROM STAFF")
    outside = clerk.post("/admin/staff/create", data={**base, "dept_id": str(foreign_dept)})
    assert outside.status_code in {400, 403}
    assert scalar(demo_db_url, "SELECT COUNT(*) FROM STAFF") == before
    own, _ = own_and_foreign_staff(demo_db_url)
    assert clerk.post("/admin/staff/delete", data={"pks": str(own)}).status_code == 403
    assert scalar(demo_db_url, "SELECT COUNT(*) FROM STAFF WHERE STAFF_ID = :i", i=own) == 1


def test_official_reads_everything_but_salaries(as_user: Any) -> None:
    official = as_user("official")
    page = official.get("/admin/staff/list")
    assert page.status_code == 200
    assert "Salary" not in page.text
    assert "New Staff" not in page.text and "/edit/" not in page.text
    assert cell_texts(page.text)
