"""The access policy over a reflected schema: which rows, actions and columns each role gets.

Row filters are executed against real rows (SQLite, or PostgreSQL with
DATADESK_TEST_DATABASE_URL) and the test asserts exactly which keys each actor sees.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.auth.actor import SYSTEM, Actor
from datadesk.auth.policy import ACTIONS, RolePolicy
from datadesk.errors import AccessDenied, ConfigError, NotFound
from datadesk.models.catalog import Catalog
from tests.auth.policy_schema import (
    actor,
    catalog,
    clock,
    engine,
    make_config,
    policy,
    visible_keys,
)

__all__ = ["catalog", "clock", "engine", "policy"]  # fixtures used by name

ALL_STAFF = {1, 2, 3, 4, 5}
ALL_VISITS = {10, 11, 12, 13, 14, 15}
ALL_DEPTS = {1, 2, 3}
NOTHING: set[Any] = set()

# actor -> table -> the keys of the rows its list filter lets through (None: no list access)
MATRIX: list[tuple[str, Actor, dict[str, set[Any] | None]]] = [
    (
        "clerk of department 1",
        actor("clerk", department_id="1"),
        {"staff": {1, 2}, "visits": {10, 11}, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "clerk of department 2",
        actor("clerk", department_id="2"),
        {"staff": {3, 4}, "visits": {12, 13}, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "clerk without a department",
        actor("clerk"),
        {"staff": NOTHING, "visits": NOTHING, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "clerk with an unusable department",
        actor("clerk", department_id="sales"),
        {"staff": NOTHING, "visits": NOTHING, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "official",
        actor("official"),
        {"staff": ALL_STAFF, "visits": ALL_VISITS, "dept": ALL_DEPTS, "v_staff": {1, 2, 3, 4, 5}},
    ),
    (
        "recent visits only",
        actor("recent"),
        {"staff": None, "visits": {10, 11, 14}, "dept": None, "v_staff": None},
    ),
    (
        "active staff only, no departments",
        actor("active_only"),
        {"staff": {1, 3}, "visits": ALL_VISITS, "dept": None, "v_staff": {1, 2, 3, 4, 5}},
    ),
    (
        "clerk and recent: the union",
        actor("clerk", "recent", department_id="1"),
        {"staff": {1, 2}, "visits": {10, 11, 14}, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "clerk and payroll: the union",
        actor("clerk", "payroll", department_id="1"),
        {"staff": ALL_STAFF, "visits": {10, 11}, "dept": ALL_DEPTS, "v_staff": None},
    ),
    (
        "admin",
        actor("admin"),
        {"staff": ALL_STAFF, "visits": ALL_VISITS, "dept": ALL_DEPTS, "v_staff": {1, 2, 3, 4, 5}},
    ),
    (
        "a role nobody configured",
        actor("intern"),
        {"staff": None, "visits": None, "dept": None, "v_staff": None},
    ),
]


@pytest.mark.parametrize(("who", "user", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_rows_each_actor_sees(
    who: str,
    user: Actor,
    expected: dict[str, set[Any] | None],
    policy: RolePolicy,
    catalog: Catalog,
    engine: sa.Engine,
) -> None:
    for table, keys in expected.items():
        access = policy.access(user, table)
        if keys is None:
            assert not access.can("list"), f"{who} may list {table}"
            assert visible_keys(engine, catalog, table, access.where_for("list")) == NOTHING
            continue
        assert access.can("list"), f"{who} may not list {table}"
        assert visible_keys(engine, catalog, table, access.where_for("list")) == keys, table
        assert visible_keys(engine, catalog, table, access.row_filter()) >= keys, table
    listed = {table for table, keys in expected.items() if keys is not None}
    assert set(policy.visible_tables(user)) == listed


def test_no_access_filters_every_row_out(policy: RolePolicy, engine: sa.Engine) -> None:
    access = policy.access(actor("intern"), "staff")
    assert access.actions == frozenset()
    assert str(access.row_filter()) == "1 = 0"
    assert not access.row_matches({"dept_id": 1})
    assert access.hidden == {"staff_id", "dept_id", "last_name", "status", "salary", "active"} | {
        "hired_on",
        "badge",
    }
    with pytest.raises(AccessDenied):
        access.require("list")


def test_per_action_rows_of_a_union(
    policy: RolePolicy, catalog: Catalog, engine: sa.Engine
) -> None:
    """Clerk creates and edits in department 1; payroll edits departments 2 and 3."""
    access = policy.access(actor("clerk", "payroll", department_id="1"), "staff")
    assert access.actions == {"list", "view", "create", "edit"}
    assert visible_keys(engine, catalog, "staff", access.where_for("edit")) == ALL_STAFF
    assert visible_keys(engine, catalog, "staff", access.where_for("create")) == {1, 2}
    assert visible_keys(engine, catalog, "staff", access.where_for("view")) == {1, 2}
    assert visible_keys(engine, catalog, "staff", access.where_for("delete")) == NOTHING
    assert access.row_matches({"dept_id": 3}, action="edit")
    assert not access.row_matches({"dept_id": 3}, action="create")
    assert access.row_matches({"dept_id": 1}, action="create")


def test_admin_may_do_everything(policy: RolePolicy, engine: sa.Engine) -> None:
    for admin in (actor("admin"), SYSTEM, actor("admin", "intern")):
        access = policy.access(admin, "staff")
        assert access.actions == set(ACTIONS)
        assert access.row_filter() is None
        assert access.where_for("delete") is None
        assert access.row_matches({})
        assert policy.can_manage_users(admin) and policy.can_audit(admin)
    assert policy.access(actor("admin"), "v_staff").actions == {"list", "view", "export"}


def test_the_table_config_hides_a_column_from_everybody(policy: RolePolicy) -> None:
    for user in (actor("admin"), actor("official"), actor("editor")):
        access = policy.access(user, "staff")
        assert "badge" in access.hidden
        assert access.visible_columns(["last_name", "badge"]) == ["last_name"]
        assert access.writable_columns(["badge"]) == []


def test_hidden_and_read_only_columns_are_united(policy: RolePolicy) -> None:
    clerk = policy.access(actor("clerk", department_id="1"), "staff")
    assert clerk.hidden == {"salary", "badge"}
    assert clerk.read_only == {"status"}  # visible but not writable; hidden is never writable
    names = ["staff_id", "dept_id", "last_name", "status", "salary", "active"]
    assert clerk.visible_columns(names) == ["staff_id", "dept_id", "last_name", "status", "active"]
    assert clerk.writable_columns(names) == ["staff_id", "dept_id", "last_name", "active"]

    # Payroll neither hides salary nor protects status: the union shows and writes them on edit,
    # but only the clerk creates, and the clerk may not write status or see salary.
    both = policy.access(actor("clerk", "payroll", department_id="1"), "staff")
    assert both.hidden == {"badge"}
    assert both.writable_columns(names, "edit") == names
    assert both.writable_columns(names, "create") == ["staff_id", "dept_id", "last_name", "active"]
    assert both.writable_columns(names, "list") == []

    official = policy.access(actor("official"), "staff")
    assert official.hidden == {"salary", "badge"}
    assert official.read_only == {"staff_id", "dept_id", "last_name", "status", "active"} | {
        "hired_on"
    }
    assert official.writable_columns(names) == []


def test_named_grant_replaces_the_star_grant(policy: RolePolicy) -> None:
    user = actor("active_only")
    assert policy.access(user, "staff").actions == {"list", "view"}
    assert policy.access(user, "visits").actions == {"list"}
    assert policy.access(user, "dept").actions == frozenset()  # `dept: {}` takes it away
    assert policy.access(user, "visits").row_filter() is None


def test_read_only_tables_are_never_written(policy: RolePolicy) -> None:
    editor = actor("editor")
    assert policy.access(editor, "staff").actions == {
        "list",
        "view",
        "create",
        "edit",
        "delete",
        "import",
    }
    assert policy.access(editor, "v_staff").actions == {"list", "view"}
    assert policy.access(editor, "v_staff").writable_columns(["staff_id", "last_name"]) == []


def test_users_and_audit_rights(policy: RolePolicy) -> None:
    assert policy.can_manage_users(actor("manager"))
    assert not policy.can_manage_users(actor("clerk", "official"))
    assert policy.can_audit(actor("auditor", "clerk"))
    assert not policy.can_audit(actor("official"))
    assert policy.role_names()[0] == "admin"
    assert set(policy.role_names()) == {"admin", *make_config().roles}


def test_access_is_cached_by_what_the_rules_read(policy: RolePolicy) -> None:
    first = policy.access(actor("clerk", department_id="1"), "STAFF")
    assert policy.access(actor("clerk", department_id="1", site="x"), "staff") is first
    assert policy.access(actor("clerk", department_id="2"), "staff") is not first
    assert policy.access(actor("official", site="x"), "staff") is policy.access(
        actor("official"), "staff"
    )


def test_unknown_table(policy: RolePolicy) -> None:
    with pytest.raises(NotFound):
        policy.access(actor("admin"), "payslips")


def test_a_policy_is_never_built_from_bad_roles(catalog: Catalog) -> None:
    roles = {"clerk": {"tables": {"staff": {"actions": ["list"], "hidden": ["salry"]}}}}
    with pytest.raises(ConfigError, match=r"roles\.clerk\.tables\.staff\.hidden\[0\]"):
        RolePolicy(make_config(roles), catalog)
