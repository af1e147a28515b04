"""The demo schema as the database sees it: keys, constraints, view, comments, sequences."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from datadesk.demo.schema import DEMO_SEQUENCES, DEMO_TABLES, DEMO_VIEWS, SURROGATE_KEYS
from tests.conftest import backend_name
from tests.demo.conftest import table_name

ON_POSTGRESQL = backend_name() == "postgresql"


def test_names_are_upper_case_in_the_ddl(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    reported = inspector.get_table_names()
    assert {name.upper() for name in reported} == set(DEMO_TABLES)
    expected_case = str.lower if ON_POSTGRESQL else str.upper  # PostgreSQL folds unquoted names
    assert all(name == expected_case(name) for name in reported)
    assert {name.upper() for name in inspector.get_view_names()} == set(DEMO_VIEWS)


def test_foreign_keys_are_named_and_have_no_orphans(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    checked = 0
    with demo_engine.connect() as conn:
        for table in inspector.get_table_names():
            for fk in inspector.get_foreign_keys(table):
                assert fk["name"], f"unnamed foreign key on {table}"
                (column,) = fk["constrained_columns"]
                (target,) = fk["referred_columns"]
                orphans = conn.exec_driver_sql(
                    f"SELECT COUNT(*) FROM {table} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {fk['referred_table']} p WHERE p.{target} = c.{column})"
                ).scalar()
                assert orphans == 0, f"{table}.{column} has {orphans} orphan rows"
                checked += 1
        if not ON_POSTGRESQL:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert checked >= 15


def test_self_references_are_used(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn:
        children = "SELECT COUNT(*) FROM departments WHERE parent_dept_id IS NOT NULL"
        assert conn.exec_driver_sql(children).scalar() > 10
        supervised = "SELECT COUNT(*) FROM staff WHERE supervisor_id IS NOT NULL"
        assert conn.exec_driver_sql(supervised).scalar() > 1_000


@pytest.mark.parametrize(
    ("table", "column", "bad_value"),
    [
        ("staff", "active", 2),
        ("students", "international", "X"),
        ("immunizations", "verified", "y"),
        ("access_requests", "status", "MAYBE"),
        ("clinical_placements", "grade", "A+"),
        ("programmes", "degree_level", "BSC"),
    ],
)
def test_check_constraints_reject_bad_values(
    demo_engine: sa.Engine, table: str, column: str, bad_value: object
) -> None:
    with demo_engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :value"), {"value": bad_value})
    with demo_engine.connect() as conn:
        count = f"SELECT COUNT(*) FROM {table} WHERE {column} = :value"
        assert conn.execute(sa.text(count), {"value": bad_value}).scalar() == 0


def test_an_immunization_needs_a_person(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.exec_driver_sql(
            "INSERT INTO immunizations (vaccine_code, dose_no, admin_date, verified) "
            "VALUES ('FLU', 1, '2025-05-01', 'N')"
        )


def test_new_rows_get_the_next_key(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn:
        highest = conn.exec_driver_sql("SELECT MAX(dept_id) FROM departments").scalar()
        conn.exec_driver_sql(
            "INSERT INTO departments (dept_code, dept_name, created_date) "
            "VALUES ('TEST', 'Test Unit', '2025-01-01')"
        )
        new_key = conn.exec_driver_sql(
            "SELECT dept_id FROM departments WHERE dept_code = 'TEST'"
        ).scalar()
        conn.rollback()
    assert int(new_key) == int(highest) + 1


def test_view_lists_active_staff(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn:
        listed = conn.exec_driver_sql("SELECT COUNT(*) FROM v_staff_directory").scalar()
        active = conn.exec_driver_sql("SELECT COUNT(*) FROM staff WHERE active = 1").scalar()
        row = conn.exec_driver_sql(
            "SELECT staff_id, dept_name, category_name FROM v_staff_directory ORDER BY staff_id"
        ).first()
    assert 0 < listed == active
    assert row is not None and row[1] and row[2]


def test_legacy_log_has_no_primary_key_but_a_usable_one(demo_engine: sa.Engine) -> None:
    name = table_name(demo_engine, "legacy_access_log")
    assert sa.inspect(demo_engine).get_pk_constraint(name)["constrained_columns"] == []
    with demo_engine.connect() as conn:
        duplicates = conn.exec_driver_sql(
            "SELECT username, access_date FROM legacy_access_log "
            "GROUP BY username, access_date HAVING COUNT(*) > 1"
        ).all()
        assert duplicates == []
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM legacy_access_log").scalar() > 0


def test_certifications_have_a_composite_key(demo_engine: sa.Engine) -> None:
    pk = sa.inspect(demo_engine).get_pk_constraint(table_name(demo_engine, "certifications"))
    assert [column.lower() for column in pk["constrained_columns"]] == ["staff_id", "training_code"]
    assert pk["name"].upper() == "CERTIFICATIONS_PK"


def test_certifications_include_expired_and_soon_expiring(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn:
        expired = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM certifications WHERE expiry_date < '2026-01-01'"
        ).scalar()
        soon = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM certifications "
            "WHERE expiry_date >= '2026-01-01' AND expiry_date < '2026-03-01'"
        ).scalar()
    assert expired >= 100 and soon >= 50


def test_text_limits_are_declared(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    lengths = {
        c["name"].lower(): getattr(c["type"], "length", None)
        for c in inspector.get_columns(table_name(demo_engine, "immunizations"))
    }
    assert lengths["lot_number"] == 20
    staff = {c["name"].lower(): c for c in inspector.get_columns(table_name(demo_engine, "staff"))}
    assert staff["employee_no"]["type"].length == 6
    assert staff["last_name"]["nullable"] is False
    assert staff["notes"]["type"].length is None


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite does not enforce VARCHAR lengths")
def test_too_long_text_is_rejected(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn, pytest.raises(sa.exc.DataError):
        conn.exec_driver_sql("UPDATE immunizations SET lot_number = 'HB2291A-TOO-LONG-FOR-IT'")


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has no table or column comments")
def test_comments_document_tables_and_columns(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    commented = [t for t in inspector.get_table_names() if inspector.get_table_comment(t)["text"]]
    assert len(commented) >= len(DEMO_TABLES) - 2
    columns = {c["name"]: c for c in inspector.get_columns("immunizations")}
    assert "lot number" in (columns["lot_number"]["comment"] or "").lower()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite keys come from INTEGER PRIMARY KEY")
def test_keys_come_from_one_sequence_per_table(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    assert {name.upper() for name in inspector.get_sequence_names()} == set(DEMO_SEQUENCES)
    for table, column in SURROGATE_KEYS.items():
        columns = {c["name"]: c for c in inspector.get_columns(table.lower())}
        default = columns[column.lower()]["default"] or ""
        assert f"nextval('{table.lower()}_seq'" in default


def test_codes_keep_leading_zeros(demo_engine: sa.Engine) -> None:
    with demo_engine.connect() as conn:
        numbers = [row[0] for row in conn.exec_driver_sql("SELECT employee_no FROM staff")]
        students = [row[0] for row in conn.exec_driver_sql("SELECT student_no FROM students")]
    assert all(len(number) == 6 and number.isdigit() for number in numbers)
    assert all(number.startswith("0") for number in numbers)
    assert all(len(number) == 7 and number.startswith("0") for number in students)
