"""Request ids, the access log, error pages and error mails, through the real app."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from datadesk.errors import ConfigError
from datadesk.settings import Settings
from tests.admin.conftest import SignedInClient

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines among captured standard error."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def drop_note_column(url: str) -> None:
    """A DBA's change behind the app's back."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE things DROP COLUMN note")
    engine.dispose()


def test_request_id_is_made_echoed_and_logged(
    make_app: Callable[..., Any], signed_in: Callable[..., SignedInClient], capsys: Any
) -> None:
    client = signed_in(make_app(), client=("127.0.0.1", 40000))
    capsys.readouterr()
    first = client.get("/admin/things/list")
    second = client.get("/admin/things/list", headers={"X-Request-ID": "proxy-chosen-1"})
    assert first.status_code == second.status_code == 200
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(HEX_ID.match(i) for i in ids) and ids[0] != ids[1]  # untrusted: own ids
    lines = capsys.readouterr().err.splitlines()
    access = [line for line in lines if "datadesk.access" in line and "/admin/things/list" in line]
    assert len(access) == 2 and ids[0] in access[0] and "admin" in access[0]


def test_trusted_proxy_request_id_is_kept(make_app: Callable[..., Any], capsys: Any) -> None:
    app = make_app("auth:\n  trusted_proxies: [127.0.0.1]\n", log_format="json")
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        capsys.readouterr()
        answer = client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a"})
        refused = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert answer.headers["x-request-id"] == "nginx-4f2a"
    assert HEX_ID.match(refused.headers["x-request-id"])
    logged = [r for r in json_lines(capsys.readouterr().err) if r["logger"] == "datadesk.access"]
    assert logged[0]["request_id"] == "nginx-4f2a"
    assert logged[0]["route"] == "/healthz" and logged[0]["status"] == 200
    assert {"timestamp", "level", "message", "duration_ms"} <= set(logged[0])


def test_unhandled_error_is_a_friendly_page_logged_and_mailed_once(
    make_app: Callable[..., Any],
    signed_in: Callable[..., SignedInClient],
    small_db: str,
    smtp_server: tuple[str, int, Any],
    capsys: Any,
) -> None:
    host, port, box = smtp_server
    app = make_app(
        f"mail:\n  host: {host}\n  port: {port}\nmonitoring:\n  error_mail_to: [ops@example.org]\n",
        log_format="json",
    )
    client = signed_in(app)
    drop_note_column(small_db)
    capsys.readouterr()
    page = client.get("/admin/things/list")
    again = client.get("/admin/things/list", headers={"Accept": "application/json"})
    assert page.status_code == again.status_code == 500
    request_id = page.headers["x-request-id"]
    assert request_id in page.text and "Something went wrong" in page.text
    for text in (page.text, again.text):
        assert "Traceback" not in text and "note" not in text  # nothing technical shown
    assert again.json()["request_id"] == again.headers["x-request-id"]
    errors = [r for r in json_lines(capsys.readouterr().err) if r["logger"] == "datadesk.errors"]
    assert len(errors) == 2
    first = errors[0]
    assert first["request_id"] == request_id and first["user"] == "admin"
    assert first["route"] == "/admin/{identity}/list"
    assert "Traceback" in first["traceback"] and "note" in first["traceback"]
    assert app.state.reporter.wait_sent(10)
    assert len(box.messages) == 1  # the second, identical error is rate-limited
    mail = box.messages[0]
    assert mail["To"] == "ops@example.org"
    body = mail.get_content()
    assert request_id in body and "/admin/{identity}/list" in body and "admin" in body
    assert "Traceback" not in body


def test_readiness_names_the_yaml_path_of_a_dropped_column(
    make_app: Callable[..., Any], small_db: str, capsys: Any
) -> None:
    app = make_app("monitoring:\n  schema_check_seconds: 0.001\n")
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"ready": True}
        drop_note_column(small_db)
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["reason"] == "the schema no longer matches datadesk.yaml"
    assert body["problems"] == ["tables.things.list_columns: column things.note no longer exists"]
    assert "tables.things.list_columns: column things.note" in capsys.readouterr().err


def test_readiness_wants_current_migrations(make_app: Callable[..., Any], small_db: str) -> None:
    from datadesk.models.migrations import downgrade_database

    app = make_app()
    downgrade_database(small_db, revision="0003")
    with TestClient(app) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "revision 0003" in answer.json()["reason"]
    assert "datadesk db upgrade" in answer.json()["reason"]


def test_production_mode_needs_a_secret_key(small_db: str, tmp_path: Any) -> None:
    settings = Settings(small_db, tmp_path / "none.yaml", tmp_path, environment="production")
    with pytest.raises(ConfigError, match="DATADESK_SECRET_KEY"):
        from datadesk.app import create_app

        create_app(settings)
    assert not (tmp_path / "secret_key").exists()


def test_the_server_access_log_stays_silent_beside_datadesk_s_own() -> None:
    """uvicorn logs access lines when its access logger has a handler (its own or inherited);
    datadesk writes its own line per request, so uvicorn's must have none."""
    import logging

    from datadesk.observability.logs import configure_logging

    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.propagate = True  # as uvicorn's default logging config leaves it
    configure_logging("text", "INFO")
    assert logging.getLogger().hasHandlers()
    assert logging.getLogger("datadesk.access").hasHandlers()
    assert not uvicorn_access.hasHandlers()
