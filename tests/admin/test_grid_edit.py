"""Editing many rows in the grid at once: one save, one transaction, every change audited.

Each test makes its own immunization rows (a lot-number prefix of its own, which the grid's
search finds) and edits them through the real app, signed in through the real form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
import yaml
from starlette.testclient import TestClient

from datadesk.auth.users import UserStore
from datadesk.config.schema import AuthConfig
from datadesk.models.app_tables import app_tables
from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import PASSWORD, SignedInClient, sign_in
from tests.admin.grid_forms import (
    Scratch,
    audit_since,
    grid_fields,
    immunization,
    last_audit_id,
    lot_prefix,
    post_form,
    query,
    row_of,
    submit,
)

GRID = "/admin/immunizations/grid"


def open_grid(client: Any, prefix: str) -> tuple[str, list[tuple[str, str]]]:
    """The editable grid of the rows with this lot prefix: its HTML and its fields."""
    response = client.get(GRID, params={"search": prefix, "sort": "lot_number"})
    assert response.status_code == 200, response.text[:500]
    return response.text, grid_fields(response.text).fields


class Opened(NamedTuple):
    """Rows a test made, opened in a user's editable grid."""

    prefix: str  # the lot-number prefix of the rows (the grid is searched for it)
    ids: list[int]
    fields: list[tuple[str, str]]  # what the grid form submits as loaded
    rows: list[int]  # the grid row number of each made row, in order
    since: int  # the newest audit entry before the test saves anything


def opened(client: Any, scratch: Scratch, count: int, verified: str = "N") -> Opened:
    """Make ``count`` immunizations and open them in the client's editable grid."""
    prefix = lot_prefix()
    ids = scratch.immunizations(prefix, count, verified=verified)
    since = last_audit_id(scratch.url)
    html, fields = open_grid(client, prefix)
    rows = [row_of(html, f"{prefix}-{n}") for n in range(count)]
    return Opened(prefix, ids, fields, rows, since)


def post(client: Any, prefix: str, fields: list[tuple[str, str]], **kwargs: Any) -> Any:
    """POST a grid form back to the page it came from (as the browser does)."""
    return post_form(client, f"{GRID}?search={prefix}&sort=lot_number", fields, **kwargs)


