"""Alembic environment for datadesk's own tables; reflected tables are never touched."""

from __future__ import annotations

from alembic import context

from datadesk.models.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
