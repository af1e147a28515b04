"""The grid benchmark's baselines still serve the page they are measured on: 50 labelled rows.

This folder has no ``__init__.py`` on purpose: as a package it would be imported as ``bench``
and hide the repository's ``bench`` package that it tests.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from starlette.testclient import TestClient

from bench import handwritten, plain_sqladmin
from bench.servers import row_keys
from datadesk.demo.build import build_demo
from datadesk.demo.reference import VACCINES
from datadesk.models.engine import create_db_engine


@pytest.fixture
def demo_url(fresh_db_url: str) -> str:
    """A small demo database (500 immunizations)."""
    engine = create_db_engine(fresh_db_url)
    build_demo(engine, immunizations=500)
    engine.dispose()
    return fresh_db_url


def _page(module: ModuleType, url: str) -> tuple[int, str]:
    app = module.create_app(url)
    try:
        with TestClient(app) as client:
            response = client.get(module.LIST_PATH)
    finally:
        app.state.engine.dispose()
    return response.status_code, response.text


@pytest.mark.parametrize("module", [plain_sqladmin, handwritten], ids=["sqladmin", "handwritten"])
def test_baseline_shows_fifty_labelled_rows(module: ModuleType, demo_url: str) -> None:
    status, html = _page(module, demo_url)
    assert status == 200
    assert len(row_keys(html, module.DETAIL_PATTERN)) == 50
    body = html[html.index("<tbody") : html.index("</tbody>")]
    names = [name for _, name, *_ in VACCINES]
    rows = body.split("<tr")[1:]
    assert all(any(name in row for name in names) for row in rows)  # references by label


def test_baselines_show_the_same_rows(demo_url: str) -> None:
    keys = [
        row_keys(_page(m, demo_url)[1], m.DETAIL_PATTERN) for m in (plain_sqladmin, handwritten)
    ]
    assert keys[0] == keys[1]