def test_list_links_to_edit_mode_with_inputs_by_column_kind(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    prefix = lot_prefix()
    scratch.immunizations(prefix, 1, verified="Y")
    clerk = as_user("clerk")
    assert "Edit in grid" in clerk.get("/admin/immunizations/list").text
    html, fields = open_grid(clerk, prefix)
    kinds = grid_fields(html).kinds
    assert (kinds["r0-admin_date"], kinds["r0-dose_no"], kinds["r0-lot_number"]) == (
        "date",
        "number",
        "text",
    )
    assert kinds["r0-verified"] == "checkbox" and ("r0-verified", "y") in fields
    assert kinds["r0-vaccine_code"] == "select"  # a small referenced table: a drop-down
    assert 'data-lookup="staff"' in html  # a big one: the edit form's lookup input
    assert ("o0-lot_number", f"{prefix}-0") in fields  # the loaded value rides along
    assert kinds["k0"] == kinds["v0"] == "hidden"
    assert 'name="action" value="save"' in html


def test_signed_out_visitors_are_sent_to_sign_in(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as anonymous:
        for path in (GRID, "/admin/immunizations/bulk-set?column=verified&rows=all"):
            response = anonymous.get(path)
            assert response.status_code == 302 and "/admin/login" in response.headers["location"]


def test_hidden_and_read_only_columns_stay_out_of_the_inputs(as_user: Any) -> None:
    clerk = as_user("clerk")
    html = clerk.get("/admin/staff/grid").text
    assert "salary" not in html.lower()  # hidden for clerks: not even its name
    assert "-employee_no" not in html  # read-only for clerks: shown as text
    assert "-hire_date" in html and "-active" in html and "-dept_id" in html
    official = as_user("official")
    assert "Edit in grid" not in official.get("/admin/staff/list").text
    assert official.get("/admin/staff/grid").status_code == 403


def test_several_rows_saved_in_one_post_each_audited(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (a, b, c), since = opened(clerk, scratch, 3)
    changed = submit(
        fields,
        {
            f"r{a}-lot_number": f"{prefix}-A",
            f"r{b}-verified": "y",
            f"r{c}-dose_no": "2",
            f"r{c}-admin_date": "2025-04-30",
        },
    )
    response = post(clerk, prefix, changed)
    assert response.status_code == 303, response.text[:800]
    page = clerk.get(response.headers["location"]).text
    assert "Saved: 3 rows changed" in page
    assert page.count("dd-row-saved") == 3
    assert immunization(demo_db_url, ids[0]).lot == f"{prefix}-A"
    assert immunization(demo_db_url, ids[1]).verified == "Y"
    third = immunization(demo_db_url, ids[2])
    assert int(third.dose) == 2 and str(third.given)[:10] == "2025-04-30"
    entries = audit_since(demo_db_url, since)
    assert [(e.username, e.source, e.action) for e in entries] == [("clerk", "grid", "update")] * 3
    diffs = {int(e.row_key): json.loads(e.changes) for e in entries}
    assert diffs[ids[0]] == {"lot_number": [f"{prefix}-0", f"{prefix}-A"]}
    assert diffs[ids[1]] == {"verified": [False, True]}
    assert diffs[ids[2]] == {"admin_date": ["2025-03-03", "2025-04-30"], "dose_no": [1, 2]}


def test_unchanged_form_saves_nothing_and_unticking_a_flag_is_a_change(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (_, second), since = opened(clerk, scratch, 2, verified="Y")
    response = post(clerk, prefix, fields)
    assert response.status_code == 303
    assert "Nothing to save" in clerk.get(response.headers["location"]).text
    assert audit_since(demo_db_url, since) == []
    assert post(clerk, prefix, submit(fields, {f"r{second}-verified": None})).status_code == 303
    assert immunization(demo_db_url, ids[1]).verified == "N"
    assert immunization(demo_db_url, ids[0]).verified == "Y"


def test_a_concurrent_change_refuses_the_whole_save(
    as_user: Any, client: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (first, second), _ = opened(clerk, scratch, 2)
    # Meanwhile the admin changes the second row in their own grid.
    theirs_html, theirs = open_grid(client, prefix)
    other_row = row_of(theirs_html, f"{prefix}-1")
    changed = submit(theirs, {f"r{other_row}-lot_number": f"{prefix}-THEIRS"})
    assert post(client, prefix, changed).status_code == 303
    since = last_audit_id(demo_db_url)
    mine = submit(fields, {f"r{first}-lot_number": f"{prefix}-MINE0", f"r{second}-verified": "y"})
    refused = post(clerk, prefix, mine)
    assert refused.status_code == 409, refused.text[:800]
    assert "Nothing was saved" in refused.text and "someone else changed" in refused.text
    assert f"Now: {prefix}-THEIRS" in refused.text  # what they changed, marked
    assert refused.text.count("Now: ") == 1
    assert f'value="{prefix}-MINE0"' in refused.text  # the user's input is kept
    assert f'value="{prefix}-THEIRS"' in refused.text  # the row shows their value now
    assert immunization(demo_db_url, ids[0]).lot == f"{prefix}-0"  # nothing saved
    assert immunization(demo_db_url, ids[1]).verified == "N"
    assert audit_since(demo_db_url, since) == []
    # Saving the page again, with their values in view, applies the clerk's changes on top.
    again = post(clerk, prefix, grid_fields(refused.text).fields)
    assert again.status_code == 303, again.text[:800]
    assert immunization(demo_db_url, ids[0]).lot == f"{prefix}-MINE0"
    stored = immunization(demo_db_url, ids[1])
    assert (stored.lot, stored.verified) == (f"{prefix}-THEIRS", "Y")


def test_one_invalid_row_keeps_every_row_unsaved_and_the_input_on_the_page(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (good, bad), since = opened(clerk, scratch, 2)
    response = post(
        clerk,
        prefix,
        submit(
            fields,
            {
                f"r{good}-lot_number": f"{prefix}-OK",
                f"r{bad}-lot_number": "L" * 21,
                f"r{bad}-dose_no": "two",
                f"r{bad}-admin_date": "2025-02-30",
            },
        ),
    )
    assert response.status_code == 400
    text = response.text
    assert "Nothing was saved: 1 of the 2 changed rows has problems" in text
    assert "Lot: Field cannot be longer than 20 characters." in text
    assert "Dose: Not a valid integer value." in text
    assert "Given on: Not a valid date value." in text
    assert f'value="{prefix}-OK"' in text and 'value="two"' in text and "L" * 21 in text
    assert immunization(demo_db_url, ids[0]).lot == f"{prefix}-0"
    assert audit_since(demo_db_url, since) == []


def test_the_script_sends_only_changed_cells_and_gets_json(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (_, row), _ = opened(clerk, scratch, 2)
    sent = dict(fields)
    body = {
        f"k{row}": sent[f"k{row}"],
        f"v{row}": sent[f"v{row}"],
        f"r{row}-lot_number": f" {prefix}-JS",
        f"r{row}-verified": "y",
    }
    json_headers = {"accept": "application/json"}
    answer = post(clerk, prefix, list(body.items()), headers=json_headers)
    assert answer.status_code == 200, answer.text[:500]
    data = answer.json()
    assert data["ok"] is True and data["message"] == "Saved: 1 row changed."
    [saved] = data["rows"]
    assert saved["index"] == row and saved["loaded"]["lot_number"] == f" {prefix}-JS"
    assert saved["loaded"]["verified"] == "y" and saved["version"] != sent[f"v{row}"]
    assert immunization(demo_db_url, ids[1]).lot == f" {prefix}-JS"
    # The old version is stale now; a second change with it is refused, with the new state.
    body[f"r{row}-lot_number"] = f"{prefix}-LATE"
    stale = post(clerk, prefix, list(body.items()), headers=json_headers)
    assert stale.status_code == 409
    [refused] = stale.json()["rows"]
    assert "someone else changed this row" in refused["problem"]
    assert refused["version"] == saved["version"]
    assert refused["theirs"]["lot_number"] == f" {prefix}-JS"
    bad = post(
        clerk,
        prefix,
        [(f"k{row}", sent[f"k{row}"]), (f"v{row}", saved["version"]), (f"r{row}-dose_no", "0.5x")],
        headers=json_headers,
    )
    assert bad.status_code == 400
    assert bad.json()["rows"][0]["errors"] == {"dose_no": "Not a valid integer value."}


def test_forbidden_columns_cannot_be_set_by_a_crafted_post(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    html = clerk.get("/admin/staff/grid", params={"sort": "employee_no"}).text
    fields = grid_fields(html).fields
    row = row_of(html, 'data-row="0"')
    key = dict(fields)[f"k{row}"]
    before = query(
        demo_db_url,
        "SELECT SALARY, EMPLOYEE_NO, EMAIL, NOTES FROM STAFF WHERE STAFF_ID = :i",
        i=key,
    )
    for name, value in [
        ("salary", "1.00"),  # hidden from clerks
        ("employee_no", "X1"),  # read-only for clerks
        ("email", "crafted@example.org"),  # not grid-editable
        ("notes", "crafted"),  # long text: never in the grid
        ("staff_id", "1"),  # the key
    ]:
        response = post_form(clerk, "/admin/staff/grid", submit(fields, {f"r{row}-{name}": value}))
        assert response.status_code == 400, name
        assert f"r{row}-{name}: not a column you may change in this grid" in response.text
    after = query(
        demo_db_url,
        "SELECT SALARY, EMPLOYEE_NO, EMAIL, NOTES FROM STAFF WHERE STAFF_ID = :i",
        i=key,
    )
    assert after == before
    assert "salary" not in response.text.lower().replace("r0-salary", "")


def test_rows_outside_the_users_scope_cannot_be_touched(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    html = clerk.get("/admin/staff/grid", params={"sort": "employee_no"}).text
    fields = grid_fields(html).fields
    row = row_of(html, 'data-row="0"')
    own = int(dict(fields)[f"k{row}"])
    foreign, foreign_dept = query(
        demo_db_url, "SELECT MIN(STAFF_ID), MIN(DEPT_ID) FROM STAFF WHERE DEPT_ID <> 3"
    )[0]
    name = query(demo_db_url, "SELECT LAST_NAME FROM STAFF WHERE STAFF_ID = :i", i=foreign)[0][0]
    # Another department's row, by a crafted key: looks absent; nothing is written.
    crafted = submit(fields, {f"k{row}": str(foreign), f"r{row}-last_name": "Crafted"})
    response = post_form(clerk, "/admin/staff/grid", crafted)
    assert response.status_code == 409
    assert f"no row with key {foreign}" in response.text
    assert (
        query(demo_db_url, "SELECT LAST_NAME FROM STAFF WHERE STAFF_ID = :i", i=foreign)[0][0]
        == name
    )
    # Moving one's own row to another department would take it out of scope: refused.
    moved = post_form(
        clerk, "/admin/staff/grid", submit(fields, {f"r{row}-dept_id": str(foreign_dept)})
    )
    assert moved.status_code == 409
    assert "outside the rows you may edit" in moved.text
    assert query(demo_db_url, "SELECT DEPT_ID FROM STAFF WHERE STAFF_ID = :i", i=own)[0][0] == 3


def test_malformed_forms_are_refused_with_a_reason_and_nothing_saved(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (a, b), since = opened(clerk, scratch, 2)
    sent = dict(fields)
    change = {f"r{a}-lot_number": f"{prefix}-X"}
    cases: list[tuple[list[tuple[str, str]], int, str]] = [
        # an unknown field
        (submit(fields, {**change, "r0-nonsense": "1"}), 400, "r0-nonsense: not a column"),
        (
            submit(fields, {**change, "drop_table": "1"}),
            400,
            "drop_table: not a field of this grid",
        ),
        # the same cell twice
        ([*submit(fields, change), (f"r{a}-lot_number", "again")], 400, "sent twice"),
        # the same row twice, under two row numbers
        (
            submit(fields, {**change, f"k{b}": sent[f"k{a}"], f"r{b}-lot_number": "dup"}),
            400,
            "this row is in the form twice",
        ),
        # an unknown key
        (submit(fields, {**change, f"k{a}": "999999999"}), 409, "no row with key 999999999"),
        (submit(fields, {**change, f"k{a}": "abc"}), 400, "no row with key abc"),
        # a garbled version and a missing one
        (submit(fields, {**change, f"v{a}": "garbled"}), 400, "version is garbled"),
        ([f for f in submit(fields, change) if f[0] != f"v{a}"], 400, "version was not sent"),
        # a partial form: a cell's loaded value without the cell
        ([f for f in submit(fields, change) if f[0] != f"r{b}-dose_no"], 400, "was not sent"),
    ]
    for body, status, reason in cases:
        response = post(clerk, prefix, body)
        assert response.status_code == status, (reason, response.text[:600])
        assert reason in response.text, reason
    # More rows than the largest page.
    huge = list(fields)
    for number in range(1000, 1000 + 201):
        huge += [(f"k{number}", sent[f"k{a}"]), (f"v{number}", sent[f"v{a}"])]
    response = post(clerk, prefix, huge)
    assert response.status_code == 400
    assert "holds 203 rows; one save takes at most 200" in response.text
    assert [immunization(demo_db_url, i).lot for i in ids] == [
        f"{prefix}-0",
        f"{prefix}-1",
    ]
    assert audit_since(demo_db_url, since) == []


def test_every_post_needs_the_csrf_token(as_user: Any, demo_db_url: str, scratch: Scratch) -> None:
    clerk = as_user("clerk")
    prefix, ids, fields, (row,), _ = opened(clerk, scratch, 1)
    body = [f for f in submit(fields, {f"r{row}-lot_number": "NOCSRF"}) if f[0] != "csrf_token"]
    response = post_form(clerk, f"{GRID}?search={prefix}", [*body, ("csrf_token", "forged")])
    assert response.status_code == 403
    bulk = clerk.post(
        "/admin/immunizations/bulk-set",
        data={"column": "verified", "rows": "all", "set-verified": "y", "csrf_token": "forged"},
    )
    assert bulk.status_code == 403
    assert immunization(demo_db_url, ids[0]).lot == f"{prefix}-0"


def test_a_value_the_database_refuses_is_marked_on_its_cell(
    client: Any, demo_db_url: str, scratch: Scratch
) -> None:
    surname = "Grid" + lot_prefix()
    ids = scratch.staff(surname, 2)
    html = client.get("/admin/staff/grid", params={"search": surname}).text
    fields = grid_fields(html).fields
    numbers = query(demo_db_url, "SELECT EMPLOYEE_NO FROM STAFF WHERE LAST_NAME = :n", n=surname)
    clash = "Z" + lot_prefix()[1:6]
    body = submit(fields, {"r0-employee_no": clash, "r1-employee_no": clash})
    response = post_form(client, f"/admin/staff/grid?search={surname}", body)
    assert response.status_code == 409, response.text[:600]
    assert response.text.count('class="dd-cell-error"') == 1
    assert "already exists" in response.text and response.text.count(f'value="{clash}"') == 2
    after = query(demo_db_url, "SELECT EMPLOYEE_NO FROM STAFF WHERE LAST_NAME = :n", n=surname)
    assert sorted(after) == sorted(numbers) and len(ids) == 2


def test_rows_one_may_see_but_not_edit_are_read_only(
    app_factory: Any, demo_db_url: str, tmp_path: Path, scratch: Scratch
) -> None:
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["roles"]["reader"] = {"tables": {"staff": {"actions": ["list", "view"]}}}
    config["roles"]["dept_editor"] = {
        "tables": {
            "staff": {
                "actions": ["list", "view", "edit"],
                "rows": [{"column": "dept_id", "equals_user": "department_id"}],
            }
        }
    }
    path = tmp_path / "two_roles.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    name = "mixed" + lot_prefix().lower()
    engine = sa.create_engine(demo_db_url)
    try:
        UserStore(engine, app_tables("datadesk_"), AuthConfig()).create_user(
            name, PASSWORD, roles=["reader", "dept_editor"], attributes={"department_id": "3"}
        )
    finally:
        engine.dispose()
    surname = "Mixed" + lot_prefix()
    own = scratch.staff(surname, 1)
    foreign_dept = query(demo_db_url, "SELECT MIN(DEPT_ID) FROM DEPARTMENTS WHERE DEPT_ID <> 3")
    foreign = scratch.staff(surname, 1, dept=int(foreign_dept[0][0]))[-1]
    with SignedInClient(app_factory(path), follow_redirects=False) as user:
        user.csrf = sign_in(user, name)
        html = user.get("/admin/staff/grid", params={"search": surname}).text
        own_row, foreign_row = row_of(html, f"/{own[0]}"), row_of(html, f"/{foreign}")
        assert f'name="v{own_row}"' in html and f'name="r{own_row}-last_name"' in html
        assert f'name="v{foreign_row}"' not in html and f"r{foreign_row}-last_name" not in html
        assert html.count("read-only") == 1
        fields = grid_fields(html).fields
        crafted = submit(
            fields,
            {
                f"k{foreign_row}": str(foreign),
                f"v{foreign_row}": dict(fields)[f"v{own_row}"],
                f"r{foreign_row}-last_name": "Crafted",
            },
        )
        response = post_form(user, f"/admin/staff/grid?search={surname}", crafted)
        assert response.status_code == 409 and f"no row with key {foreign}" in response.text
        # A refused save shows the read-only rows again too, still without inputs.
        fields = grid_fields(html).fields
        own_change = submit(fields, {f"r{own_row}-first_name": "Z" * 31})
        refused = post_form(user, f"/admin/staff/grid?search={surname}", own_change)
        assert refused.status_code == 400 and refused.text.count("read-only") == 1
        assert f"/{foreign}" in refused.text and f"r{foreign_row}-last_name" not in refused.text
    assert query(demo_db_url, "SELECT LAST_NAME FROM STAFF WHERE STAFF_ID = :i", i=foreign) == [
        (surname,)
    ]
