"""``datadesk users`` and the admin bootstrap of ``datadesk db upgrade``, run as users run them."""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from datadesk.auth.users import UserStore
from datadesk.config.schema import AuthConfig
from datadesk.models.app_tables import app_tables
from datadesk.models.engine import create_db_engine
from datadesk.models.schema_version import head_revision
from tests.test_cli import DATADESK, assert_one_line_error

CONFIG = """\
auth:
  hash_time_cost: 1
  hash_memory_kib: 8192
roles:
  clerk:
    label: Clerk
  official: {}
"""
PASSWORD = "Lantern-Orbit-58"
GENERATED = re.compile(r"^datadesk: created user admin with password (\S+) \(shown once\)$", re.M)


def run(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real console script; standard input is a pipe (never a terminal) with ``stdin``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
    return subprocess.run(
        [DATADESK, *args],
        env={**base, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(fresh_db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a fresh database with a config that names two roles."""
    config = tmp_path / "datadesk.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return {
        "DATADESK_DATABASE_URL": fresh_db_url,
        "DATADESK_CONFIG": str(config),
        "DATADESK_VAR_DIR": str(tmp_path / "var"),
    }


@pytest.fixture
def upgraded(env: dict[str, str]) -> dict[str, str]:
    """The same environment after ``datadesk db upgrade`` with a known admin password."""
    result = run("db", "upgrade", env={**env, "DATADESK_ADMIN_PASSWORD": "Root-Secret-991"})
    assert result.returncode == 0, result.stderr
    return env


def signs_in(env: dict[str, str], username: str, password: str) -> bool:
    """Whether the password is accepted, checked in-process against the same database."""
    engine = create_db_engine(env["DATADESK_DATABASE_URL"])
    try:
        store = UserStore(engine, app_tables(), AuthConfig(hash_memory_kib=8192))
        return store.authenticate(username, password, "127.0.0.1").ok
    finally:
        engine.dispose()


def test_db_upgrade_prints_a_generated_admin_password_once(env: dict[str, str]) -> None:
    first = run("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    found = GENERATED.findall(first.stdout)
    assert len(found) == 1, first.stdout
    assert f"database at revision {head_revision()}" in first.stdout
    assert signs_in(env, "admin", found[0])
    second = run("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert "password" not in second.stdout and found[0] not in second.stdout + second.stderr
    assert signs_in(env, "admin", found[0])


def test_db_upgrade_uses_the_admin_password_from_the_environment(env: dict[str, str]) -> None:
    secret = "Root-Secret-991"
    result = run("db", "upgrade", env={**env, "DATADESK_ADMIN_PASSWORD": secret})
    assert result.returncode == 0, result.stderr
    assert "DATADESK_ADMIN_PASSWORD" in result.stdout
    assert secret not in result.stdout + result.stderr
    assert signs_in(env, "admin", secret)
    again = run("db", "upgrade", env={**env, "DATADESK_ADMIN_PASSWORD": "Other-Secret-992"})
    assert again.returncode == 0 and "admin" not in again.stdout
    assert signs_in(env, "admin", secret)  # an existing admin keeps its password


def test_db_upgrade_refuses_a_weak_admin_password(env: dict[str, str]) -> None:
    result = run("db", "upgrade", env={**env, "DATADESK_ADMIN_PASSWORD": "admin"})
    assert_one_line_error(result, "DATADESK_ADMIN_PASSWORD", "at least 10 characters")


def test_users_commands_need_the_app_tables(env: dict[str, str]) -> None:
    result = run("users", "list", env=env)
    assert_one_line_error(result, "datadesk db upgrade")


def test_add_list_passwd_disable_enable(upgraded: dict[str, str]) -> None:
    added = run(
        "users",
        "add",
        "Maria.Lopez",
        "--role",
        "clerk",
        "--role",
        "official",
        "--attr",
        "department_id=7",
        "--display-name",
        "Maria López",
        "--email",
        "maria@example.org",
        "--password-stdin",
        env=upgraded,
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "created user maria.lopez" in added.stdout
    assert signs_in(upgraded, "maria.lopez", PASSWORD)

    listed = run("users", "list", env=upgraded)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["username", "active", "roles", "attributes", "last", "login"]
    maria = next(line for line in lines if line.startswith("maria.lopez"))
    assert maria.split()[:4] == ["maria.lopez", "yes", "clerk,official", "department_id=7"]
    assert "UTC" in maria  # signed in above
    admin = next(line for line in lines if line.startswith("admin"))
    assert admin.split() == ["admin", "yes", "admin", "-", "never"]

    changed = run(
        "users", "passwd", "MARIA.LOPEZ", "--password-stdin", env=upgraded, stdin="Quartz.17x\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert signs_in(upgraded, "maria.lopez", "Quartz.17x")
    assert not signs_in(upgraded, "maria.lopez", PASSWORD)

    assert run("users", "disable", "maria.lopez", env=upgraded).returncode == 0
    assert "maria.lopez  no " in run("users", "list", env=upgraded).stdout
    assert not signs_in(upgraded, "maria.lopez", "Quartz.17x")
    assert run("users", "enable", "maria.lopez", env=upgraded).returncode == 0
    assert signs_in(upgraded, "maria.lopez", "Quartz.17x")


def test_add_refuses_a_role_missing_from_the_config(upgraded: dict[str, str]) -> None:
    result = run(
        "users", "add", "bob", "--role", "nurse", "--password-stdin", env=upgraded, stdin=PASSWORD
    )
    assert_one_line_error(result, "unknown role 'nurse'", "clerk")
    assert "bob" not in run("users", "list", env=upgraded).stdout


def test_add_refuses_bad_input_with_one_line(upgraded: dict[str, str]) -> None:
    weak = run("users", "add", "bob", "--password-stdin", env=upgraded, stdin="short\n")
    assert_one_line_error(weak, "at least 10 characters")
    no_tty = run("users", "add", "bob", env=upgraded, stdin="")
    assert_one_line_error(no_tty, "--password-stdin")
    bad_attr = run("users", "add", "bob", "--attr", "dept", "--password-stdin", env=upgraded)
    assert_one_line_error(bad_attr, "NAME=VALUE")
    twice = run("users", "add", "ADMIN", "--password-stdin", env=upgraded, stdin=PASSWORD)
    assert_one_line_error(twice, "already exists")
    unknown = run("users", "disable", "ghost", env=upgraded)
    assert_one_line_error(unknown, "no such user 'ghost'")
    last_admin = run("users", "disable", "admin", env=upgraded)
    assert_one_line_error(last_admin, "last active admin")


def test_users_without_action_shows_help(upgraded: dict[str, str]) -> None:
    result = run("users", env=upgraded)
    assert result.returncode == 2
    assert "add" in result.stdout and "passwd" in result.stdout


def test_cli_account_changes_are_audited_as_the_command_line(upgraded: dict[str, str]) -> None:
    assert (
        run("users", "add", "ana", "--password-stdin", env=upgraded, stdin=PASSWORD).returncode == 0
    )
    assert (
        run(
            "users", "passwd", "ana", "--password-stdin", env=upgraded, stdin="Quartz.17x\n"
        ).returncode
        == 0
    )
    assert run("users", "disable", "ana", env=upgraded).returncode == 0
    assert run("users", "enable", "ana", env=upgraded).returncode == 0
    engine = create_db_engine(upgraded["DATADESK_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT username, source, row_key, action, changes FROM datadesk_audit "
                    "WHERE table_name = 'datadesk_users' ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    login = getpass.getuser()
    assert [(r.username, r.source, r.row_key, r.action) for r in rows] == [
        (f"system:{login}", "cli", "admin", "create"),
        (f"system:{login}", "cli", "ana", "create"),
        (f"system:{login}", "cli", "ana", "update"),
        (f"system:{login}", "cli", "ana", "update"),
        (f"system:{login}", "cli", "ana", "update"),
    ]
    changes = [json.loads(r.changes) for r in rows]
    assert changes[1]["roles"] == [None, ""]
    assert list(changes[2]) == ["password_changed_at"]
    assert changes[3] == {"is_active": [True, False]}
    assert changes[4] == {"is_active": [False, True]}
