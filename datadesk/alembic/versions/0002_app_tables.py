"""datadesk's own tables: users, user roles and attributes, sign-in attempts, audit log.

Revision ID: 0002
Revises: 0001

The tables are placed by ``app_tables.schema`` and ``app_tables.prefix``, passed in the Alembic
config's attributes by ``upgrade_database``.  They are built from ``app_tables()``: a later
revision that changes those tables must freeze the shape created here first (copy the
definitions into this file) so that a fresh database and an upgraded one end up alike.
"""

from __future__ import annotations

from alembic import op

from datadesk.config.schema import AppTablesConfig
from datadesk.models.app_tables import AppTables, app_tables
from datadesk.models.migrations import APP_TABLES_ATTRIBUTE

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tables() -> AppTables:
    """The app tables as the running ``upgrade_database`` call placed them."""
    config = op.get_context().config
    placement = config.attributes.get(APP_TABLES_ATTRIBUTE) if config else None
    placement = placement or AppTablesConfig()
    return app_tables(placement.prefix, placement.schema_name)


def upgrade() -> None:
    """Create the tables (those already there, from an interrupted run on Oracle, are kept)."""
    _tables().metadata.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    """Drop the tables and everything in them."""
    _tables().metadata.drop_all(op.get_bind(), checkfirst=True)
