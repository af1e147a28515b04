"""Building the demo database: counts, refusal to overwrite, replace, atomicity, speed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.demo.build import build_demo, existing_demo_objects, is_demo_built
from datadesk.demo.schema import DEMO_TABLES, drop_schema
from datadesk.demo.seed import DEFAULT_IMMUNIZATIONS, STAFF_COUNT, STUDENT_COUNT
from datadesk.errors import DatadeskError, InvalidInput
from datadesk.models.engine import create_db_engine
from tests.conftest import backend_name


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[sa.Engine]:
    """An engine, configured as the app configures it, on an empty database."""
    db_engine = create_db_engine(fresh_db_url)
    yield db_engine
    db_engine.dispose()


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every demo table, in a stable order."""
    with engine.connect() as conn:
        return {
            name: sorted(
                (tuple(row) for row in conn.exec_driver_sql(f"SELECT * FROM {name}")), key=repr
            )
            for name in DEMO_TABLES
        }


def test_build_reports_the_rows_it_inserted(engine: sa.Engine) -> None:
    assert not is_demo_built(engine)
    counts = build_demo(engine, immunizations=1_000)
    assert is_demo_built(engine)
    assert set(counts) == {name.lower() for name in DEMO_TABLES}
    assert counts["immunizations"] == 1_000
    assert counts["staff"] == STAFF_COUNT
    assert counts["students"] == STUDENT_COUNT
    assert 15 <= counts["departments"] <= 25
    assert counts["legacy_access_log"] >= 200
    with engine.connect() as conn:
        for name, expected in counts.items():
            assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {name}").scalar() == expected


def test_refuses_to_build_over_an_existing_demo(engine: sa.Engine) -> None:
    build_demo(engine, immunizations=200)
    with pytest.raises(DatadeskError) as raised:
        build_demo(engine, immunizations=300)
    message = str(raised.value)
    assert "already exists" in message and "replace" in message
    assert "\n" not in message
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM immunizations").scalar() == 200


def test_replace_rebuilds_the_same_rows(engine: sa.Engine) -> None:
    build_demo(engine, immunizations=1_500)
    first = _snapshot(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM legacy_access_log")
    counts = build_demo(engine, immunizations=1_500, replace=True)
    assert counts["legacy_access_log"] == len(first["LEGACY_ACCESS_LOG"])
    assert _snapshot(engine) == first


def test_replace_works_on_an_empty_database(engine: sa.Engine) -> None:
    counts = build_demo(engine, immunizations=10, replace=True)
    assert counts["immunizations"] == 10


def test_failed_build_leaves_nothing_behind(engine: sa.Engine) -> None:
    # A stray table holding the name of a demo index makes the build fail half-way.
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE STAFF_DEPT_IX (X INTEGER)")
    with pytest.raises(DatadeskError, match="building the demo database failed"):
        build_demo(engine, immunizations=100)
    assert existing_demo_objects(engine) == []


def test_drop_schema_removes_every_demo_object(engine: sa.Engine) -> None:
    build_demo(engine, immunizations=100)
    with engine.begin() as conn:
        drop_schema(conn)
        drop_schema(conn)  # a second drop finds nothing and is not an error
    inspector = sa.inspect(engine)
    assert inspector.get_table_names() == []
    assert inspector.get_view_names() == []
    if backend_name() == "postgresql":
        assert inspector.get_sequence_names() == []
    assert not is_demo_built(engine)


def test_too_many_immunizations_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(InvalidInput, match="immunizations must be between"):
        build_demo(engine, immunizations=10_000_000)
    assert existing_demo_objects(engine) == []


def test_unsupported_database_is_refused_before_connecting() -> None:
    oracle = sa.create_engine("oracle+oracledb://scott:tiger@127.0.0.1:1/?service_name=NONE")
    with pytest.raises(DatadeskError, match="SQLite or PostgreSQL"):
        build_demo(oracle)


@pytest.mark.skipif(backend_name() != "sqlite", reason="journal mode is a SQLite setting")
def test_sqlite_file_is_switched_to_wal(fresh_db_url: str) -> None:
    plain = sa.create_engine(fresh_db_url)  # no listener: the build itself must set WAL
    try:
        build_demo(plain, immunizations=10)
        with plain.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        plain.dispose()


def test_default_build_is_large_and_fast(engine: sa.Engine) -> None:
    started = time.perf_counter()
    counts = build_demo(engine)
    elapsed = time.perf_counter() - started
    assert counts["immunizations"] == DEFAULT_IMMUNIZATIONS >= 100_000
    assert elapsed < 20, f"default demo build took {elapsed:.1f} s"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM immunizations").scalar() >= 100_000
