"""Changes to user accounts are audited like changes to records; auditors read hidden columns
of records only as far as their own roles allow."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import SignedInClient, sign_in
from tests.admin.test_audit_and_conflicts import edit_form, last_audit_id, query
from tests.admin.test_users_pages import NEW_PASSWORD, OTHER_PASSWORD, create_form, unique_name

USERS_TABLE = "datadesk_users"


def account_entries(url: str, username: str, since: int) -> list[tuple[str, str, str, dict]]:
    """(who, source, action, changes) of the audit entries of one account after ``since``."""
    rows = query(
        url,
        "SELECT username, source, action, changes FROM datadesk_audit "
        "WHERE table_name = :t AND row_key = :k AND id > :s ORDER BY id",
        t=USERS_TABLE,
        k=username,
        s=since,
    )
    return [(r.username, r.source, r.action, json.loads(r.changes)) for r in rows]


def test_each_account_change_on_the_users_pages_is_one_audit_entry(
    client: SignedInClient, demo_db_url: str
) -> None:
    name = unique_name("audited")
    since = last_audit_id(demo_db_url)
    assert client.post("/admin/users/new", data=create_form(name)).status_code == 303
    edit = create_form(name, roles=["clerk", "official"], attributes="department_id=4")
    assert client.post(f"/admin/users/{name}/edit", data=edit).status_code == 303
    reset = {"password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD}
    assert client.post(f"/admin/users/{name}/password", data=reset).status_code == 303
    assert client.post(f"/admin/users/{name}/disable", data={}).status_code == 303
    assert client.post(f"/admin/users/{name}/enable", data={}).status_code == 303
    # A refused change (a weak password) writes nothing, to the account or the log.
    weak = {"password": "short", "password_again": "short"}
    assert client.post(f"/admin/users/{name}/password", data=weak).status_code == 400

    entries = account_entries(demo_db_url, name, since)
    assert [(who, source, action) for who, source, action, _ in entries] == [
        ("admin", "form", "create"),
        ("admin", "form", "update"),
        ("admin", "form", "update"),
        ("admin", "form", "update"),
        ("admin", "form", "update"),
    ]
    created, edited, password, disabled, enabled = (changes for *_, changes in entries)
    assert created["roles"] == [None, "clerk"]
    assert created["attributes"] == [None, "department_id=3"]
    assert created["is_active"] == [None, True]
    assert created["password_changed_at"][1] is not None
    assert edited == {
        "roles": ["clerk", "clerk, official"],
        "attributes": ["department_id=3", "department_id=4"],
    }
    assert list(password) == ["password_changed_at"]
    assert disabled == {"is_active": [True, False]}
    assert enabled == {"is_active": [False, True]}
    stored = query(
        demo_db_url,
        "SELECT password_hash FROM datadesk_users WHERE username = :u",
        u=name,
    )[0][0]
    log_text = json.dumps([changes for *_, changes in entries])
    assert "hash" not in log_text and stored not in log_text
    assert NEW_PASSWORD not in log_text and OTHER_PASSWORD not in log_text


def test_account_changes_are_listed_for_auditors(
    client: SignedInClient, as_user: Any, demo_db_url: str
) -> None:
    name = unique_name("listed")
    assert client.post("/admin/users/new", data=create_form(name)).status_code == 303
    page = as_user("auditor").get("/admin/audit", params={"table": USERS_TABLE, "key": name})
    assert page.status_code == 200
    assert name in page.text and "create" in page.text


def hiding_auditor_config(tmp_path: Path) -> Path:
    """The demo config with an auditor role that hides salaries."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    line = '      "*": {actions: [list, view]}\n'
    assert text.count(line) == 1
    changed = text.replace(line, '      "*": {actions: [list, view], hidden: [salary]}\n')
    path = tmp_path / "datadesk.yaml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_auditors_do_not_read_values_of_columns_their_roles_hide(
    app_factory: Any, tmp_path: Path, demo_db_url: str
) -> None:
    app = app_factory(hiding_auditor_config(tmp_path))
    with SignedInClient(app, follow_redirects=False) as admin:
        admin.csrf = sign_in(admin, "admin")
        staff_id, salary = query(
            demo_db_url, "SELECT STAFF_ID, SALARY FROM STAFF WHERE SALARY IS NOT NULL"
        )[0]
        form = edit_form(admin, f"/admin/staff/edit/{staff_id}")
        new_salary = "98765.43" if str(salary) != "98765.43" else "98765.44"
        form["salary"] = new_salary
        saved = admin.post(f"/admin/staff/edit/{staff_id}", data=form)
        assert saved.status_code == 302, saved.text[:300]
        entry_id = last_audit_id(demo_db_url)
        assert new_salary in admin.get(f"/admin/audit/{entry_id}").text

    with SignedInClient(app, follow_redirects=False) as auditor:
        auditor.csrf = sign_in(auditor, "auditor")
        page = auditor.get(f"/admin/audit/{entry_id}")
        assert page.status_code == 200
        assert "(hidden)" in page.text and new_salary not in page.text
        listing = auditor.get("/admin/audit", params={"table": "staff", "key": str(staff_id)})
        assert new_salary not in listing.text
        download = auditor.get(
            "/admin/audit/export.csv", params={"table": "staff", "key": str(staff_id)}
        )
        rows = [r for r in csv.DictReader(io.StringIO(download.text)) if r["id"] == str(entry_id)]
        assert rows and {r["column"] for r in rows} == {"salary"}
        assert {(r["before"], r["after"]) for r in rows} == {("(hidden)", "(hidden)")}
