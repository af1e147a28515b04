"""Alembic migrations of datadesk's own tables, run programmatically (``datadesk db upgrade``).

The placement of the tables (``app_tables.schema`` and ``app_tables.prefix``) travels to the
migration scripts in the Alembic config's ``attributes``; the version table is
``{prefix}alembic_version`` in the same schema. Which revision a database is at, and which one
this version needs, is answered without Alembic by ``datadesk.models.schema_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from datadesk.config.schema import AppTablesConfig
from datadesk.errors import InvalidInput
from datadesk.models.app_tables import (
    DEFAULT_PREFIX,
    AppTables,
    app_tables,
    version_table_name,
)
from datadesk.models.engine import check_connection, create_db_engine
from datadesk.models.schema_version import current_revision

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "alembic"
VERSION_TABLE = version_table_name(DEFAULT_PREFIX)
APP_TABLES_ATTRIBUTE = "app_tables"  # key of the AppTablesConfig in the Alembic attributes


def placed_app_tables() -> AppTables:
    """For a migration script: the app tables placed as the running ``upgrade_database`` (or
    ``downgrade_database``) call was told."""
    from alembic import op

    config = op.get_context().config
    placement = config.attributes.get(APP_TABLES_ATTRIBUTE) if config else None
    placement = placement or AppTablesConfig()
    return app_tables(placement.prefix, placement.schema_name)


def _alembic_config(placement: AppTablesConfig | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes[APP_TABLES_ATTRIBUTE] = placement or AppTablesConfig()
    return cfg


def upgrade_database(
    url: str, app_tables_config: AppTablesConfig | None = None, *, revision: str = "head"
) -> str:
    """Apply migrations up to ``revision`` (idempotent) and return the current revision."""
    return _migrate(url, app_tables_config, revision, command.upgrade)


def downgrade_database(
    url: str, app_tables_config: AppTablesConfig | None = None, *, revision: str = "base"
) -> str:
    """Revert migrations down to ``revision`` (``base`` drops every app table)."""
    return _migrate(url, app_tables_config, revision, command.downgrade)


def _migrate(
    url: str,
    placement: AppTablesConfig | None,
    revision: str,
    run: Callable[[AlembicConfig, str], None],
) -> str:
    """Run an Alembic command on one connection, in one outer transaction."""
    engine = create_db_engine(url)
    try:
        check_connection(engine)
        with engine.begin() as conn:
            cfg = _alembic_config(placement)
            cfg.attributes["connection"] = conn
            run(cfg, revision)
        return current_revision(engine, placement) or "base"
    finally:
        engine.dispose()


def migration_options(placement: AppTablesConfig) -> dict[str, object]:
    """Options for ``EnvironmentContext.configure``: where the version table lives."""
    return {
        "version_table": version_table_name(placement.prefix),
        "version_table_schema": placement.schema_name,
    }


def ensure_version_table(conn: sa.Connection, placement: AppTablesConfig) -> None:
    """Create the version table with a short key name, so that long prefixes fit old Oracle."""
    name = version_table_name(placement.prefix)
    if sa.inspect(conn).has_table(name, schema=placement.schema_name):
        return
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{placement.prefix.lower()}alembic_pk"),
        schema=placement.schema_name,
    )
    table.create(conn)


def known_revision(revision: str) -> str:
    """``revision`` when this version ships it (or it is ``base``); InvalidInput otherwise."""
    if revision == "base":
        return revision
    scripts = ScriptDirectory.from_config(_alembic_config())
    known = [script.revision for script in scripts.walk_revisions()]
    if revision not in known:
        raise InvalidInput(f"no migration {revision!r}; known: base, {', '.join(sorted(known))}")
    return revision
