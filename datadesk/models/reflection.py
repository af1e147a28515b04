"""Reflect the served part of the database into MetaData, and from it (cached) build the Catalog.

Two stages, so that Oracle-typed metadata can be tested without an Oracle server:

* ``reflect_metadata(engine, database_config)`` talks to the database (inspector, one batch);
* ``build_catalog(metadata, config, dialect_name)`` is pure and maps tables to ORM classes.

``reflect_catalog`` joins them with the on-disk cache of the first stage.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc

from datadesk.config.schema import Config, DatabaseConfig
from datadesk.errors import DatabaseUnavailable, SchemaError
from datadesk.models.builder import REFERENCED_ONLY_INFO, VIEW_INFO, build_catalog, is_selected
from datadesk.models.cache import ReflectionCache
from datadesk.models.catalog import Catalog
from datadesk.models.config_check import find_config_problems
from datadesk.models.engine import unavailable_message

__all__ = [
    "ReflectedSchema",
    "build_catalog",
    "find_config_problems",
    "reflect_catalog",
    "reflect_metadata",
]

log = logging.getLogger(__name__)

# Reflection warnings about things datadesk already handles (unknown types become "unsupported").
_QUIET_WARNINGS = (
    r"Did not recognize type",
    r".*expression-based index",
    r"Predicate of partial index",
)

# Oracle-style declared types that SQLite's affinity rules would turn into numbers.
_SQLITE_DECLARED: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^(?:RAW|BINARY|VARBINARY)\s*\(\s*(\d+)\s*\)$", re.I),
        lambda m: sa.LargeBinary(int(m[1])),
    ),
    (
        re.compile(r"^TIMESTAMP(?:\s*\(\s*\d+\s*\))?\s+WITH\s+(?:LOCAL\s+)?TIME\s+ZONE$", re.I),
        lambda m: sa.TIMESTAMP(timezone=True),
    ),
    (
        re.compile(r"^N?VARCHAR2\s*\(\s*(\d+)(?:\s+(?:CHAR|BYTE))?\s*\)$", re.I),
        lambda m: (sa.NVARCHAR if m[0].upper().startswith("N") else sa.VARCHAR)(int(m[1])),
    ),
    (re.compile(r"^(?:ROWID|UROWID)$", re.I), lambda m: sa.types.NullType()),
]


@dataclass
class ReflectedSchema:
    """What one reflection run found: the tables (with comments and CHECKs) and which are views."""

    metadata: sa.MetaData
    dialect_name: str
    schema_name: str | None = None
    views: frozenset[str] = frozenset()
    served: tuple[str, ...] = ()
    seconds: float = 0.0


def reflect_metadata(
    engine: sa.Engine, database: DatabaseConfig, *, app_prefix: str | None = None
) -> ReflectedSchema:
    """Reflect the selected tables and views of ``database.schema_name`` in one batched run.

    Tables and views whose names start with ``app_prefix`` (datadesk's own) are left out.
    """
    started = time.perf_counter()
    schema = database.schema_name
    try:
        with engine.connect() as conn, _quiet_reflection_warnings():
            inspector = sa.inspect(conn)
            if schema is not None:
                schema = _reported_schema(inspector, schema)
            tables = [
                t
                for t in inspector.get_table_names(schema)
                if is_selected(t, database, app_prefix=app_prefix)
            ]
            views = (
                _view_names(inspector, schema, database, app_prefix)
                if database.include_views
                else []
            )
            metadata = sa.MetaData()
            if conn.dialect.name == "sqlite":
                _listen_sqlite_declared_types(metadata, conn)
            metadata.reflect(
                conn, schema=schema, only=tables + views, views=bool(views), resolve_fks=True
            )
    except exc.DBAPIError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, error)) from error
    served = set(tables) | set(views)
    for table in metadata.tables.values():
        if table.name in views:
            table.info[VIEW_INFO] = True
        if table.name not in served or (schema is not None and table.schema != schema):
            table.info[REFERENCED_ONLY_INFO] = True
    elapsed = time.perf_counter() - started
    log.info("reflected %d tables and %d views in %.2fs", len(tables), len(views), elapsed)
    return ReflectedSchema(
        metadata=metadata,
        dialect_name=engine.dialect.name,
        schema_name=schema,
        views=frozenset(v.lower() for v in views),
        served=tuple(tables + views),
        seconds=elapsed,
    )


def reflect_catalog(
    engine: sa.Engine, config: Config, *, cache_dir: Path | None, refresh: bool = False
) -> Catalog:
    """The Catalog of the configured database; reflects only when the on-disk cache cannot serve."""
    cache = None
    if cache_dir is not None and config.app.reflection_cache:
        cache = ReflectionCache(cache_dir, engine.url, config.database)
    reflected = None if cache is None or refresh else cache.load()
    if not isinstance(reflected, ReflectedSchema) or reflected.dialect_name != engine.dialect.name:
        reflected = reflect_metadata(engine, config.database, app_prefix=config.app_tables.prefix)
        if cache is not None:
            cache.store(reflected)
    catalog = build_catalog(
        reflected.metadata, config, reflected.dialect_name, views=reflected.views
    )
    catalog.schema_name = reflected.schema_name
    return catalog


def _reported_schema(inspector: sa.Inspector, wanted: str) -> str:
    """The schema's name as the database reports it (matched case-insensitively)."""
    for name in inspector.get_schema_names():
        if name.lower() == wanted.lower():
            return name
    raise SchemaError(f"database.schema: no such schema {wanted!r}")


def _view_names(
    inspector: sa.Inspector,
    schema: str | None,
    database: DatabaseConfig,
    app_prefix: str | None,
) -> list[str]:
    """Plain and materialized views that pass the include/exclude patterns."""
    names = list(inspector.get_view_names(schema))
    with contextlib.suppress(NotImplementedError):
        names.extend(inspector.get_materialized_view_names(schema))
    return [v for v in dict.fromkeys(names) if is_selected(v, database, app_prefix=app_prefix)]


def _listen_sqlite_declared_types(metadata: sa.MetaData, conn: sa.Connection) -> None:
    """Give Oracle-style SQLite columns (RAW(16), VARCHAR2, ... WITH TIME ZONE) their real types."""
    declared: dict[str, dict[str, str]] = {}

    def declared_types(table: str) -> dict[str, str]:
        if table not in declared:
            quoted = table.replace('"', '""')
            rows = conn.exec_driver_sql(f'PRAGMA table_xinfo("{quoted}")').fetchall()
            declared[table] = {str(row[1]): str(row[2] or "") for row in rows}
        return declared[table]

    @event.listens_for(metadata, "column_reflect")
    def fix_type(_inspector: Any, table: sa.Table, column_info: dict[str, Any]) -> None:
        text = declared_types(table.name).get(column_info["name"], "").strip()
        for pattern, factory in _SQLITE_DECLARED:
            match = pattern.match(text)
            if match:
                column_info["type"] = factory(match)
                return


@contextmanager
def _quiet_reflection_warnings() -> Iterator[None]:
    """Silence reflection warnings datadesk handles itself (unknown types, expression indexes)."""
    with warnings.catch_warnings():
        for message in _QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=exc.SAWarning)
        yield
