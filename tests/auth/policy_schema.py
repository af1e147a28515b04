"""The policy tests' world: a small legacy-style schema with known rows, its roles, a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog
from datadesk.models.engine import create_db_engine
from datadesk.models.reflection import reflect_catalog

TODAY = dt.date(2024, 6, 15)

DDL = (
    "CREATE TABLE DEPT (DEPT_ID INTEGER PRIMARY KEY, DEPT_NAME VARCHAR(40) NOT NULL)",
    """CREATE TABLE STAFF (
        STAFF_ID INTEGER PRIMARY KEY,
        DEPT_ID INTEGER NOT NULL REFERENCES DEPT (DEPT_ID),
        LAST_NAME VARCHAR(40) NOT NULL,
        STATUS VARCHAR(10) NOT NULL,
        SALARY NUMERIC(10,2),
        ACTIVE CHAR(1) DEFAULT 'Y' NOT NULL CHECK (ACTIVE IN ('Y','N')),
        HIRED_ON DATE,
        BADGE VARCHAR(8)
    )""",
    """CREATE TABLE VISITS (
        VISIT_ID INTEGER PRIMARY KEY,
        STAFF_ID INTEGER REFERENCES STAFF (STAFF_ID),
        VISITED_ON DATE NOT NULL,
        SEEN_AT TIMESTAMP,
        NOTE VARCHAR(100)
    )""",
    "CREATE VIEW V_STAFF AS SELECT STAFF_ID, LAST_NAME FROM STAFF",
)

# STAFF: id, department, name, status, salary, active, hired on
STAFF = (
    (1, 1, "Adams", "ACTIVE", 100, "Y", dt.date(2020, 1, 1)),
    (2, 1, "Baker", "LEAVE", 200, "N", dt.date(2021, 1, 1)),
    (3, 2, "Clark", "ACTIVE", 300, "Y", dt.date(2022, 1, 1)),
    (4, 2, "Davis", "RETIRED", 400, "N", dt.date(2019, 1, 1)),
    (5, 3, "Evans", "ACTIVE", 500, "N", dt.date(2024, 6, 1)),
)
# VISITS: id, staff member, visited on, seen at
VISITS = (
    (10, 1, dt.date(2024, 6, 15), dt.datetime(2024, 6, 15, 9, 0)),
    (11, 1, dt.date(2024, 6, 5), dt.datetime(2024, 6, 8, 0, 0)),
    (12, 3, dt.date(2024, 6, 1), dt.datetime(2024, 6, 7, 23, 59, 59)),
    (13, 3, dt.date(2024, 5, 1), None),
    (14, 5, dt.date(2024, 6, 14), dt.datetime(2024, 6, 20, 8, 0)),
    (15, None, dt.date(2024, 6, 4), None),
)

# Staff of the user's own department, and visits of those staff.
OWN_DEPARTMENT = {"column": "dept_id", "equals_user": "department_id"}
ROLES: dict[str, Any] = {
    "clerk": {
        "tables": {
            "staff": {
                "actions": ["list", "view", "create", "edit"],
                "hidden": ["salary"],
                "read_only": ["STATUS"],
                "rows": [OWN_DEPARTMENT],
            },
            "visits": {
                "actions": ["list", "view", "create", "edit"],
                "rows": [
                    {
                        "column": "staff_id",
                        "in_table": {
                            "table": "staff",
                            "column": "staff_id",
                            "where": [OWN_DEPARTMENT],
                        },
                    }
                ],
            },
            "dept": {"actions": ["list", "view"]},
        }
    },
    "official": {"tables": {"*": {"actions": ["list", "view", "export"], "hidden": ["salary"]}}},
    "recent": {
        "tables": {
            "visits": {"actions": ["list"], "rows": [{"column": "visited_on", "within_days": 10}]}
        }
    },
    "active_only": {
        "tables": {
            "*": {"actions": ["list"]},
            "staff": {
                "actions": ["list", "view"],
                "rows": [
                    {"column": "status", "in": ["ACTIVE"]},
                    {"column": "active", "equals": True},
                ],
            },
            "dept": {},
        }
    },
    "payroll": {
        "tables": {
            "staff": {
                "actions": ["list", "edit"],
                "read_only": ["last_name"],
                "rows": [{"column": "dept_id", "in": [2, "3"]}],
            }
        }
    },
    "editor": {
        "tables": {"*": {"actions": ["list", "view", "create", "edit", "delete", "import"]}}
    },
    "auditor": {"audit": True, "tables": {"*": {"actions": ["list"]}}},
    "manager": {"manage_users": True},
}


def make_config(roles: dict[str, Any] | None = None, **sections: Any) -> Config:
    """A config with the test roles (or ``roles``), staff.badge hidden for everybody."""
    sections.setdefault("tables", {"staff": {"columns": {"badge": {"hidden": True}}}})
    return Config.model_validate({"roles": ROLES if roles is None else roles, **sections})


def actor(*roles: str, **attributes: str) -> Actor:
    """An actor holding ``roles`` with ``attributes``."""
    return Actor("someone", frozenset(roles), attributes)


class Clock:
    """A settable today() for within_days rules."""

    def __init__(self, today: dt.date = TODAY) -> None:
        self.day = today

    def __call__(self) -> dt.date:
        return self.day


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[sa.Engine]:
    """The test schema with its rows on a fresh database (SQLite or PostgreSQL)."""
    created = create_db_engine(fresh_db_url)
    with created.begin() as conn:
        for statement in DDL:
            conn.exec_driver_sql(statement)
        conn.execute(
            sa.text("INSERT INTO DEPT (DEPT_ID, DEPT_NAME) VALUES (:i, :n)"),
            [{"i": i, "n": f"Dept {i}"} for i in (1, 2, 3)],
        )
        conn.execute(
            sa.text(
                "INSERT INTO STAFF (STAFF_ID, DEPT_ID, LAST_NAME, STATUS, SALARY, ACTIVE, HIRED_ON)"
                " VALUES (:i, :d, :n, :s, :p, :a, :h)"
            ).bindparams(sa.bindparam("h", type_=sa.Date())),
            [dict(zip("idnspah", row, strict=True)) for row in STAFF],
        )
        conn.execute(
            # Typed binds store dates the way SQLAlchemy reads and compares them on SQLite.
            sa.text(
                "INSERT INTO VISITS (VISIT_ID, STAFF_ID, VISITED_ON, SEEN_AT)"
                " VALUES (:i, :s, :v, :t)"
            ).bindparams(
                sa.bindparam("v", type_=sa.Date()), sa.bindparam("t", type_=sa.DateTime())
            ),
            [dict(zip("isvt", row, strict=True)) for row in VISITS],
        )
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture
def catalog(engine: sa.Engine) -> Catalog:
    """The reflected catalog of the test schema."""
    return reflect_catalog(engine, make_config(), cache_dir=None)


@pytest.fixture
def clock() -> Clock:
    """Today is 2024-06-15 unless a test moves it."""
    return Clock()


@pytest.fixture
def policy(catalog: Catalog, clock: Clock) -> RolePolicy:
    """The policy of the test roles over the test schema."""
    return RolePolicy(make_config(), catalog, today=clock)


def visible_keys(
    engine: sa.Engine, catalog: Catalog, table: str, where: sa.ColumnElement[bool] | None
) -> set[Any]:
    """The first key column of the rows of ``table`` that ``where`` lets through."""
    info = catalog.tables[table]
    key = info.table.c[info.columns[info.primary_key[0]].db_name]
    statement = sa.select(key) if where is None else sa.select(key).where(where)
    with engine.connect() as conn:
        return set(conn.scalars(statement))
