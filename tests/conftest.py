"""Shared fixtures: one database backend per run, picked by DATADESK_TEST_DATABASE_URL.

Unset: a fresh SQLite file per test.  A PostgreSQL URL: it names the *server*; a fresh database
is created for the run and dropped afterwards, and each test gets its own schema-free database
state by dropping all tables it created (see ``fresh_db_url``).
"""

from __future__ import annotations

import contextlib
import email
import email.message
import email.policy
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("DATADESK_TEST_DATABASE_URL", "").strip()


def backend_name() -> str:
    """'postgresql' or 'sqlite': the backend this run tests against."""
    return make_url(SERVER_URL).get_backend_name() if SERVER_URL else "sqlite"


@contextlib.contextmanager
def pg_database(purpose: str, template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database on the test server (a copy of ``template``, when given),
    dropped on exit."""
    server = make_url(SERVER_URL)
    name = f"datadesk_test_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_run_database() -> Iterator[str | None]:
    """Create one fresh PostgreSQL database for the whole run; drop it at the end."""
    if not SERVER_URL:
        yield None
        return
    with pg_database("run") as url:
        yield url


@pytest.fixture
def fresh_db_url(pg_run_database: str | None, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database for one test (SQLite file, or an emptied PostgreSQL DB)."""
    if pg_run_database is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    engine = sa.create_engine(pg_run_database)
    _drop_everything(engine)
    try:
        yield pg_run_database
    finally:
        _drop_everything(engine)
        engine.dispose()


def _drop_everything(engine: sa.Engine) -> None:
    """Empty the public schema of the run's PostgreSQL database."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")


class MailBox:
    """Messages received by the test's local SMTP server, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """aiosmtpd handler: keep the message."""
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, MailBox]]:
    """A real SMTP server (aiosmtpd) on a free 127.0.0.1 port: (host, port, mailbox)."""
    from aiosmtpd.controller import Controller

    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port, box
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
