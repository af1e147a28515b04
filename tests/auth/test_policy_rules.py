"""Row rules in detail: values checked in Python, dates against an injected clock, Oracle SQL."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.auth.row_scope import ScopeCheckNeedsDatabase
from datadesk.config.schema import Config
from datadesk.models.builder import build_catalog
from datadesk.models.catalog import Catalog
from tests.auth.policy_schema import (
    TODAY,
    Clock,
    actor,
    catalog,
    clock,
    engine,
    make_config,
    policy,
    visible_keys,
)

__all__ = ["catalog", "clock", "engine", "policy"]  # fixtures used by name

ORACLE = oracle.dialect()


def test_values_match_whatever_their_python_type(policy: RolePolicy) -> None:
    """An int key, its text, a Decimal from a NUMBER column: all the user's department 1."""
    access = policy.access(actor("clerk", department_id="1"), "staff")
    value: object
    for value in (1, "1", " 1 ", Decimal("1"), Decimal("1.0"), 1.0):
        assert access.row_matches({"dept_id": value}), value
    for value in (2, "2", None, "", "one", Decimal("1.5"), True):
        assert not access.row_matches({"dept_id": value}), value
    assert not access.row_matches({"last_name": "Adams"})  # the rule's column is missing


def test_an_attribute_given_as_a_number_like_text(policy: RolePolicy) -> None:
    access = policy.access(actor("clerk", department_id="01"), "staff")
    assert access.row_matches({"dept_id": 1})


def test_in_rules_and_flags(policy: RolePolicy) -> None:
    active = policy.access(actor("active_only"), "staff")
    assert active.row_matches({"status": "ACTIVE", "active": True})
    assert active.row_matches({"status": "ACTIVE", "active": "Y"})
    assert active.row_matches({"status": "ACTIVE", "active": 1})
    assert not active.row_matches({"status": "ACTIVE", "active": "N"})
    assert not active.row_matches({"status": "LEAVE", "active": True})
    assert not active.row_matches({"status": "active", "active": True})  # text is exact
    payroll = policy.access(actor("payroll"), "staff")  # in: [2, '3'] on an integer column
    assert payroll.row_matches({"dept_id": "3"}) and payroll.row_matches({"dept_id": 2})
    assert not payroll.row_matches({"dept_id": 1})


def test_missing_attribute_matches_nothing(
    policy: RolePolicy, catalog: Catalog, engine: sa.Engine
) -> None:
    for user in (actor("clerk"), actor("clerk", department_id=""), actor("clerk", other="1")):
        for table in ("staff", "visits"):
            access = policy.access(user, table)
            assert access.can("list")  # the action is granted, but on no row
            assert visible_keys(engine, catalog, table, access.row_filter()) == set()
            assert not access.row_matches({"dept_id": 1, "staff_id": 1}, connection=None)


def test_within_days_follows_the_clock(
    policy: RolePolicy, clock: Clock, catalog: Catalog, engine: sa.Engine
) -> None:
    access = policy.access(actor("recent"), "visits")
    assert visible_keys(engine, catalog, "visits", access.row_filter()) == {10, 11, 14}
    assert access.row_matches({"visited_on": dt.date(2024, 6, 5)})  # exactly 10 days ago
    assert access.row_matches({"visited_on": dt.datetime(2024, 6, 5, 0, 1)})
    assert access.row_matches({"visited_on": "2024-12-31"})  # later dates are within
    assert not access.row_matches({"visited_on": dt.date(2024, 6, 4)})
    assert not access.row_matches({"visited_on": None})
    assert not access.row_matches({"visited_on": "last week"})

    clock.day = TODAY + dt.timedelta(days=10)
    assert visible_keys(engine, catalog, "visits", access.row_filter()) == {10}
    assert not access.row_matches({"visited_on": dt.date(2024, 6, 5)})
    clock.day = TODAY - dt.timedelta(days=40)
    assert visible_keys(engine, catalog, "visits", access.row_filter()) == set(range(10, 16))


