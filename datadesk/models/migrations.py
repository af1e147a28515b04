"""Alembic migrations of datadesk's own tables, run programmatically (``datadesk db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from datadesk.models.engine import create_db_engine

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "alembic"
VERSION_TABLE = "datadesk_alembic_version"


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return cfg


def upgrade_database(url: str, revision: str = "head") -> str:
    """Apply migrations up to ``revision`` (idempotent) and return the current revision."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return current_revision(engine) or "base"
    finally:
        engine.dispose()


def current_revision(engine: object) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    with engine.connect() as conn:  # type: ignore[attr-defined]
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of datadesk."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
