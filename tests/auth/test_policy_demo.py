"""The demo's roles: valid against the demo schema, and each sees what the issue promises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import ACTIONS, RolePolicy
from datadesk.config.loader import load_config
from datadesk.config.roles_check import find_role_problems
from datadesk.config.schema import Config
from datadesk.demo.build import build_demo
from datadesk.models.catalog import Catalog
from datadesk.models.engine import create_db_engine
from datadesk.models.reflection import reflect_catalog
from datadesk.settings import DEMO_CONFIG

REFERENCE = ("departments", "staff_categories", "programmes", "vaccines", "trainings")


@pytest.fixture
def demo(fresh_db_url: str) -> Iterator[tuple[sa.Engine, Config, Catalog]]:
    """A small demo database with its config and catalog."""
    engine = create_db_engine(fresh_db_url)
    try:
        build_demo(engine, immunizations=400)
        config = load_config(DEMO_CONFIG)
        yield engine, config, reflect_catalog(engine, config, cache_dir=None)
    finally:
        engine.dispose()


def test_demo_roles(demo: tuple[sa.Engine, Config, Catalog]) -> None:
    engine, config, catalog = demo
    assert find_role_problems(config, catalog) == []
    policy = RolePolicy(config, catalog)
    assert set(policy.role_names()) == {"admin", "clerk", "data_manager", "official", "auditor"}

    staff, imm = catalog.tables["staff"].table, catalog.tables["immunizations"].table
    with engine.connect() as conn:
        immunized = imm.c[_db(catalog, "immunizations", "staff_id")]
        dept = conn.scalar(
            sa.select(staff.c[_db(catalog, "staff", "dept_id")]).where(
                staff.c[_db(catalog, "staff", "staff_id")]
                == sa.select(sa.func.min(immunized)).scalar_subquery()
            )
        )
        clerk = Actor("clerk1", frozenset({"clerk"}), {"department_id": str(dept)})
        access = policy.access(clerk, "staff")
        departments = set(
            conn.scalars(
                access.restrict(sa.select(staff.c[_db(catalog, "staff", "dept_id")]), "list")
            )
        )
        assert departments == {dept}
        own_staff = set(
            conn.scalars(
                access.restrict(sa.select(staff.c[_db(catalog, "staff", "staff_id")]), "list")
            )
        )
        imm_access = policy.access(clerk, "immunizations")
        staff_of_rows = set(
            conn.scalars(
                imm_access.restrict(
                    sa.select(imm.c[_db(catalog, "immunizations", "staff_id")]), "list"
                )
            )
        )
        assert staff_of_rows and staff_of_rows <= own_staff
        assert imm_access.row_matches(
            {"staff_id": min(own_staff)}, action="create", connection=conn
        )
    assert "salary" in access.hidden and "employee_no" in access.read_only
    assert access.actions == {"list", "view", "create", "edit"}
    assert not policy.access(clerk, "students").can("list")
    assert "students" not in policy.visible_tables(clerk)

    manager = Actor("dm", frozenset({"data_manager"}), {})
    for table in REFERENCE:
        assert policy.access(manager, table).actions == set(ACTIONS) - {"delete"}, table
    assert policy.access(manager, "staff").actions == set(ACTIONS)
    assert policy.access(manager, "legacy_access_log").actions == {"list", "view", "export"}

    official = Actor("o", frozenset({"official"}), {})
    assert set(policy.visible_tables(official)) == set(catalog.tables)
    assert policy.access(official, "staff").actions == {"list", "view", "export"}
    assert "salary" in policy.access(official, "staff").hidden

    auditor = Actor("a", frozenset({"auditor"}), {})
    assert policy.can_audit(auditor) and not policy.can_audit(official)
    assert not policy.can_manage_users(auditor)
    assert policy.can_manage_users(Actor("root", frozenset({"admin"}), {}))


def _db(catalog: Catalog, table: str, column: str) -> str:
    """The database name of a demo column."""
    return catalog.tables[table].columns[column].db_name
