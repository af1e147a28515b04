"""The ``datadesk`` command as a user runs it: exit codes and one-line reasons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine
from datadesk.settings import DEMO_CONFIG

DATADESK = str(Path(sys.executable).parent / "datadesk")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console script with a clean DATADESK_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
    return subprocess.run(
        [DATADESK, *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def demo_env(fresh_db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a small demo database in a fresh database."""
    engine = create_db_engine(fresh_db_url)
    build_demo(engine, immunizations=300)
    engine.dispose()
    return {"DATADESK_DATABASE_URL": fresh_db_url, "DATADESK_VAR_DIR": str(tmp_path / "var")}


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Non-zero exit, a short reason on stderr, never a traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("datadesk: error:"), result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_malformed_database_url_is_one_line(tmp_path: Path) -> None:
    result = run(
        "check-config",
        env={"DATADESK_DATABASE_URL": "not a url", "DATADESK_VAR_DIR": str(tmp_path)},
    )
    assert_one_line_error(result)


def test_unreachable_database_names_host_not_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere"
    result = run(
        "check-config", env={"DATADESK_DATABASE_URL": url, "DATADESK_VAR_DIR": str(tmp_path)}
    )
    assert_one_line_error(result, "127.0.0.1")
    assert "s3cret" not in result.stderr


def test_check_config_accepts_the_demo(demo_env: dict[str, str]) -> None:
    result = run("check-config", env=demo_env)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_check_config_names_missing_table_and_column(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "tables:\n"
        "  staf:\n"
        "    label: Staff\n"
        "  departments:\n"
        "    list_columns: [dept_name, dept_nmae]\n",
        encoding="utf-8",
    )
    result = run("check-config", "--config", str(config), env=demo_env)
    assert_one_line_error(result, "tables.staf", "dept_nmae")
    assert "bad.yaml:2" in result.stderr


def test_invalid_yaml_option_names_its_path(demo_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("app:\n  page_size: lots\n", encoding="utf-8")
    result = run("serve", "--config", str(config), env=demo_env)
    assert_one_line_error(result, "app.page_size")


def test_scaffold_writes_a_config_that_check_config_accepts(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "datadesk.yaml"
    result = run("scaffold", "-o", str(out), env=demo_env)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "immunizations:" in text and "staff:" in text
    assert run("scaffold", "-o", str(out), env=demo_env).returncode == 1  # no silent overwrite
    checked = run("check-config", "--config", str(out), env=demo_env)
    assert checked.returncode == 0, checked.stderr


def test_demo_refuses_to_overwrite_and_if_missing_is_quiet(demo_env: dict[str, str]) -> None:
    again = run("demo", env=demo_env)
    assert_one_line_error(again)
    assert run("demo", "--if-missing", env=demo_env).returncode == 0


def test_db_upgrade_is_idempotent(demo_env: dict[str, str]) -> None:
    first = run("db", "upgrade", env=demo_env)
    assert first.returncode == 0, first.stderr
    second = run("db", "upgrade", env=demo_env)
    assert second.returncode == 0, second.stderr
    assert first.stdout.splitlines()[0] == second.stdout.strip()  # first run also makes admin
    engine = sa.create_engine(demo_env["DATADESK_DATABASE_URL"])
    with engine.connect() as conn:
        assert "datadesk_alembic_version" in sa.inspect(conn).get_table_names()
    engine.dispose()


def test_demo_config_ships_with_the_package() -> None:
    assert DEMO_CONFIG.is_file()


def test_embedded_demo_gets_one_user_per_role(tmp_path: Path) -> None:
    env = {
        "DATADESK_VAR_DIR": str(tmp_path / "var"),
        "DATADESK_ADMIN_PASSWORD": "Local-Secret-pass1",
    }
    first = run("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "demo users clerk, manager, official, auditor" in first.stdout
    listed = run("users", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    for name in ("admin", "clerk", "manager", "official", "auditor"):
        assert name in listed.stdout
    again = run("db", "upgrade", env=env)
    assert "demo users" not in again.stdout


def test_serve_asks_for_db_upgrade_first(demo_env: dict[str, str]) -> None:
    result = run("serve", "--port", "1", env=demo_env)
    assert_one_line_error(result, "datadesk db upgrade")
