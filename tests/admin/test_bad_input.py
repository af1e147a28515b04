"""Hostile and malformed parameters: a clear 4xx answer, a log line, nothing changed, nothing
leaked (no SQL, no stack trace, no hidden value)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.admin.conftest import SignedInClient
from tests.admin.test_audit_and_conflicts import edit_form, last_audit_id, new_department, query

SQL_FRAGMENTS = [
    "1; DROP TABLE STAFF --",
    "' OR '1'='1",
    "1) UNION SELECT secret FROM users --",
]
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "password_hash", "Error:", "FROM STAFF")


def assert_refused_cleanly(response: Any, status: int = 400) -> None:
    """A 4xx page that explains, without internals."""
    assert response.status_code == status, response.text[:300]
    for leak in LEAKS:
        assert leak not in response.text, leak


@pytest.mark.parametrize("fragment", SQL_FRAGMENTS)
def test_sql_fragments_in_grid_parameters_are_refused_or_taken_literally(
    client: SignedInClient, demo_db_url: str, fragment: str, caplog: pytest.LogCaptureFixture
) -> None:
    staff_count = query(demo_db_url, "SELECT COUNT(*) FROM STAFF")[0][0]
    with caplog.at_level(logging.WARNING, logger="datadesk.refused"):
        for params in (
            {"sort": fragment},
            {"f.dept_id": fragment},
            {"f.hire_date.from": fragment},
            {f"f.{fragment}": "1"},
            {"page": fragment},
            {"page_size": fragment},
        ):
            assert_refused_cleanly(client.get("/admin/staff/list", params=params))
    assert len([r for r in caplog.records if r.name == "datadesk.refused"]) == 6
    # Search text is data: matched literally, it finds nothing and breaks nothing.
    searched = client.get("/admin/staff/list", params={"search": fragment})
    assert searched.status_code == 200
    assert "No rows" in searched.text or "(0 rows)" in searched.text
    lookup = client.get("/admin/departments/lookup", params={"q": fragment})
    assert lookup.status_code == 200
    assert query(demo_db_url, "SELECT COUNT(*) FROM STAFF")[0][0] == staff_count
    for path in (f"/admin/staff/details/{fragment}", f"/admin/staff/edit/{fragment}"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert not any(leak in response.text for leak in LEAKS)


def test_oversize_parameters_and_form_fields_change_nothing(
    client: SignedInClient, demo_db_url: str
) -> None:
    assert_refused_cleanly(client.get("/admin/staff/list", params={"search": "x" * 5000}))
    dept_id, _ = new_department(client, demo_db_url, "Oversize")
    since = last_audit_id(demo_db_url)
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    form["dept_name"] = "N" * 10_000
    response = client.post(f"/admin/departments/edit/{dept_id}", data=form)
    assert response.status_code in (200, 400, 409)  # the form again, with the field's message
    assert not any(leak in response.text for leak in LEAKS)
    assert "60" in response.text  # the column's length limit is named
    name = query(demo_db_url, "SELECT DEPT_NAME FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)
    assert name[0][0] == "Oversize"
    assert last_audit_id(demo_db_url) == since


def test_malformed_form_values_change_nothing(client: SignedInClient, demo_db_url: str) -> None:
    dept_id, _ = new_department(client, demo_db_url, "Malformed")
    since = last_audit_id(demo_db_url)
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    form["created_date"] = "31.02.2026; DROP TABLE DEPARTMENTS"
    response = client.post(f"/admin/departments/edit/{dept_id}", data=form)
    assert response.status_code in (200, 400)
    assert not any(leak in response.text for leak in LEAKS)
    assert last_audit_id(demo_db_url) == since
    assert (
        query(demo_db_url, "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)[0][0]
        == 1
    )


def test_sign_in_with_oversize_or_hostile_names_is_a_plain_refusal(
    app_factory: Any, demo_db_url: str
) -> None:
    from starlette.testclient import TestClient

    from tests.admin.conftest import CSRF_RE

    users_before = query(demo_db_url, "SELECT COUNT(*) FROM datadesk_users")[0][0]
    with TestClient(app_factory(), follow_redirects=False) as browser:
        for username, password in (
            ("u" * 10_000, "x"),
            ("admin' --", "x"),
            (SQL_FRAGMENTS[2], "p" * 100_000),
        ):
            token = CSRF_RE.search(browser.get("/admin/login").text).group(1)  # type: ignore[union-attr]
            response = browser.post(
                "/admin/login",
                data={"username": username, "password": password, "csrf_token": token},
            )
            assert 400 <= response.status_code < 500, response.status_code
            assert not any(leak in response.text for leak in LEAKS)
    assert query(demo_db_url, "SELECT COUNT(*) FROM datadesk_users")[0][0] == users_before
