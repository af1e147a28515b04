"""The database going away and coming back (PostgreSQL): 503s meanwhile, then by itself again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from datadesk.app import create_app
from datadesk.settings import Settings
from tests.admin.conftest import SignedInClient
from tests.conftest import SERVER_URL, backend_name, pg_database
from tests.operations.conftest import BASE_CONFIG, prepare_small_db

pytestmark = pytest.mark.skipif(
    backend_name() != "postgresql", reason="server-side connections need PostgreSQL"
)


def test_app_survives_killed_connections_and_a_vanished_database(
    tmp_path: Path, signed_in: Callable[..., SignedInClient]
) -> None:
    with pg_database("outage") as url:
        prepare_small_db(url)
        name = make_url(url).database
        config = tmp_path / "datadesk.yaml"
        config.write_text(BASE_CONFIG, encoding="utf-8")
        app = create_app(Settings(url, config, tmp_path))
        admin = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
        try:
            client = signed_in(app)
            probe = TestClient(app)
            assert client.get("/admin/things/list").status_code == 200

            killed = _terminate(admin, name)
            assert killed >= 1  # the app's pooled connections, now dead
            assert client.get("/admin/things/list").status_code == 200  # pre-ping reconnects

            _terminate(admin, name)
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
            try:
                page = client.get("/admin/things/list")
                assert page.status_code == 503
                assert "Temporarily unavailable" in page.text
                assert page.headers["x-request-id"] in page.text
                assert "Traceback" not in page.text and name not in page.text
                ready = probe.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["reason"].startswith("database unreachable")
                assert probe.get("/healthz").status_code == 200  # alive, only not ready
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')

            assert probe.get("/readyz").json() == {"ready": True}
            again = client.get("/admin/things/list")
            assert again.status_code == 200 and "alpha" in again.text
        finally:
            app.state.runtime.engine.dispose()
            admin.dispose()


def _terminate(admin: sa.Engine, name: str | None) -> int:
    with admin.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ).all()
    return len(rows)
