"""Import job statuses up to 20 characters, for ``interrupted`` (an import stopped by SIGTERM).

Revision ID: 0004
Revises: 0003

Revision 0003 creates the table from the current definitions, so a database created after this
change has the wide column already; widening it again is harmless.  SQLite does not enforce
VARCHAR lengths and is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from datadesk.models.migrations import placed_app_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _alter(length: int, old_length: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    jobs = placed_app_tables().import_jobs
    op.alter_column(
        jobs.name,
        "status",
        type_=sa.String(length),
        existing_type=sa.String(old_length),
        existing_nullable=False,
        schema=jobs.schema,
    )


def upgrade() -> None:
    """Widen import_jobs.status to 20 characters."""
    _alter(20, 10)


def downgrade() -> None:
    """Narrow it back; jobs marked interrupted become failed (the older versions' word)."""
    jobs = placed_app_tables().import_jobs
    op.execute(sa.update(jobs).where(jobs.c.status == "interrupted").values(status="failed"))
    _alter(10, 20)
