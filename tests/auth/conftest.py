"""Fixtures for auth tests: datadesk's own tables migrated into a fresh database, cheap hashing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from datadesk.auth.users import UserStore
from datadesk.config.schema import AuthConfig
from datadesk.models.app_tables import AppTables, app_tables
from datadesk.models.engine import create_db_engine
from datadesk.models.migrations import upgrade_database

# Argon2 at its smallest accepted cost keeps the suite fast; production defaults are far higher.
FAST_AUTH = AuthConfig(hash_time_cost=1, hash_memory_kib=8192)
KNOWN_ROLES = ("clerk", "official", "auditor")


@pytest.fixture
def app_engine(fresh_db_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh database migrated to the newest revision."""
    upgrade_database(fresh_db_url)
    engine = create_db_engine(fresh_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def tables() -> AppTables:
    """The app tables with the default placement."""
    return app_tables()


@pytest.fixture
def store(app_engine: sa.Engine, tables: AppTables) -> UserStore:
    """A user store with cheap hashing and the roles clerk, official and auditor."""
    return UserStore(app_engine, tables, FAST_AUTH, known_roles=KNOWN_ROLES)
