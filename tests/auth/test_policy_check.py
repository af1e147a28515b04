"""``find_role_problems``: every problem in the roles section named by its YAML path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.config.loader import parse_config
from datadesk.config.roles_check import find_role_problems, rule_value
from datadesk.config.schema import Config, RoleConfig, RowRule, TableGrant
from datadesk.errors import ConfigError
from datadesk.models.catalog import Catalog
from datadesk.models.reflection import reflect_catalog
from tests.auth.policy_schema import ROLES, catalog, engine, make_config
from tests.auth.test_policy_rules import oracle_catalog

__all__ = ["catalog", "engine"]  # fixtures used by name


def problems(catalog: Catalog, grants: dict[str, Any], role: str = "clerk") -> list[str]:
    """The problems of one role with these table grants."""
    return find_role_problems(make_config({role: {"tables": grants}}), catalog)


def rule(**fields: Any) -> dict[str, Any]:
    """A grant on staff with one row rule."""
    return {"staff": {"actions": ["list"], "rows": [fields]}}


def test_the_test_roles_are_sound(catalog: Catalog) -> None:
    assert find_role_problems(make_config(ROLES), catalog) == []


def test_unknown_tables(catalog: Catalog, engine: sa.Engine) -> None:
    assert problems(catalog, {"staf": {}}) == [
        "roles.clerk.tables.staf: no such table (did you mean 'staff'?)"
    ]
    assert problems(catalog, {"payslips": {}}) == ["roles.clerk.tables.payslips: no such table"]
    roles = {"clerk": {"tables": {"visits": {"actions": ["list"]}}}}
    config = make_config(roles, database={"exclude": ["VISITS"]})
    narrow = reflect_catalog(engine, config, cache_dir=None)
    assert find_role_problems(config, narrow) == [
        "roles.clerk.tables.visits: table is not served (excluded by database.include/exclude)"
    ]


def test_table_names_are_not_case_sensitive(catalog: Catalog) -> None:
    assert problems(catalog, {"STAFF": {"actions": ["list"]}}) == []
    assert problems(catalog, {"staff": {}, "Staff": {}}) == [
        "roles.clerk.tables.Staff: same table as 'staff' (table names are not case-sensitive);"
        " merge the two"
    ]


def test_unknown_columns(catalog: Catalog) -> None:
    grants = {"staff": {"hidden": ["salry"], "read_only": ["LAST_NAME", "lastname"]}}
    assert problems(catalog, grants) == [
        "roles.clerk.tables.staff.hidden[0]: no such column 'salry' (did you mean 'salary'?)",
        "roles.clerk.tables.staff.read_only[1]: no such column 'lastname'"
        " (did you mean 'last_name'?)",
    ]


def test_star_grants_name_columns_of_some_table(catalog: Catalog) -> None:
    grants = {"*": {"hidden": ["salary", "salery"], "rows": [{"column": "dept", "equals": 1}]}}
    assert problems(catalog, grants) == [
        "roles.clerk.tables.*.hidden[1]: no table has a column 'salery' (did you mean 'salary'?)",
        "roles.clerk.tables.*.rows[0].column: no table has a column 'dept'"
        " (did you mean 'dept_id'?)",
    ]
    assert problems(catalog, {"*": {"rows": [{"column": "dept_id", "equals": "x"}]}}) == [
        "roles.clerk.tables.*.rows[0].equals: 'x' is not an integer value for dept_id"
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"column": "dept", "equals": 1},
            "rows[0].column: no such column 'dept' (did you mean 'dept_id'?)",
        ),
        (
            {"column": "dept_id", "within_days": 3},
            "rows[0].within_days: needs a date column; staff.dept_id is INTEGER",
        ),
        (
            {"column": "dept_id", "equals": "abc"},
            "rows[0].equals: 'abc' is not an integer value for dept_id",
        ),
        (
            {"column": "dept_id", "equals": 1.5},
            "rows[0].equals: '1.5' is not an integer value for dept_id",
        ),
        (
            {"column": "dept_id", "in": [1, "x", 3]},
            "rows[0].in[1]: 'x' is not an integer value for dept_id",
        ),
        ({"column": "dept_id", "in": []}, "rows[0].in: an empty list matches no row"),
        (
            {"column": "status", "equals": True},
            "rows[0].equals: true is a yes/no value, not a text (quote it?) for status",
        ),
        (
            {"column": "status", "equals": ""},
            "rows[0].equals: no value (empty text is NULL on Oracle and matches no row) for status",
        ),
        (
            {"column": "active", "equals": "maybe"},
            "rows[0].equals: 'maybe' is not a boolean value for active",
        ),
        (
            {"column": "hired_on", "equals": "yesterday"},
            "rows[0].equals: 'yesterday' is not a date value for hired_on",
        ),
        (
            {"column": "dept_id", "equals_user": "department id"},
            "rows[0].equals_user: an attribute name is letters, digits and '_'",
        ),
        (
            {"column": "dept_id", "in_table": {"table": "depts", "column": "dept_id"}},
            "rows[0].in_table.table: no such table (did you mean 'dept'?)",
        ),
        (
            {"column": "dept_id", "in_table": {"table": "dept", "column": "id"}},
            "rows[0].in_table.column: no such column 'id'",
        ),
        (
            {"column": "dept_id", "in_table": {"table": "dept", "column": "dept_name"}},
            "rows[0].in_table.column: dept.dept_name (text) cannot hold the values of dept_id"
            " (integer)",
        ),
        (
            {
                "column": "dept_id",
                "in_table": {
                    "table": "dept",
                    "column": "dept_id",
                    "where": [{"column": "name", "equals": "x"}],
                },
            },
            "rows[0].in_table.where[0].column: no such column 'name' (did you mean 'dept_name'?)",
        ),
    ],
)
def test_unusable_rules(catalog: Catalog, fields: dict[str, Any], expected: str) -> None:
    found = problems(catalog, rule(**fields))
    assert found == [f"roles.clerk.tables.staff.{expected}"]


def test_a_rule_needs_exactly_one_operator(catalog: Catalog) -> None:
    text = """\