def test_within_days_on_a_column_with_a_time(catalog: Catalog, engine: sa.Engine) -> None:
    """The cutoff is midnight of the day N days ago: 23:59:59 of the day before is out."""
    roles = {"week": {"tables": {"visits": {"actions": ["list"], "rows": [seen_within(7)]}}}}
    access = RolePolicy(make_config(roles), catalog, today=Clock()).access(actor("week"), "visits")
    assert visible_keys(engine, catalog, "visits", access.row_filter()) == {10, 11, 14}
    assert access.row_matches({"seen_at": dt.datetime(2024, 6, 8, 0, 0)})
    assert not access.row_matches({"seen_at": dt.datetime(2024, 6, 7, 23, 59, 59)})
    aware = dt.datetime(2024, 6, 8, 0, 0, tzinfo=dt.UTC)
    assert access.row_matches({"seen_at": aware})


def seen_within(days: int) -> dict[str, Any]:
    """A rule on visits.seen_at."""
    return {"column": "seen_at", "within_days": days}


def test_in_table_checks_values_against_the_database(policy: RolePolicy, engine: sa.Engine) -> None:
    access = policy.access(actor("clerk", department_id="2"), "visits")
    assert access.needs_database
    with engine.connect() as conn:
        assert access.row_matches({"staff_id": 3}, connection=conn)
        assert access.row_matches({"staff_id": "4"}, connection=conn)
        assert not access.row_matches({"staff_id": 1}, connection=conn)
        assert not access.row_matches({"staff_id": 99}, connection=conn)
        assert not access.row_matches({"staff_id": None}, connection=conn)
    with pytest.raises(ScopeCheckNeedsDatabase):
        access.row_matches({"staff_id": 3})
    assert not policy.access(actor("clerk", department_id="2"), "staff").needs_database


def test_in_table_on_the_same_table_is_not_correlated(catalog: Catalog, engine: sa.Engine) -> None:
    """Staff whose department has someone on leave: the subquery reads its own copy of staff."""
    rule = {
        "column": "dept_id",
        "in_table": {
            "table": "staff",
            "column": "dept_id",
            "where": [{"column": "status", "equals": "LEAVE"}],
        },
    }
    roles = {"r": {"tables": {"staff": {"actions": ["list"], "rows": [rule]}}}}
    access = RolePolicy(make_config(roles), catalog).access(actor("r"), "staff")
    assert visible_keys(engine, catalog, "staff", access.row_filter()) == {1, 2}


def test_long_in_lists_work(catalog: Catalog, engine: sa.Engine) -> None:
    wanted = [*range(100, 3100), 2, 4]  # 3002 values
    roles = {
        "r": {
            "tables": {
                "staff": {"actions": ["list"], "rows": [{"column": "staff_id", "in": wanted}]}
            }
        }
    }
    access = RolePolicy(make_config(roles), catalog).access(actor("r"), "staff")
    assert visible_keys(engine, catalog, "staff", access.row_filter()) == {2, 4}
    assert access.row_matches({"staff_id": 2999}) and not access.row_matches({"staff_id": 3})


# -- Oracle ------------------------------------------------------------------------------------


