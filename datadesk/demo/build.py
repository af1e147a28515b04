"""Build the demo database: schema and seed data in one transaction, refusing to overwrite."""

from __future__ import annotations

import sqlalchemy as sa

from datadesk.demo.schema import (
    DEMO_SEQUENCES,
    DEMO_TABLES,
    DEMO_VIEWS,
    create_schema,
    drop_schema,
    reset_sequences,
)
from datadesk.demo.seed import DEFAULT_IMMUNIZATIONS, generate_rows, insert_rows
from datadesk.errors import DatadeskError

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def existing_demo_objects(engine: sa.Engine) -> list[str]:
    """Demo tables, views and sequences already in the database, upper-case, in creation order."""
    inspector = sa.inspect(engine)
    present = {name.upper() for name in inspector.get_table_names()}
    present |= {name.upper() for name in inspector.get_view_names()}
    if engine.dialect.name == "postgresql":
        present |= {name.upper() for name in inspector.get_sequence_names()}
    return [name for name in (*DEMO_TABLES, *DEMO_VIEWS, *DEMO_SEQUENCES) if name in present]


def is_demo_built(engine: sa.Engine) -> bool:
    """True when every demo table and view exists in the database."""
    present = set(existing_demo_objects(engine))
    return all(name in present for name in (*DEMO_TABLES, *DEMO_VIEWS))


def build_demo(
    engine: sa.Engine, *, immunizations: int = DEFAULT_IMMUNIZATIONS, replace: bool = False
) -> dict[str, int]:
    """Create and seed the demo schema; return row counts by lower-case table name."""
    dialect = engine.dialect.name
    if dialect not in SUPPORTED_DIALECTS:
        raise DatadeskError(
            f"the demo database can be built on SQLite or PostgreSQL, not on {dialect}"
        )
    existing = existing_demo_objects(engine)
    if existing and not replace:
        raise DatadeskError(
            f"the demo schema already exists in this database ({', '.join(existing[:3])}"
            f"{', ...' if len(existing) > 3 else ''}); rebuild it with replace"
        )
    rows = generate_rows(immunizations)
    if dialect == "sqlite":
        _prepare_sqlite(engine)
    try:
        with engine.begin() as conn:
            if dialect == "sqlite":
                _begin_sqlite(conn)
            if replace:
                drop_schema(conn)
            create_schema(conn)
            counts = insert_rows(conn, rows)
            reset_sequences(conn)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).splitlines()[0]
        raise DatadeskError(f"building the demo database failed: {reason}") from exc
    return counts


def _prepare_sqlite(engine: sa.Engine) -> None:
    """Switch the file to write-ahead logging, so readers never wait for the app's writers."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def _begin_sqlite(conn: sa.Connection) -> None:
    """Open the transaction now: pysqlite would start it only at the first INSERT, leaving the
    DDL outside it, and a failed build would then leave half a schema behind."""
    driver_connection = conn.connection.driver_connection
    if driver_connection is not None and not driver_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")
