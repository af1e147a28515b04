"""The grid benchmark signs datadesk in: a real ``datadesk serve`` over a small demo database
shows the grid with the session cookie and redirects without it, which the benchmark refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.servers import DATADESK_SESSION_COOKIE, PAGE_ROWS, BenchError, Server, grid_servers
from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine

pytestmark = pytest.mark.e2e


@pytest.fixture
def datadesk_server(fresh_db_url: str, tmp_path: Path) -> Iterator[Server]:
    """``datadesk db upgrade`` then ``datadesk serve`` as the benchmark starts them."""
    engine = create_db_engine(fresh_db_url)
    build_demo(engine, immunizations=500)
    engine.dispose()
    server = grid_servers(fresh_db_url, tmp_path)[0]
    assert server.spec.name == "datadesk"
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_signed_in_page_is_the_grid_and_anonymous_is_refused(datadesk_server: Server) -> None:
    with pytest.raises(BenchError, match="not signed in"):
        datadesk_server.fetch_keys()  # no cookie yet: a redirect to the sign-in page
    datadesk_server.sign_in()
    assert datadesk_server.cookie is not None
    assert datadesk_server.cookie.startswith(f"{DATADESK_SESSION_COOKIE}=")
    assert len(datadesk_server.fetch_keys()) == PAGE_ROWS
    assert datadesk_server.page_bytes > 10_000
    datadesk_server.cookie = f"{DATADESK_SESSION_COOKIE}=forged"
    with pytest.raises(BenchError, match="not signed in"):
        datadesk_server.fetch_keys()


def test_wrong_password_fails_loudly(datadesk_server: Server) -> None:
    assert datadesk_server.spec.credentials is not None
    datadesk_server.spec.credentials = ("admin", "Not-the-passw0rd")
    with pytest.raises(BenchError, match="answered 401"):
        datadesk_server.sign_in()
