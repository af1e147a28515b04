"""Bulk set from the editable grid: count, confirm, commit; refused when the rows changed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import SignedInClient, sign_in
from tests.admin.grid_forms import (
    FormFields,
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
BULK = "/admin/immunizations/bulk-set"


def form_of(html: str, marker: str) -> list[tuple[str, str]]:
    """The fields the form with the attribute ``data-<marker>`` submits as loaded."""
    parser = FormFields(f"data-{marker}")
    parser.feed(html)
    return parser.fields


def choose(client: Any, prefix: str, picks: list[int], column: str, rows: str = "chosen") -> str:
    """Tick rows in the grid and ask to set a column: the bulk page it leads to."""
    page = client.get(GRID, params={"search": prefix, "sort": "lot_number"})
    fields = grid_fields(page.text).fields
    keys = dict(fields)
    chosen = [("pick", keys[f"k{n}"]) for n in picks]
    body = submit(fields, {"bulk_column": column, "bulk_rows": rows, "action": "bulk"}) + chosen
    response = post_form(client, f"{GRID}?search={prefix}&sort=lot_number", body)
    assert response.status_code == 303, response.text[:600]
    location = response.headers["location"]
    assert urlsplit(location).path == BULK
    return location


def preview(client: Any, location: str, value: str | None) -> Any:
    """Fill in the value on the bulk page and ask what would change."""
    page = client.get(location)
    assert page.status_code == 200, page.text[:600]
    parser = FormFields("data-dd-bulk-value")
    parser.feed(page.text)
    [name] = [n for n in parser.kinds if n.startswith("set-")]
    params = [(n, v) for n, v in parser.fields if n != name]
    if value is not None:
        params.append((name, value))
    return client.get(BULK, params=params)


def confirm(client: Any, page: str) -> Any:
    """Press the confirmation button of a bulk page."""
    return post_form(client, BULK, form_of(page, "dd-bulk-confirm"))


def test_bulk_set_counts_then_commits_all_rows_each_audited(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    prefix = lot_prefix()
    ids = scratch.immunizations(prefix, 3)
    query(demo_db_url, "UPDATE IMMUNIZATIONS SET VERIFIED = 'Y' WHERE IMM_ID = :i", i=ids[2])
    clerk = as_user("clerk")
    location = choose(clerk, prefix, [0, 1, 2], "verified")
    assert dict(parse_qsl(urlsplit(location).query))["search"] == prefix
    asked = clerk.get(location).text
    assert "Set <strong>Verified</strong> on" in asked and "the 3 rows you chose" in asked
    shown = preview(clerk, location, "y")
    assert shown.status_code == 200
    count = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", shown.text))
    assert "3 rows match: 2 rows will change to Verified = Yes; 1 already has this value." in count
    assert "Set Verified to Yes on 2 rows" in shown.text
    since = last_audit_id(demo_db_url)
    done = confirm(clerk, shown.text)
    assert done.status_code == 303, done.text[:600]
    back = clerk.get(done.headers["location"])
    assert "Verified was set on 2 rows." in back.text
    assert [immunization(demo_db_url, i).verified for i in ids] == ["Y", "Y", "Y"]
    entries = audit_since(demo_db_url, since)
    assert sorted(int(e.row_key) for e in entries) == ids[:2]
    for entry in entries:
        assert (entry.username, entry.source, entry.action) == ("clerk", "bulk", "update")
        assert json.loads(entry.changes) == {"verified": [False, True]}


def test_bulk_set_is_refused_when_the_rows_changed_after_the_count(
    as_user: Any, client: Any, demo_db_url: str, scratch: Scratch
) -> None:
    prefix = lot_prefix()
    ids = scratch.immunizations(prefix, 3)
    clerk = as_user("clerk")
    location = choose(clerk, prefix, [], "dose_no", rows="all")
    shown = preview(clerk, location, "4")
    assert "3 rows will change" in shown.text
    # Meanwhile a fourth row starts matching the search, and the admin edits another one.
    scratch.immunizations(prefix + "-late", 1)
    html = client.get(GRID, params={"search": prefix, "sort": "lot_number"}).text
    row = row_of(html, f"{prefix}-1")
    edited = submit(grid_fields(html).fields, {f"r{row}-lot_number": f"{prefix}-1b"})
    assert post_form(client, f"{GRID}?search={prefix}&sort=lot_number", edited).status_code == 303
    since = last_audit_id(demo_db_url)
    stale = confirm(clerk, shown.text)
    assert stale.status_code == 409
    assert "The rows changed since you looked at them" in stale.text
    assert "4 rows will change" in re.sub(r"<[^>]+>", "", stale.text)
    assert [int(immunization(demo_db_url, i).dose) for i in ids] == [1, 1, 1]
    assert audit_since(demo_db_url, since) == []
    again = confirm(clerk, stale.text)  # confirmed on the new count: done
    assert again.status_code == 303
    assert [int(immunization(demo_db_url, i).dose) for i in ids] == [4, 4, 4]
    assert len(audit_since(demo_db_url, since)) == 4


def test_bulk_set_waits_for_unsaved_cells(as_user: Any, demo_db_url: str, scratch: Scratch) -> None:
    prefix = lot_prefix()
    scratch.immunizations(prefix, 2)
    clerk = as_user("clerk")
    page = clerk.get(GRID, params={"search": prefix, "sort": "lot_number"})
    fields = grid_fields(page.text).fields
    typed = {"r0-lot_number": f"{prefix}-typed", "bulk_column": "verified", "action": "bulk"}
    response = post_form(clerk, f"{GRID}?search={prefix}&sort=lot_number", submit(fields, typed))
    assert response.status_code == 400
    assert "You have unsaved changes in 1 row: save them first" in response.text
    assert f'value="{prefix}-typed"' in response.text


def test_bulk_values_are_validated_like_the_form(
    as_user: Any, demo_db_url: str, scratch: Scratch
) -> None:
    prefix = lot_prefix()
    ids = scratch.immunizations(prefix, 2)
    clerk = as_user("clerk")
    location = choose(clerk, prefix, [0, 1], "dose_no")
    bad = preview(clerk, location, "many")
    assert bad.status_code == 400
    assert "Not a valid integer value." in bad.text and "dd-bulk-confirm" not in bad.text
    lot = preview(clerk, choose(clerk, prefix, [0], "lot_number"), "L" * 21)
    assert "Field cannot be longer than 20 characters." in lot.text
    # A crafted confirmation with a bad value is refused the same way.
    crafted = post_form(
        clerk,
        BULK,
        [("column", "dose_no"), ("rows", "all"), ("search", prefix), ("set-dose_no", "x")],
    )
    assert crafted.status_code == 400
    confirmed = form_of(preview(clerk, location, "3").text, "dd-bulk-confirm")
    without_value = [(n, v) for n, v in confirmed if not n.startswith("set-")]
    missing = post_form(clerk, BULK, without_value)
    assert missing.status_code == 400 and "the new value was not sent" in missing.text
    assert [int(immunization(demo_db_url, i).dose) for i in ids] == [1, 1]


def test_bulk_set_keeps_rows_in_scope_and_columns_allowed(as_user: Any, demo_db_url: str) -> None:
    clerk = as_user("clerk")
    html = clerk.get("/admin/staff/grid", params={"sort": "employee_no"}).text
    key = dict(grid_fields(html).fields)["k0"]
    foreign_dept = query(demo_db_url, "SELECT MIN(DEPT_ID) FROM DEPARTMENTS WHERE DEPT_ID <> 3")[0][
        0
    ]
    base = [("column", "dept_id"), ("rows", "chosen"), ("pks", key), ("step", "preview")]
    shown = clerk.get("/admin/staff/bulk-set", params=[*base, ("set-dept_id", str(foreign_dept))])
    assert shown.status_code == 200 and "1 row will change" in re.sub(r"<[^>]+>", "", shown.text)
    refused = post_form(clerk, "/admin/staff/bulk-set", form_of(shown.text, "dd-bulk-confirm"))
    assert refused.status_code == 409
    assert "outside the rows you may edit" in refused.text
    assert query(demo_db_url, "SELECT DEPT_ID FROM STAFF WHERE STAFF_ID = :i", i=key)[0][0] == 3
    for column in ("salary", "employee_no", "email"):  # hidden, read-only, not grid-editable
        response = clerk.get("/admin/staff/bulk-set", params=[("column", column), *base[1:]])
        assert response.status_code == 400, column
        assert "choose a column that can be edited in the grid" in response.text
    other = query(demo_db_url, "SELECT MIN(STAFF_ID) FROM STAFF WHERE DEPT_ID <> 3")[0][0]
    outside = clerk.get(
        "/admin/staff/bulk-set",
        params=[("column", "active"), ("rows", "chosen"), ("pks", str(other)), ("step", "preview")],
    )
    assert "not rows you may edit" in outside.text and "dd-bulk-confirm" not in outside.text


def test_bulk_set_needs_rows_and_stays_under_the_row_cap(
    app_factory: Any, demo_db_url: str, tmp_path: Path
) -> None:
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["app"]["count_cap"] = 100
    path = tmp_path / "capped.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with SignedInClient(app_factory(path), follow_redirects=False) as admin:
        admin.csrf = sign_in(admin, "admin")
        none_chosen = admin.get(BULK, params={"column": "verified", "rows": "chosen"})
        assert none_chosen.status_code == 400
        assert "choose the rows to change first" in none_chosen.text
        too_many = admin.get(BULK, params={"column": "verified", "rows": "all", "step": "preview"})
        assert too_many.status_code == 400
        assert "more than 100 rows match; narrow the search or filters first" in too_many.text
        keys = [("pks", str(n)) for n in range(1, 203)]
        huge = admin.get(BULK, params=[("column", "verified"), ("rows", "chosen"), *keys])
        assert huge.status_code == 400 and "202 rows chosen; at most 200 at once" in huge.text
