"""A real ``datadesk serve`` process on a free loopback port, over a small demo database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine
from tests.conftest import SERVER_URL, pg_database

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "e2e-Secret-passw0rd"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Session:
    """A signed-in browser session against the served app: its cookie and CSRF token."""

    client: httpx2.Client
    cookie: str
    csrf: str


def sign_in(base: str) -> Session:
    """Sign in as admin through the real login form over real HTTP."""
    client = httpx2.Client(base_url=base, follow_redirects=False, timeout=30)
    token = CSRF_RE.search(client.get("/admin/login").text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/admin/login",
        data={
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "csrf_token": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 303, response.text
    csrf = CSRF_RE.search(client.get("/admin/").text).group(1)  # type: ignore[union-attr]
    return Session(client, f"datadesk_session={client.cookies['datadesk_session']}", csrf)


@pytest.fixture
def session(served: str) -> Iterator[Session]:
    """A fresh signed-in session for one test."""
    signed = sign_in(served)
    yield signed
    signed.client.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``datadesk serve`` on its own demo database; yield the base URL; stop it."""
    var_dir = tmp_path_factory.mktemp("served")
    with pg_database("e2e") if SERVER_URL else _nothing() as pg_url:
        url = pg_url or f"sqlite:///{var_dir / 'demo.sqlite3'}"
        engine = create_db_engine(url)
        build_demo(engine, immunizations=2_000)
        engine.dispose()
        port = free_port()
        env = {
            **os.environ,
            "DATADESK_DATABASE_URL": url,
            "DATADESK_VAR_DIR": str(var_dir),
            "DATADESK_PORT": str(port),
            "DATADESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        env.pop("DATADESK_CONFIG", None)
        subprocess.run(
            [str(BIN / "datadesk"), "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        log = (var_dir / "serve.log").open("w")
        proc = subprocess.Popen(
            [str(BIN / "datadesk"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc, var_dir / "serve.log")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            print("SERVE LOG", (var_dir / "serve.log").read_text()[-4000:])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"datadesk serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"datadesk serve did not answer: {log.read_text()[-2000:]}")
