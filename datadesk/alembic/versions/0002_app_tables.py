"""datadesk's own tables: users, user roles and attributes, sign-in attempts, audit log.

Revision ID: 0002
Revises: 0001

The tables are placed by ``app_tables.schema`` and ``app_tables.prefix``, passed in the Alembic
config's attributes by ``upgrade_database``.  They are built from ``app_tables()``, limited to
the five tables of this revision: a later revision that changes those tables must freeze the
shape created here first (copy the definitions into this file) so that a fresh database and an
upgraded one end up alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from datadesk.models.app_tables import AppTables
from datadesk.models.migrations import placed_app_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _created_here(tables: AppTables) -> list[sa.Table]:
    """The tables of this revision (later revisions add others to ``appplaced_app_tables()``)."""
    return [
        tables.users,
        tables.user_roles,
        tables.user_attributes,
        tables.login_attempts,
        tables.audit,
    ]


def upgrade() -> None:
    """Create the tables (those already there, from an interrupted run on Oracle, are kept)."""
    tables = placed_app_tables()
    tables.metadata.create_all(op.get_bind(), tables=_created_here(tables), checkfirst=True)


def downgrade() -> None:
    """Drop the tables and everything in them."""
    tables = placed_app_tables()
    tables.metadata.drop_all(op.get_bind(), tables=_created_here(tables), checkfirst=True)
