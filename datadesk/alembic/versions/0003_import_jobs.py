"""Import jobs, their files (uploads and error workbooks) and mappings saved from the page.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from datadesk.models.app_tables import AppTables
from datadesk.models.migrations import placed_app_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _created_here(tables: AppTables) -> list[sa.Table]:
    return [tables.import_jobs, tables.import_files, tables.import_profiles]


def upgrade() -> None:
    """Create the import tables."""
    tables = placed_app_tables()
    tables.metadata.create_all(op.get_bind(), tables=_created_here(tables), checkfirst=True)


def downgrade() -> None:
    """Drop the import tables and everything in them."""
    tables = placed_app_tables()
    tables.metadata.drop_all(op.get_bind(), tables=_created_here(tables), checkfirst=True)
