"""A real ``datadesk serve`` process on a free loopback port, over a small demo database."""

from __future__ import annotations

import contextlib
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
import yaml

from datadesk.demo.build import build_demo
from datadesk.models.engine import create_db_engine
from datadesk.settings import DEMO_CONFIG
from tests.conftest import SERVER_URL, pg_database
from tests.e2e.image import (
    REPO,
    SECRET_KEY,
    Served,
    image_environment,
    read_image,
    resolve,
    start_image,
)
from tests.e2e.nginx import Nginx, start_nginx

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "e2e-Secret-passw0rd"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Session:
    """A signed-in browser session against the served app: its cookie and CSRF token."""

    client: httpx2.Client
    cookie: str
    csrf: str


def sign_in(base: str, client: httpx2.Client | None = None) -> Session:
    """Sign in as admin through the real login form over real HTTP (on ``client``, e.g. one
    speaking TLS to a proxy, when given)."""
    client = client or httpx2.Client(base_url=base, follow_redirects=False, timeout=30)
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


@contextlib.contextmanager
def demo_database(purpose: str, folder: Path, *, immunizations: int) -> Iterator[str]:
    """A small demo database: a SQLite file in ``folder``, or a fresh PostgreSQL database of
    the test server (dropped on exit); its URL."""
    with pg_database(purpose) if SERVER_URL else _nothing() as pg_url:
        url = pg_url or f"sqlite:///{folder / 'demo.sqlite3'}"
        engine = create_db_engine(url)
        build_demo(engine, immunizations=immunizations)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``datadesk serve`` on its own demo database; yield the base URL; stop it."""
    var_dir = tmp_path_factory.mktemp("served")
    with demo_database("e2e", var_dir, immunizations=2_000) as url:
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


@dataclass
class Site:
    """A database and datadesk.yaml for the container's start command, migrated by the compose
    file's migrate command; ``environment()`` is what ``docker run -e`` would add."""

    database_url: str
    var_dir: Path
    config: Path

    def environment(self, port: int) -> dict[str, str]:
        """The image's environment for a server on 127.0.0.1:port over this site."""
        return image_environment(
            read_image(),
            {
                "DATADESK_HOST": "127.0.0.1",
                "DATADESK_PORT": str(port),
                "DATADESK_VAR_DIR": str(self.var_dir),
                "DATADESK_CONFIG": str(self.config),
                "DATADESK_DATABASE_URL": self.database_url,
                "DATADESK_SECRET_KEY": SECRET_KEY,
                "DATADESK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            },
        )

    def write_config(self, title: str) -> None:
        """The demo's config behind a proxy at 127.0.0.1, with a given title."""
        data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        data["app"]["title"] = title
        data["auth"] = {"trusted_proxies": ["127.0.0.1"]}
        self.config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A small demo database set up as deploy/compose.yaml does before the app starts."""
    var_dir = tmp_path_factory.mktemp("site")
    with demo_database("site", var_dir, immunizations=500) as url:
        built = Site(url, var_dir, var_dir / "datadesk.yaml")
        built.write_config("Medical University Records")
        compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
        env = built.environment(free_port())
        subprocess.run(
            resolve(compose["services"]["migrate"]["command"], env),
            env=env,
            cwd=var_dir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield built


@pytest.fixture(scope="session")
def image_server(site: Site) -> Iterator[Served]:
    """The Dockerfile's CMD serving the site on a free loopback port."""
    served = start_image(read_image(), site.environment(free_port()), site.var_dir / "image.log")
    try:
        yield served
    finally:
        served.stop()
        print("IMAGE LOG", served.log()[-4000:])


@pytest.fixture(scope="session")
def front(image_server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """deploy/nginx.conf in front of the image server (TLS on a free loopback port)."""
    upstream = image_server.base.removeprefix("http://")
    nginx = start_nginx(upstream, tmp_path_factory.mktemp("nginx"))
    try:
        yield nginx
    finally:
        nginx.stop()
        print("NGINX ERRORS", nginx.error_log()[-2000:])
