"""Engines for every backend, and the errors a bad URL or a missing server give."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from datadesk.errors import DatabaseUnavailable
from datadesk.models.engine import (
    WRITE_OPTIONS,
    check_connection,
    create_db_engine,
    describe_url,
    savepoint_journal_in_memory,
)


@pytest.mark.parametrize("url", ["", "not a url", "://nothing"])
def test_malformed_url(url: str) -> None:
    with pytest.raises(DatabaseUnavailable, match="URL"):
        create_db_engine(url)


def test_malformed_url_message_hides_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        create_db_engine("postgresql://scott:s3cret@db.example.org:notaport/hr")
    assert "s3cret" not in str(caught.value)
    assert "db.example.org" in str(caught.value)


def test_unknown_driver() -> None:
    with pytest.raises(DatabaseUnavailable, match="unknown database driver") as caught:
        create_db_engine("nosuchdb://scott:s3cret@db.example.org/hr")
    assert "s3cret" not in caught.value.message


def test_unreachable_server_names_host_but_not_password() -> None:
    engine = create_db_engine("postgresql://scott:s3cret@127.0.0.1:1/payroll")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            check_connection(engine)
    finally:
        engine.dispose()
    message = caught.value.message
    assert "127.0.0.1:1" in message and "payroll" in message
    assert "s3cret" not in message
    assert "\n" not in message
    assert caught.value.status_code == 503


def test_short_urls_get_the_bundled_drivers() -> None:
    pg = create_db_engine("postgres://scott:tiger@localhost/hr")
    ora = create_db_engine("oracle://scott:tiger@db:1521/?service_name=HRPDB")
    try:
        assert pg.dialect.driver == "psycopg"
        assert ora.dialect.driver == "oracledb"
        assert ora.dialect.name == "oracle"  # created without connecting: no server needed
    finally:
        pg.dispose()
        ora.dispose()


def test_describe_url_never_shows_the_password() -> None:
    text = describe_url("oracle+oracledb://scott:tiger@db.example.org:1521/?service_name=HRPDB")
    assert text == "oracle database HRPDB on scott@db.example.org:1521"
    assert describe_url("sqlite:////var/lib/datadesk/demo.sqlite3") == (
        "sqlite database /var/lib/datadesk/demo.sqlite3"
    )


def test_sqlite_creates_its_folder_and_enforces_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "app.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        check_connection(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_engine_is_usable_from_other_threads(tmp_path: Path) -> None:
    import threading

    engine = create_db_engine(f"sqlite:///{tmp_path / 'threads.sqlite3'}", pool_size=2)
    results: list[int] = []

    def query() -> None:
        with engine.connect() as conn:
            results.append(conn.execute(sa.text("SELECT 1")).scalar_one())

    try:
        threads = [threading.Thread(target=query) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.dispose()
    assert results == [1, 1, 1, 1]


def test_in_memory_sqlite_shares_one_connection() -> None:
    engine = create_db_engine("sqlite://")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engine.dispose()


def test_fresh_database_answers(fresh_db_url: str) -> None:
    engine = create_db_engine(fresh_db_url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()


def test_sqlite_read_then_write_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'start')")
    update = sa.text("UPDATE t SET v = :v WHERE id = 1")
    # Begun deferred, a transaction that read before another connection wrote is refused.
    with engine.connect() as reader, engine.connect() as writer:
        reader.exec_driver_sql("SELECT v FROM t").all()
        with writer.begin():
            writer.execute(update, {"v": "other"})
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            reader.execute(update, {"v": "mine"})
    # Begun IMMEDIATE, it holds the write lock from its read on; the other writer waits.
    results: list[str] = []
    with engine.connect().execution_options(**WRITE_OPTIONS) as first:
        with first.begin():
            first.exec_driver_sql("SELECT v FROM t").all()

            def second() -> None:
                with engine.begin() as conn:
                    conn.execute(update, {"v": "second"})
                results.append("second")

            waiting = threading.Thread(target=second)
            waiting.start()
            first.execute(update, {"v": "first"})
            results.append("first")
        waiting.join(timeout=30)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t").scalar() == "second"
    assert results == ["first", "second"]
    engine.dispose()


def test_savepoint_journal_in_memory_for_the_block_only(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'journal.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA temp_store").scalar()
        conn.rollback()
        with savepoint_journal_in_memory(conn), conn.begin():
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            conn.exec_driver_sql("INSERT INTO t VALUES (1, 'kept')")
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("INSERT INTO t VALUES (2, 'undone')")
                    conn.exec_driver_sql("UPDATE t SET v = 'changed' WHERE id = 1")
                    conn.exec_driver_sql("INSERT INTO t VALUES (1, 'duplicate')")
            except sa.exc.IntegrityError:
                pass
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == before
        assert conn.exec_driver_sql("SELECT id, v FROM t").all() == [(1, "kept")]
    engine.dispose()


def test_savepoint_journal_in_memory_is_usable_on_every_backend(fresh_db_url: str) -> None:
    engine = create_db_engine(fresh_db_url)
    with engine.connect() as conn, savepoint_journal_in_memory(conn), conn.begin():
        assert conn.execute(sa.select(sa.literal(1))).scalar() == 1
    engine.dispose()
