"""``datadesk backup`` as a real process: online SQLite copies that restore and serve, a full
disk that leaves nothing behind, and the export of datadesk's own tables on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from datadesk.app import create_app
from datadesk.settings import Settings
from tests.admin.conftest import sign_in
from tests.conftest import backend_name
from tests.operations.conftest import BASE_CONFIG
from tests.test_cli import run

sqlite_only = pytest.mark.skipif(backend_name() != "sqlite", reason="the embedded database")


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "datadesk.yaml"
    config.write_text(BASE_CONFIG, encoding="utf-8")
    return {
        "DATADESK_DATABASE_URL": url,
        "DATADESK_CONFIG": str(config),
        "DATADESK_VAR_DIR": str(tmp_path / "var"),
    }


@sqlite_only
def test_online_backup_is_consistent_and_restores(small_db: str, tmp_path: Path) -> None:
    live = sa.create_engine(small_db)
    folder = tmp_path / "backups"
    folder.mkdir()
    with live.connect() as writer:
        # A write in progress while the backup runs: not blocked, and not in the copy.
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        writer.exec_driver_sql("INSERT INTO things (name) VALUES ('uncommitted')")
        result = run("backup", str(folder), env=env_for(small_db, tmp_path))
        writer.exec_driver_sql("COMMIT")
    live.dispose()
    assert result.returncode == 0, result.stderr
    [copy] = list(folder.iterdir())
    assert copy.name.startswith("datadesk-") and copy.suffix == ".sqlite3"
    assert str(copy) in result.stdout

    restored = tmp_path / "restored.sqlite3"
    copy.rename(restored)  # the documented restore: stop, put the copy in place, start
    settings = Settings(f"sqlite:///{restored}", tmp_path / "datadesk.yaml", tmp_path / "var2")
    app = create_app(settings)
    try:
        with TestClient(app, follow_redirects=False) as client:
            sign_in(client, "admin")
            page = client.get("/admin/things/list")
            assert page.status_code == 200
            assert "alpha" in page.text and "uncommitted" not in page.text
            assert client.get("/readyz").json() == {"ready": True}
    finally:
        app.state.runtime.engine.dispose()

    again = run("backup", str(restored), env=env_for(small_db, tmp_path))
    assert again.returncode == 1 and "exists already" in again.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB file system (tmpfs); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@sqlite_only
def test_full_disk_leaves_no_partial_backup(small_db: str, tmp_path: Path, tiny_disk: Path) -> None:
    engine = sa.create_engine(small_db)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO things (name, note) VALUES (:n, :o)"),
            [{"n": f"row {i}", "o": "x" * 40} for i in range(3000)],
        )
    engine.dispose()
    result = run("backup", str(tiny_disk / "copy.sqlite3"), env=env_for(small_db, tmp_path))
    assert result.returncode == 1
    assert "no space left" in result.stderr and "not written" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tiny_disk.iterdir()) == []  # neither the copy nor a temporary file


@pytest.mark.skipif(backend_name() != "postgresql", reason="a server database")
def test_server_database_exports_own_tables(small_db: str, tmp_path: Path) -> None:
    result = run("backup", str(tmp_path), env=env_for(small_db, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "own tools" in result.stdout
    [archive_path] = list(tmp_path.glob("datadesk-*.zip"))
    with zipfile.ZipFile(archive_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        users = [json.loads(line) for line in archive.read("users.jsonl").splitlines()]
    assert manifest["format"] == 1 and manifest["revision"] == "0005"
    expected = {"file": "users.jsonl", "table": "datadesk_users", "rows": 1}
    assert manifest["tables"]["users"] == expected
    assert [u["username"] for u in users] == ["admin"]
    assert "password_hash" in users[0]  # a full copy: keep the file as safe as the database
