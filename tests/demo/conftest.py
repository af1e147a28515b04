"""Fixtures for the demo tests: one small demo database built per test module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine
from tests.conftest import SERVER_URL, pg_database

SMALL_IMMUNIZATIONS = 3_000


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """An engine on a demo database with a small immunization table, for read-mostly tests."""
    with contextlib.ExitStack() as stack:
        if SERVER_URL:
            url = stack.enter_context(pg_database("demo_schema"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
        engine = create_db_engine(url)
        stack.callback(engine.dispose)
        build_demo(engine, immunizations=SMALL_IMMUNIZATIONS)
        yield engine


def table_name(engine: sa.Engine, name: str) -> str:
    """The name the database reports for a demo table (SQLite keeps DDL case, PostgreSQL folds)."""
    for reported in [*sa.inspect(engine).get_table_names(), *sa.inspect(engine).get_view_names()]:
        if reported.lower() == name.lower():
            return reported
    raise LookupError(name)
