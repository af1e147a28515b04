"""Import jobs record which process runs them, so that a job whose process died (killed during
a commit) is shown as interrupted rather than running.

Revision ID: 0005
Revises: 0004

Revision 0003 creates ``import_jobs`` from the current ``app_tables()``, which has the column
already on a fresh database: the column is added only where it is missing, and dropped on the
way down only where it is present, so fresh and upgraded databases end up alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from datadesk.models.migrations import placed_app_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMN = "runner"


def _has_column() -> tuple[bool, sa.Table]:
    jobs = placed_app_tables().import_jobs
    inspector = sa.inspect(op.get_bind())
    names = {c["name"].lower() for c in inspector.get_columns(jobs.name, schema=jobs.schema)}
    return COLUMN in names, jobs


def upgrade() -> None:
    """Add ``import_jobs.runner`` (host, process id and start time of the running process)."""
    present, jobs = _has_column()
    if not present:
        op.add_column(jobs.name, sa.Column(COLUMN, sa.String(200)), schema=jobs.schema)


def downgrade() -> None:
    """Drop ``import_jobs.runner``."""
    present, jobs = _has_column()
    if present:
        with op.batch_alter_table(jobs.name, schema=jobs.schema) as batch:
            batch.drop_column(COLUMN)
