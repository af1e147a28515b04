"""Reflecting real legacy-style DDL on the test backend (SQLite or PostgreSQL) into a Catalog."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from datadesk.config.schema import Config
from datadesk.errors import SchemaError
from datadesk.models.catalog import Catalog
from datadesk.models.reflection import build_catalog, reflect_catalog, reflect_metadata
from tests.models.conftest import auto_key, raw_rows, run_ddl


def legacy_schema(engine: sa.Engine) -> None:
    """A small personnel schema written the way legacy Oracle schemas are."""
    key = auto_key(engine)
    run_ddl(
        engine,
        [
            f"CREATE TABLE DEPT (DEPT_ID {key}, DEPT_NAME VARCHAR(60) NOT NULL, SITE_CODE CHAR(4))",
            f"""CREATE TABLE STAFF (
                STAFF_ID {key},
                DEPT_ID INTEGER REFERENCES DEPT (DEPT_ID),
                SUPERVISOR_ID INTEGER REFERENCES STAFF (STAFF_ID),
                LAST_NAME VARCHAR(40) NOT NULL,
                FIRST_NAME VARCHAR(40),
                BADGE CHAR(8),
                ACTIVE CHAR(1) DEFAULT 'Y' NOT NULL CONSTRAINT STAFF_ACTIVE_YN
                    CHECK (ACTIVE IN ('Y','N')),
                ON_LEAVE NUMERIC(1) DEFAULT 0 CHECK (ON_LEAVE IN (0, 1)),
                STATUS VARCHAR(1) CHECK (STATUS IN ('A','I','P')),
                SALARY NUMERIC(10,2),
                GRADE_POINTS NUMERIC,
                DATE_OF_BIRTH DATE,
                NOTES TEXT,
                CREATED_AT TIMESTAMP
            )""",
            """CREATE TABLE COURSE_ENROLMENT (
                STAFF_ID INTEGER NOT NULL REFERENCES STAFF (STAFF_ID),
                COURSE_CODE VARCHAR(10) NOT NULL,
                TERM_NO INTEGER NOT NULL,
                GRADE VARCHAR(2),
                PRIMARY KEY (STAFF_ID, COURSE_CODE, TERM_NO)
            )""",
            """CREATE TABLE BADGE_SCANS (
                BADGE CHAR(8) NOT NULL, SCANNED_AT TIMESTAMP NOT NULL, GATE VARCHAR(10),
                UNIQUE (BADGE, SCANNED_AT)
            )""",
            "CREATE TABLE AUDIT_TRAIL (ID INTEGER PRIMARY KEY, WHAT VARCHAR(100))",
            """CREATE VIEW V_ACTIVE_STAFF AS
                SELECT STAFF_ID, LAST_NAME, DEPT_ID FROM STAFF WHERE ACTIVE = 'Y'""",
        ],
    )


def catalog_of(engine: sa.Engine, settings: dict[str, Any] | None = None) -> Catalog:
    """Reflect and build, without any cache."""
    return reflect_catalog(engine, Config.model_validate(settings or {}), cache_dir=None)


def test_tables_views_and_kinds(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(engine)
    assert set(catalog.tables) == {
        "dept",
        "staff",
        "course_enrolment",
        "badge_scans",
        "audit_trail",
        "v_active_staff",
    }
    staff = catalog.tables["staff"]
    kinds = {name: col.kind for name, col in staff.columns.items()}
    assert kinds == {
        "staff_id": "integer",
        "dept_id": "integer",
        "supervisor_id": "integer",
        "last_name": "text",
        "first_name": "text",
        "badge": "text",
        "active": "boolean",
        "on_leave": "boolean",
        "status": "text",
        "salary": "decimal",
        "grade_points": "number",
        "date_of_birth": "date",
        "notes": "long_text",
        "created_at": "datetime",
    }
    assert staff.columns["active"].flag_style == "yn"
    assert staff.columns["on_leave"].flag_style == "01"
    assert staff.columns["status"].choices == ("A", "I", "P")
    assert staff.columns["last_name"].length == 40 and not staff.columns["last_name"].nullable
    assert staff.columns["staff_id"].is_generated and staff.columns["staff_id"].is_primary_key
    assert not staff.columns["staff_id"].nullable
    assert catalog.dialect_name == engine.dialect.name


def test_labels_are_humanised(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(engine)
    staff = catalog.tables["staff"]
    assert (staff.label, staff.label_plural) == ("Staff", "Staff")
    assert staff.columns["date_of_birth"].label == "Date of birth"
    assert staff.columns["dept_id"].label == "Department"
    assert staff.columns["supervisor_id"].label == "Supervisor"
    assert staff.columns["staff_id"].label == "Staff ID"
    assert staff.row_label == "{last_name}, {first_name}"
    dept = catalog.tables["dept"]
    assert (dept.label, dept.label_plural, dept.row_label) == (
        "Department",
        "Departments",
        "{dept_name}",
    )
    scans = catalog.tables["badge_scans"]
    assert (scans.label, scans.label_plural) == ("Badge scan", "Badge scans")


def test_composite_key(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(engine)
    enrolment = catalog.tables["course_enrolment"]
    assert enrolment.primary_key == ("staff_id", "course_code", "term_no")
    assert (enrolment.has_real_key, enrolment.is_read_only) == (True, False)
    assert not any(c.is_generated for c in enrolment.columns.values())
    staff, model = catalog.tables["staff"].model, enrolment.model
    with Session(engine) as session:
        person = staff(last_name="Doe")
        session.add(person)
        session.flush()
        session.add(model(staff_id=person.staff_id, course_code="BLS", term_no=1, grade="A"))
        session.add(model(staff_id=person.staff_id, course_code="BLS", term_no=2))
        session.commit()
        found = session.get(model, (person.staff_id, "BLS", 2))
        assert found is not None and found.grade is None


def test_key_less_table_is_read_only_until_a_key_is_configured(engine: sa.Engine) -> None:
    legacy_schema(engine)
    scans = catalog_of(engine).tables["badge_scans"]
    # SQLite compares timestamps as text: write them the way SQLAlchemy does
    with Session(engine) as session:
        session.execute(
            sa.insert(scans.model),
            [
                {"badge": "AB12", "scanned_at": dt.datetime(2024, 1, 2, 8), "gate": "north"},
                {"badge": "AB12", "scanned_at": dt.datetime(2024, 1, 2, 17), "gate": "south"},
            ],
        )
        session.commit()
    assert (scans.is_read_only, scans.has_real_key) == (True, False)
    assert scans.primary_key == ("badge", "scanned_at", "gate")
    with Session(engine) as session:
        assert len(session.scalars(sa.select(scans.model)).all()) == 2

    keyed = catalog_of(engine, {"tables": {"badge_scans": {"key": ["badge", "scanned_at"]}}})
    scans = keyed.tables["badge_scans"]
    assert (scans.is_read_only, scans.has_real_key, scans.primary_key) == (
        False,
        False,
        ("badge", "scanned_at"),
    )
    model = scans.model
    with Session(engine) as session:
        row = session.scalars(sa.select(model).where(model.gate == "south")).one()
        assert row.badge == "AB12"  # CHAR padding stripped on read
        row.gate = "east"
        session.commit()
    assert sorted(str(r[0]) for r in raw_rows(engine, "SELECT GATE FROM BADGE_SCANS")) == [
        "east",
        "north",
    ]


def test_views_are_read_only(engine: sa.Engine) -> None:
    legacy_schema(engine)
    view = catalog_of(engine, {"tables": {"v_active_staff": {"key": ["staff_id"]}}}).tables[
        "v_active_staff"
    ]
    assert (view.is_view, view.is_read_only, view.primary_key) == (True, True, ("staff_id",))
    without_views = catalog_of(engine, {"database": {"include_views": False}})
    assert "v_active_staff" not in without_views.tables


def test_include_and_exclude_patterns(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(
        engine, {"database": {"include": ["STAFF*", "course_*", "v_*"], "exclude": ["*_TRAIL"]}}
    )
    assert set(catalog.tables) == {"staff", "course_enrolment", "v_active_staff"}
    staff = catalog.tables["staff"]
    # DEPT is reflected to resolve the foreign key but not served, so no relationship to it
    assert staff.columns["dept_id"].foreign_key is None
    assert staff.columns["supervisor_id"].foreign_key is not None
    assert "dept" not in catalog.tables
    excluded = catalog_of(engine, {"database": {"exclude": ["audit_*", "v_*", "badge*"]}})
    assert set(excluded.tables) == {"dept", "staff", "course_enrolment"}


def test_flags_are_stored_legacy_style(engine: sa.Engine) -> None:
    legacy_schema(engine)
    model = catalog_of(engine).tables["staff"].model
    with Session(engine) as session:
        session.add(model(last_name="Doe", active=True, on_leave=True))
        session.add(model(last_name="Roe", active=False, on_leave=False))
        session.commit()
    assert sorted(raw_rows(engine, "SELECT LAST_NAME, ACTIVE, ON_LEAVE FROM STAFF")) == [
        ("Doe", "Y", 1),
        ("Roe", "N", 0),
    ]
    with Session(engine) as session:
        doe = session.scalars(sa.select(model).where(model.active.is_(True))).one()
        assert (doe.last_name, doe.active, doe.on_leave) == ("Doe", True, True)
        roe = session.scalars(sa.select(model).where(model.on_leave == False)).one()  # noqa: E712
        assert roe.active is False


def test_empty_text_is_stored_as_null_and_numbers_are_exact(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(engine)
    staff, dept = catalog.tables["staff"].model, catalog.tables["dept"].model
    with Session(engine) as session:
        unit = dept(dept_name="Surgery", site_code="")
        session.add(unit)
        session.flush()
        person = staff(
            last_name="Doe",
            first_name="",
            badge="AB1",
            dept_id=unit.dept_id,
            salary=Decimal("1234.5"),
            grade_points=Decimal("3.75"),
        )
        session.add(person)
        session.commit()
    assert raw_rows(engine, "SELECT FIRST_NAME FROM STAFF") == [(None,)]
    assert raw_rows(engine, "SELECT SITE_CODE FROM DEPT") == [(None,)]
    with Session(engine) as session:
        person = session.scalars(sa.select(staff)).one()
        assert person.first_name is None
        assert person.badge == "AB1"
        assert person.salary == Decimal("1234.50") and isinstance(person.salary, Decimal)
        assert person.grade_points == Decimal("3.75")
        assert str(person) == "Doe"


def test_relationships_load_only_when_asked(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(engine)
    staff, dept = catalog.tables["staff"].model, catalog.tables["dept"].model
    with Session(engine) as session:
        unit = dept(dept_name="Surgery")
        session.add(unit)
        session.flush()
        boss = staff(last_name="Boss", first_name="Big", dept_id=unit.dept_id)
        session.add(boss)
        session.flush()
        session.add(staff(last_name="Doe", first_name="Ann", supervisor_id=boss.staff_id))
        session.commit()
    with Session(engine) as session:
        doe = session.scalars(sa.select(staff).where(staff.last_name == "Doe")).one()
        with pytest.raises(sa.exc.InvalidRequestError):
            _ = doe.supervisor
    with Session(engine) as session:
        stmt = sa.select(staff).options(
            selectinload(staff.dept), selectinload(staff.supervisor).selectinload(staff.dept)
        )
        doe = session.scalars(stmt.where(staff.last_name == "Doe")).one()
    assert str(doe.supervisor) == "Boss, Big"
    assert str(doe.supervisor.dept) == "Surgery"
    assert doe.dept is None


def test_comments_become_labels(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no table or column comments")
    legacy_schema(engine)
    run_ddl(
        engine,
        [
            "COMMENT ON TABLE STAFF IS 'Employees. One row per employment contract.'",
            "COMMENT ON COLUMN STAFF.BADGE IS 'Badge number. Printed on the access card.'",
            "COMMENT ON COLUMN STAFF.NOTES IS 'Free text'",
        ],
    )
    staff = catalog_of(engine).tables["staff"]
    assert (staff.label, staff.label_plural) == ("Employee", "Employees")
    assert staff.help == "One row per employment contract."
    assert (staff.columns["badge"].label, staff.columns["badge"].help) == (
        "Badge number",
        "Printed on the access card.",
    )
    assert (staff.columns["notes"].label, staff.columns["notes"].help) == ("Free text", None)
    configured = catalog_of(
        engine, {"tables": {"staff": {"columns": {"badge": {"label": "Card"}}}}}
    )
    assert configured.tables["staff"].columns["badge"].label == "Card"


def test_config_marks_columns_and_tables(engine: sa.Engine) -> None:
    legacy_schema(engine)
    catalog = catalog_of(
        engine,
        {
            "tables": {
                "STAFF": {
                    "row_label": "{FIRST_NAME} {last_name:.10}",
                    "columns": {
                        "SALARY": {"read_only": True, "help": "Gross, per year"},
                        "notes": {"hidden": True},
                        "active": {"flag": "none"},
                    },
                },
                "dept": {"read_only": True},
            }
        },
    )
    staff = catalog.tables["staff"]
    assert staff.row_label == "{first_name} {last_name:.10}"
    assert (
        staff.columns["salary"].is_read_only and staff.columns["salary"].help == "Gross, per year"
    )
    assert staff.columns["notes"].is_hidden
    assert staff.columns["active"].kind == "text"
    assert catalog.tables["dept"].is_read_only and catalog.tables["dept"].has_real_key


def test_backend_specific_types(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        run_ddl(
            engine,
            [
                "CREATE TABLE ODDS (ID SERIAL PRIMARY KEY, TAGS TEXT[], DOC JSONB, "
                "REF UUID, BLOB_DATA BYTEA, WORKED INTERVAL, FLAG BOOLEAN, "
                "AMOUNT NUMERIC(12,0), STAMP TIMESTAMP WITH TIME ZONE)"
            ],
        )
    else:
        run_ddl(
            engine,
            [
                "CREATE TABLE ODDS (ID INTEGER PRIMARY KEY, REF RAW(16), BLOB_DATA BLOB, "
                "FLAG BOOLEAN, AMOUNT NUMBER(12), STAMP TIMESTAMP WITH TIME ZONE, "
                "NAME VARCHAR2(30), WHO NVARCHAR2(30))"
            ],
        )
    odds = catalog_of(engine).tables["odds"]
    kinds = {name: col.kind for name, col in odds.columns.items()}
    assert kinds["id"] == "integer" and odds.columns["id"].is_generated
    assert (kinds["ref"], kinds["blob_data"], kinds["flag"]) == ("guid", "binary", "boolean")
    assert (kinds["amount"], kinds["stamp"]) == ("integer", "datetime")
    if engine.dialect.name == "postgresql":
        assert (kinds["tags"], kinds["doc"], kinds["worked"]) == (
            "unsupported",
            "unsupported",
            "interval",
        )
        assert odds.columns["tags"].is_read_only
    else:
        assert (kinds["name"], odds.columns["name"].length, kinds["who"]) == ("text", 30, "text")
    value = uuid.uuid4()
    with Session(engine) as session:
        session.add(odds.model(ref=value, amount=12, flag=True))
        session.commit()
    with Session(engine) as session:
        row = session.scalars(sa.select(odds.model)).one()
        assert (row.ref, row.amount, row.flag) == (value, 12, True)
        assert isinstance(row.amount, int)


def test_schema_selection(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        with pytest.raises(SchemaError, match=r"database\.schema"):
            reflect_metadata(engine, Config.model_validate({"database": {"schema": "hr"}}).database)
        return
    run_ddl(
        engine,
        [
            "CREATE SCHEMA hr",
            "CREATE TABLE hr.units (unit_id SERIAL PRIMARY KEY, unit_name VARCHAR(40))",
            "CREATE TABLE public.other (id INTEGER PRIMARY KEY)",
        ],
    )
    try:
        catalog = catalog_of(engine, {"database": {"schema": "HR"}})
        assert set(catalog.tables) == {"units"}
        assert catalog.schema_name == "hr"  # as the database spells it
        model = catalog.tables["units"].model
        with Session(engine) as session:
            session.add(model(unit_name="Ward 7"))
            session.commit()
        assert raw_rows(engine, "SELECT unit_name FROM hr.units") == [("Ward 7",)]
        with pytest.raises(SchemaError, match="no such schema 'nope'"):
            reflect_metadata(
                engine, Config.model_validate({"database": {"schema": "nope"}}).database
            )
    finally:
        run_ddl(engine, ["DROP SCHEMA hr CASCADE"])


def test_build_from_reflected_metadata_is_repeatable(engine: sa.Engine) -> None:
    legacy_schema(engine)
    reflected = reflect_metadata(engine, Config().database)
    assert reflected.views == {"v_active_staff"}
    first = build_catalog(
        reflected.metadata, Config(), reflected.dialect_name, views=reflected.views
    )
    second = build_catalog(
        reflected.metadata,
        Config.model_validate({"tables": {"staff": {"columns": {"active": {"flag": "none"}}}}}),
        reflected.dialect_name,
        views=reflected.views,
    )
    assert first.tables["staff"].columns["active"].kind == "boolean"
    assert second.tables["staff"].columns["active"].kind == "text"
    assert first.tables["staff"].model is not second.tables["staff"].model
