"""Fixtures for import tests: a fresh copy of a seeded demo database for every test.

Imports change data, so each test gets its own database: the demo is built once per run as a
template (an SQLite file, or a PostgreSQL database) and copied per test (a file copy, or
CREATE DATABASE ... TEMPLATE), which takes milliseconds instead of a rebuild.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from datadesk.app import Runtime, create_app, open_runtime
from datadesk.models.engine import create_db_engine
from datadesk.settings import DEMO_CONFIG, Settings
from tests.admin.conftest import SignedInClient, seed_demo_database, sign_in
from tests.conftest import SERVER_URL, pg_database

DEMO_IMMUNIZATIONS = 2_000


@pytest.fixture(scope="session")
def import_template_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seeded demo with datadesk's tables and the test users, built once."""
    with contextlib.ExitStack() as stack:
        if SERVER_URL:
            url = stack.enter_context(pg_database("imptpl"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('imports') / 'template.sqlite3'}"
        seed_demo_database(url, DEMO_IMMUNIZATIONS)
        yield url


@pytest.fixture
def import_db_url(import_template_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the template for one test."""
    url = make_url(import_template_url)
    if url.get_backend_name() == "sqlite":
        copy = tmp_path / "imports.sqlite3"
        shutil.copyfile(str(url.database), copy)
        yield f"sqlite:///{copy}"
        return
    with pg_database("imp", template=url.database) as copy_url:
        yield copy_url


@pytest.fixture
def settings(import_db_url: str, tmp_path: Path) -> Settings:
    """Settings over the test's own demo copy and the demo config."""
    return Settings(database_url=import_db_url, config_path=DEMO_CONFIG, var_dir=tmp_path / "var")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A real runtime (engine, catalog, policy, import service) over the test's database."""
    rt = open_runtime(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def web(settings: Settings) -> Iterator[Any]:
    """Sign in as one of the test users on a real app over the test's database."""
    clients: list[SignedInClient] = []
    app = create_app(settings)

    def make(username: str) -> SignedInClient:
        client = SignedInClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        client.csrf = sign_in(client, username)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    app.state.runtime.engine.dispose()


def scalar(url_or_engine: Any, sql: str, **params: Any) -> Any:
    """One value from the database."""
    engine = (
        url_or_engine if isinstance(url_or_engine, sa.Engine) else create_db_engine(url_or_engine)
    )
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        if engine is not url_or_engine:
            engine.dispose()


__all__ = ["TestClient", "scalar"]
