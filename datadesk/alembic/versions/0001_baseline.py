"""Baseline: datadesk starts tracking its own schema version; no tables yet.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to create: app-owned tables arrive in later revisions."""


def downgrade() -> None:
    """Nothing to drop."""