def oracle_catalog(config: Config) -> Catalog:
    """The test tables as reflected from Oracle: NUMBER keys, CHAR(1) flag, DATE with time."""
    md = sa.MetaData()
    sa.Table("dept", md, sa.Column("dept_id", oracle.NUMBER(10, 0), primary_key=True))
    sa.Table(
        "staff",
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_id", oracle.NUMBER(10, 0), sa.ForeignKey("dept.dept_id")),
        sa.Column("status", oracle.VARCHAR2(10)),
        sa.Column("active", oracle.CHAR(1)),
        sa.Column("hired_on", oracle.DATE()),
        sa.Column("salary", oracle.NUMBER(10, 2)),
        sa.Column("notes", oracle.CLOB()),
        sa.CheckConstraint("ACTIVE IN ('Y','N')"),
    )
    sa.Table(
        "visits",
        md,
        sa.Column("visit_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("staff_id", oracle.NUMBER(10, 0), sa.ForeignKey("staff.staff_id")),
        sa.Column("visited_on", oracle.DATE()),
    )
    return build_catalog(md, config, "oracle")


def oracle_sql(clause: sa.ColumnElement[bool] | None, literal: bool = True) -> str:
    """The clause as Oracle SQL text."""
    assert clause is not None
    kwargs = {"literal_binds": True} if literal else {}
    return str(clause.compile(dialect=ORACLE, compile_kwargs=kwargs))


def test_oracle_splits_in_lists_at_1000() -> None:
    values = list(range(1, 2501))
    roles = {
        "r": {
            "tables": {
                "staff": {"actions": ["list"], "rows": [{"column": "staff_id", "in": values}]}
            }
        }
    }
    config = make_config(roles, tables={})
    access = RolePolicy(config, oracle_catalog(config)).access(actor("r"), "staff")
    sql = oracle_sql(access.row_filter())
    lists = re.findall(r"IN \(([^)]*)\)", sql)
    assert [len(items.split(",")) for items in lists] == [1000, 1000, 500]
    assert sql.count(" OR ") == 2
    assert {int(v) for items in lists for v in items.split(",")} == set(values)


def test_oracle_compiles_every_rule_form() -> None:
    roles = {
        "clerk": {
            "tables": {
                "staff": {
                    "actions": ["list"],
                    "rows": [
                        {"column": "dept_id", "equals_user": "department_id"},
                        {"column": "active", "equals": True},
                        {"column": "status", "in": ["ACTIVE", "LEAVE"]},
                        {"column": "hired_on", "within_days": 30},
                    ],
                },
                "visits": {
                    "actions": ["list"],
                    "rows": [
                        {
                            "column": "staff_id",
                            "in_table": {
                                "table": "staff",
                                "column": "staff_id",
                                "where": [{"column": "dept_id", "equals_user": "department_id"}],
                            },
                        }
                    ],
                },
            }
        }
    }
    config = make_config(roles, tables={})
    policy = RolePolicy(config, oracle_catalog(config), today=Clock())
    clerk = actor("clerk", department_id="7")
    staff = oracle_sql(policy.access(clerk, "staff").row_filter(), literal=False)
    assert "staff.dept_id = :dept_id_1" in staff
    assert "staff.active = :active_1" in staff
    assert "staff.status IN (__[POSTCOMPILE_status_1])" in staff
    assert "staff.hired_on >= :hired_on_1" in staff
    params = policy.access(clerk, "staff").row_filter().compile(dialect=ORACLE).params  # type: ignore[union-attr]
    assert params["dept_id_1"] == 7
    assert params["hired_on_1"] == dt.datetime(2024, 5, 16)  # Oracle DATE carries a time
    literal = oracle_sql(policy.access(clerk, "staff").row_filter())
    assert "staff.active = 'Y'" in literal  # the legacy flag binds as stored
    visits = oracle_sql(policy.access(clerk, "visits").row_filter())
    assert re.search(
        r"visits\.staff_id IN \(SELECT (\w+)\.staff_id\s+FROM staff \1\s+WHERE \1\.dept_id = 7\)",
        visits,
    ), visits
    assert " AS " not in visits  # Oracle takes no AS before a table alias
    no_attribute = oracle_sql(policy.access(actor("clerk"), "staff").row_filter())
    assert no_attribute == "1 = 0", no_attribute


def test_attribute_names_are_not_case_sensitive(catalog: Catalog) -> None:
    rules = [{"column": "dept_id", "equals_user": "Department_ID"}]
    roles = {"r": {"tables": {"staff": {"actions": ["list"], "rows": rules}}}}
    policy = RolePolicy(make_config(roles), catalog)
    user = Actor("x", frozenset({"r"}), {"DEPARTMENT_ID": "2"})
    assert user.attributes == {"department_id": "2"}
    assert policy.access(user, "staff").row_matches({"dept_id": 2})


def test_an_actor_does_not_change_with_the_dict_it_was_made_from() -> None:
    attributes = {"department_id": "1"}
    user = Actor("x", frozenset({"clerk"}), attributes)
    attributes["department_id"] = "2"
    assert user.attributes["department_id"] == "1"
    assert user == Actor("x", frozenset({"clerk"}), {"department_id": "1"})
    assert hash(user) == hash(Actor("x", frozenset({"clerk"}), {"department_id": "3"}))
    assert not user.is_admin and Actor("y", frozenset({"admin"})).is_admin
