"""Every write through the web is audited in its own transaction; concurrent edits never
silently overwrite each other."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin.conftest import SignedInClient


def query(url: str, sql: str, **params: object) -> list[Any]:
    """Rows straight from the database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def last_audit_id(url: str) -> int:
    """The newest audit entry's id (keys of deleted rows may be reused: history is by id)."""
    return int(query(url, "SELECT COALESCE(MAX(id), 0) FROM datadesk_audit")[0][0])


def audit_rows(url: str, table: str, key: str, since: int) -> list[Any]:
    """Audit entries of one row written after entry ``since``, oldest first."""
    return query(
        url,
        "SELECT username, source, action, changes FROM datadesk_audit "
        "WHERE table_name = :t AND row_key = :k AND id > :s ORDER BY id",
        t=table,
        k=key,
        s=since,
    )


def edit_form(client: SignedInClient, path: str) -> dict[str, str]:
    """The values an edit form submits as loaded, including its row version."""
    html = client.get(path).text
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body
        )
        if chosen:
            values[name] = chosen.group(1) or chosen.group(2)
    values.pop("csrf_token", None)
    values["save"] = "Save"
    return values


def new_department(client: SignedInClient, url: str, name: str) -> tuple[int, str]:
    """Create a department through the form; return its id and code."""
    code = ("A" + uuid.uuid4().hex.upper())[:10]
    response = client.post(
        "/admin/departments/create",
        data={"dept_code": code, "dept_name": name, "created_date": "2026-03-01", "save": "Save"},
    )
    assert response.status_code == 302, response.text[:300]
    dept_id = query(url, "SELECT DEPT_ID FROM DEPARTMENTS WHERE DEPT_CODE = :c", c=code)[0][0]
    return int(dept_id), code


def test_create_edit_delete_each_leave_one_entry_with_diffs(
    client: SignedInClient, demo_db_url: str
) -> None:
    since = last_audit_id(demo_db_url)
    dept_id, code = new_department(client, demo_db_url, "Audited")
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    form["dept_name"] = "Audited twice"
    assert client.post(f"/admin/departments/edit/{dept_id}", data=form).status_code == 302
    # Saving again without changes writes no entry.
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    assert client.post(f"/admin/departments/edit/{dept_id}", data=form).status_code == 302
    assert client.post("/admin/departments/delete", data={"pks": str(dept_id)}).status_code == 303
    entries = audit_rows(demo_db_url, "departments", str(dept_id), since)
    assert [(e.username, e.source, e.action) for e in entries] == [
        ("admin", "form", "create"),
        ("admin", "form", "update"),
        ("admin", "form", "delete"),
    ]
    created, updated, deleted = (json.loads(e.changes) for e in entries)
    assert created["dept_code"] == [None, code]
    assert updated == {"dept_name": ["Audited", "Audited twice"]}
    assert deleted["dept_name"] == ["Audited twice", None]


def test_bulk_delete_audits_each_row_and_a_failed_write_audits_nothing(
    client: SignedInClient, demo_db_url: str
) -> None:
    since = last_audit_id(demo_db_url)
    first, _ = new_department(client, demo_db_url, "Bulk one")
    second, _ = new_department(client, demo_db_url, "Bulk two")
    used = query(demo_db_url, "SELECT MIN(DEPT_ID) FROM STAFF")[0][0]
    before = query(demo_db_url, "SELECT COUNT(*) FROM datadesk_audit")[0][0]
    refused = client.post("/admin/departments/delete", data={"pks": [str(first), str(used)]})
    assert refused.status_code == 409
    assert query(demo_db_url, "SELECT COUNT(*) FROM datadesk_audit")[0][0] == before
    done = client.post("/admin/departments/delete", data={"pks": [str(first), str(second)]})
    assert done.status_code == 303
    for dept_id in (first, second):
        assert [
            (e.source, e.action)
            for e in audit_rows(demo_db_url, "departments", str(dept_id), since)
        ][-1] == ("bulk", "delete")


def test_concurrent_edit_is_refused_and_shows_what_changed(
    client: SignedInClient, as_user: Any, demo_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    since = last_audit_id(demo_db_url)
    dept_id, _ = new_department(client, demo_db_url, "Contested")
    other = as_user("manager")
    mine = edit_form(client, f"/admin/departments/edit/{dept_id}")
    theirs = edit_form(other, f"/admin/departments/edit/{dept_id}")
    theirs["dept_name"] = "Changed by the manager"
    assert other.post(f"/admin/departments/edit/{dept_id}", data=theirs).status_code == 302
    mine["dept_name"] = "Changed by the admin"
    with caplog.at_level(logging.WARNING):
        response = client.post(f"/admin/departments/edit/{dept_id}", data=mine)
    assert response.status_code == 400
    # The server log has one line for the refusal, not a traceback.
    refusal = [r for r in caplog.records if "someone else changed" in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in refusal] == [("WARNING", None)]
    assert "someone else changed this row" in response.text
    assert "Changed by the manager" in response.text
    assert 'value="Changed by the admin"' in response.text  # the user's input is kept
    assert (
        query(demo_db_url, "SELECT DEPT_NAME FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)[0][0]
        == "Changed by the manager"
    )
    assert [e.username for e in audit_rows(demo_db_url, "departments", str(dept_id), since)] == [
        "admin",
        "manager",
    ]


def test_edit_without_a_version_is_refused(client: SignedInClient, demo_db_url: str) -> None:
    dept_id, _ = new_department(client, demo_db_url, "Versionless")
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    form.pop("row_version")
    form["dept_name"] = "Crafted"
    response = client.post(f"/admin/departments/edit/{dept_id}", data=form)
    assert response.status_code == 400
    assert (
        query(demo_db_url, "SELECT DEPT_NAME FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)[0][0]
        == "Versionless"
    )