roles:
  clerk:
    tables:
      staff:
        actions: [list]
        rows:
          - {column: dept_id, equals_user: department_id}
          - column: status
            equals: ACTIVE
            in: [ACTIVE]
          - {column: status}
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).splitlines() == [
        "datadesk.yaml:8: roles.clerk.tables.staff.rows[1]: a row rule needs exactly one of"
        " equals, equals_user, in, within_days, in_table (found equals and in)",
        "datadesk.yaml:11: roles.clerk.tables.staff.rows[2]: a row rule needs exactly one of"
        " equals, equals_user, in, within_days, in_table (found none)",
    ]
    # A config built in code without validation is checked all the same.
    unchecked = RowRule.model_construct(column="status")
    grant = TableGrant.model_construct(actions=("list",), rows=(unchecked,))
    config = Config.model_construct(
        roles={"clerk": RoleConfig.model_construct(tables={"staff": grant})}
    )
    assert find_role_problems(config, catalog) == [
        "roles.clerk.tables.staff.rows[0]: a row rule needs exactly one of equals, equals_user,"
        " in, within_days, in_table (found none)"
    ]


def test_role_names_and_the_admin_role(catalog: Catalog) -> None:
    config = make_config(
        {
            "admin": {"label": "Administrator", "tables": {"staff": {"actions": ["list"]}}},
            "night shift": {},
            "data_manager": {"label": "Data manager"},
        }
    )
    assert find_role_problems(config, catalog) == [
        "roles.admin: the admin role may always do everything; give it only a label and a"
        " description",
        "roles.night shift: a role name is letters, digits, '_', '.' and '-', starting with a"
        " letter",
    ]
    assert find_role_problems(make_config({"admin": {"label": "Administrator"}}), catalog) == []


def test_columns_that_cannot_be_compared() -> None:
    config = make_config({}, tables={})
    md_catalog = oracle_catalog(config)
    notes = {"column": "notes", "equals": "x"}
    found = find_role_problems(
        make_config({"r": {"tables": {"staff": {"rows": [notes]}}}}, tables={}), md_catalog
    )
    assert found == [
        "roles.r.tables.staff.rows[0].column: cannot be compared in a row rule; staff.notes is CLOB"
    ]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("integer", "  42 ", 42),
        ("integer", 42.0, 42),
        ("boolean", "Y", True),
        ("boolean", 0, False),
        ("text", 7, "7"),
        ("date", "2024-06-15T10:00", dt.date(2024, 6, 15)),
    ],
)
def test_rule_values_take_the_column_type(kind: str, value: Any, expected: Any) -> None:
    assert rule_value(kind, value) == expected
