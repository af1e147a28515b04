"""Alembic environment for datadesk's own tables; reflected tables are never touched."""

from __future__ import annotations

from alembic import context

from datadesk.models.migrations import (
    APP_TABLES_ATTRIBUTE,
    ensure_version_table,
    migration_options,
)

connection = context.config.attributes["connection"]
placement = context.config.attributes[APP_TABLES_ATTRIBUTE]
ensure_version_table(connection, placement)
context.configure(
    connection=connection,
    target_metadata=None,
    transaction_per_migration=True,
    **migration_options(placement),  # type: ignore[arg-type]
)
with context.begin_transaction():
    context.run_migrations()
