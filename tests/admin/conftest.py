"""Fixtures for the web admin: a demo database built once per session, the real app over it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from datadesk.app import create_app
from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine
from datadesk.settings import DEMO_CONFIG, Settings
from tests.conftest import SERVER_URL, pg_database

DEMO_IMMUNIZATIONS = 3_000


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo database (small largest table) shared by the admin tests of one run."""
    with contextlib.ExitStack() as stack:
        if SERVER_URL:
            url = stack.enter_context(pg_database("demo"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
        engine = create_db_engine(url)
        build_demo(engine, immunizations=DEMO_IMMUNIZATIONS)
        engine.dispose()
        yield url


def make_settings(db_url: str, var_dir: Path, config: Path = DEMO_CONFIG) -> Settings:
    """Settings for a test app over a given database and config."""
    return Settings(database_url=db_url, config_path=config, var_dir=var_dir)


@pytest.fixture
def client(demo_db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A real app over the shared demo database, driven in-process over HTTP."""
    app = create_app(make_settings(demo_db_url, tmp_path))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()


def cell_texts(html: str) -> list[str]:
    """Text of every <td> of a page, tags stripped (for asserting grid content)."""
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    ]
