"""The audit log pages: who may read them, filters, and undoing one change."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from tests.admin.conftest import SignedInClient
from tests.admin.test_audit_and_conflicts import edit_form, last_audit_id, new_department, query


def entry_ids(html: str) -> list[int]:
    """Ids of the entries linked from an audit list page."""
    return [int(i) for i in re.findall(r'/audit/(\d+)"', html)]


def test_only_auditors_and_admins_read_the_log(as_user: Any) -> None:
    assert as_user("auditor").get("/admin/audit").status_code == 200
    assert as_user("admin").get("/admin/audit").status_code == 200
    for name in ("clerk", "official", "manager"):
        response = as_user(name).get("/admin/audit")
        assert response.status_code == 403, name
        assert "Audit log" not in as_user(name).get("/admin/").text


def test_filters_find_the_changes_of_one_row(
    client: SignedInClient, as_user: Any, demo_db_url: str
) -> None:
    since = last_audit_id(demo_db_url)
    dept_id, _ = new_department(client, demo_db_url, "Filtered")
    page = as_user("auditor").get(
        "/admin/audit", params={"table": "departments", "key": str(dept_id), "username": "admin"}
    )
    assert page.status_code == 200
    ids = entry_ids(page.text)
    expected = query(
        demo_db_url,
        "SELECT id FROM datadesk_audit WHERE table_name = 'departments' "
        "AND row_key = :k AND username = 'admin' ORDER BY id DESC",
        k=str(dept_id),
    )
    assert ids == [row[0] for row in expected]
    assert max(ids) > since
    bad = as_user("auditor").get("/admin/audit", params={"from": "last week"})
    assert bad.status_code == 400


def test_undo_an_update_is_audited_and_conflict_checked(
    client: SignedInClient, demo_db_url: str
) -> None:
    dept_id, _ = new_department(client, demo_db_url, "Original name")
    form = edit_form(client, f"/admin/departments/edit/{dept_id}")
    form["dept_name"] = "Renamed"
    assert client.post(f"/admin/departments/edit/{dept_id}", data=form).status_code == 302
    entry = query(demo_db_url, "SELECT MAX(id) FROM datadesk_audit")[0][0]
    shown = client.get(f"/admin/audit/{entry}")
    assert "Undo this change" in shown.text and "Renamed" in shown.text
    undone = client.post(f"/admin/audit/{entry}/revert", data={})
    assert undone.status_code == 303
    assert (
        query(demo_db_url, "SELECT DEPT_NAME FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)[0][0]
        == "Original name"
    )
    last = query(
        demo_db_url, "SELECT source, reverted_entry_id FROM datadesk_audit ORDER BY id DESC"
    )[0]
    assert (last[0], last[1]) == ("revert", entry)
    # Undoing the same change again: the row no longer holds what it wrote.
    again = client.post(f"/admin/audit/{entry}/revert", data={})
    assert again.status_code == 409
    assert "someone else changed this row" in again.text


def test_undo_a_delete_restores_the_row(client: SignedInClient, demo_db_url: str) -> None:
    dept_id, code = new_department(client, demo_db_url, "Deleted then restored")
    assert client.post("/admin/departments/delete", data={"pks": str(dept_id)}).status_code == 303
    entry = query(demo_db_url, "SELECT MAX(id) FROM datadesk_audit")[0][0]
    assert client.post(f"/admin/audit/{entry}/revert", data={}).status_code == 303
    assert (
        query(demo_db_url, "SELECT DEPT_CODE FROM DEPARTMENTS WHERE DEPT_ID = :i", i=dept_id)[0][0]
        == code
    )


def test_auditor_without_edit_rights_cannot_undo(
    as_user: Any, client: SignedInClient, demo_db_url: str
) -> None:
    new_department(client, demo_db_url, "Not for auditors")
    entry = query(demo_db_url, "SELECT MAX(id) FROM datadesk_audit")[0][0]
    auditor = as_user("auditor")
    assert "Undo this change" not in auditor.get(f"/admin/audit/{entry}").text
    assert auditor.post(f"/admin/audit/{entry}/revert", data={}).status_code == 403


def test_filtered_log_downloads_as_csv_with_formulas_defused(
    client: SignedInClient, as_user: Any, demo_db_url: str
) -> None:
    dept_id, _ = new_department(client, demo_db_url, '=HYPERLINK("x")')
    auditor = as_user("auditor")
    response = auditor.get(
        "/admin/audit/export.csv", params={"table": "departments", "key": str(dept_id)}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0][:3] == ["id", "occurred_at_utc", "username"]
    by_column = {line[9]: line for line in lines[1:]}
    assert by_column["dept_name"][11] == '\'=HYPERLINK("x")'
    assert all(line[5] == "departments" and line[6] == str(dept_id) for line in lines[1:])
    assert as_user("clerk").get("/admin/audit/export.csv").status_code == 403
