"""Create SQLAlchemy engines for the supported databases and test that they answer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from datadesk.errors import DatabaseUnavailable

# Short driver-less URLs are rewritten to the drivers datadesk ships with.
DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "oracle": "oracle+oracledb",
    "sqlite": "sqlite+pysqlite",
}

CONNECT_TIMEOUT_SECONDS = 10
SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE_OPTIONS = {"sqlite_begin": "IMMEDIATE"}
"""Execution options of a connection that reads and then writes in one transaction."""


def parse_database_url(url: str | URL) -> URL:
    """Parse a database URL and fill in the default driver; DatabaseUnavailable if malformed."""
    if isinstance(url, URL):
        parsed = url
    else:
        text = (url or "").strip()
        if not text:
            raise DatabaseUnavailable("database URL is empty")
        try:
            parsed = make_url(text)
        except (exc.ArgumentError, ValueError) as error:
            raise DatabaseUnavailable(f"malformed database URL: {_scrub(text)}") from error
    driver = DEFAULT_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    return parsed


def describe_url(url: str | URL) -> str:
    """A one-line description of a URL that never contains the password."""
    try:
        parsed = url if isinstance(url, URL) else make_url(str(url))
    except (exc.ArgumentError, ValueError):
        return _scrub(str(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return f"sqlite database {parsed.database or ':memory:'}"
    where = parsed.host or "localhost"
    if parsed.port:
        where = f"{where}:{parsed.port}"
    name = parsed.database or parsed.query.get("service_name") or parsed.query.get("sid")
    if isinstance(name, tuple):
        name = name[0] if name else None
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{backend} database {name or '(default)'} on {user}{where}"


def create_db_engine(url: str | URL, *, pool_size: int = 5) -> sa.Engine:
    """A pooled synchronous engine for ``url``; DatabaseUnavailable for bad URLs or drivers."""
    parsed = parse_database_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs.update(_sqlite_options(parsed, pool_size))
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        kwargs["pool_recycle"] = 3600
        if backend == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        elif backend == "oracle":
            kwargs["connect_args"] = {"tcp_connect_timeout": float(CONNECT_TIMEOUT_SECONDS)}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except exc.NoSuchModuleError as error:
        raise DatabaseUnavailable(
            f"unknown database driver {parsed.drivername!r} in URL for {describe_url(parsed)}"
        ) from error
    except (exc.ArgumentError, TypeError, ValueError, ImportError) as error:
        raise DatabaseUnavailable(
            f"cannot use {describe_url(parsed)}: {_first_line(error)}"
        ) from error
    if backend == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def check_connection(engine: sa.Engine) -> None:
    """Open one connection and run a trivial query; DatabaseUnavailable when that fails."""
    query = "SELECT 1 FROM DUAL" if engine.dialect.name == "oracle" else "SELECT 1"
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(query).scalar()
    except exc.SQLAlchemyError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, error)) from error
    except OSError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, error)) from error


def unavailable_message(url: URL, error: BaseException) -> str:
    """The one-line message for a database that did not answer, without the password."""
    original = getattr(error, "orig", None) or error
    reason = _first_line(original)
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return f"cannot connect to {describe_url(url)}: {reason}"


def _sqlite_options(url: URL, pool_size: int) -> dict[str, Any]:
    """Pool and driver options for SQLite; creates the folder of a file database."""
    database = url.database or ""
    is_memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    options: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    }
    if is_memory:
        options["poolclass"] = StaticPool
        return options
    if not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"cannot create the folder of {describe_url(url)}: {error.strerror}"
            ) from error
    options.update(pool_size=pool_size, max_overflow=pool_size * 2)
    return options


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Enforce foreign keys and use write-ahead logging on every new SQLite connection.

    The driver's own transaction handling is switched off (``isolation_level = None``) and
    ``_begin_sqlite_transaction`` emits BEGIN instead: otherwise the driver begins a transaction
    only at the first write, and a SAVEPOINT released before that commits for good.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        row = cursor.execute("PRAGMA journal_mode").fetchone()
        if row and str(row[0]).lower() not in {"wal", "memory"}:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: sa.Connection) -> None:
    """Start SQLite's transaction when SQLAlchemy begins one (see the connect hook).

    A transaction that reads and then writes begins IMMEDIATE (WRITE_OPTIONS): it waits for
    the write lock up front. Begun deferred, it would be refused at once ("database is
    locked", no busy wait) whenever another connection wrote after its read.
    """
    immediate = connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE"
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def savepoint_journal_in_memory(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, keep the connection's savepoint journals in memory for the block (call it
    before the block's transaction begins; elsewhere it does nothing).

    Inside a savepoint SQLite first copies every page a statement changes into a temporary
    sub-journal, so that ROLLBACK TO can restore it. An import writes each batch in a
    savepoint: on disk that journal tripled the writes of a large import (about 190,000
    extra writes per 100,000 rows). In memory it holds one batch's pages at most, released
    with the savepoint. Other connections keep SQLite's temporary files on disk, so a large
    sort is not held in memory.
    """
    raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
    if not isinstance(raw, sqlite3.Connection) or raw.in_transaction:
        yield
        return
    previous = raw.execute("PRAGMA temp_store").fetchone()[0]
    raw.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        if not raw.in_transaction:  # SQLite refuses the change inside a transaction
            raw.execute(f"PRAGMA temp_store={int(previous)}")


def _first_line(error: BaseException) -> str:
    """The first non-empty line of an error's text."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def _scrub(text: str) -> str:
    """Hide a password in URL-like text that could not be parsed."""
    head, sep, tail = text.partition("://")
    if not sep or "@" not in tail:
        return text
    credentials, at, rest = tail.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}://{user}:***{at}{rest}" if ":" in credentials else text
