"""Fixtures for the web admin: a demo database built once per session, the real app over it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from datadesk.app import create_app, open_runtime
from datadesk.auth.users import UserStore
from datadesk.config.loader import load_config
from datadesk.demo.build import build_demo
from datadesk.models.app_tables import app_tables
from datadesk.models.engine import create_db_engine
from datadesk.models.migrations import upgrade_database
from datadesk.settings import DEMO_CONFIG, Settings
from tests.conftest import SERVER_URL, pg_database

DEMO_IMMUNIZATIONS = 3_000
PASSWORD = "correct-horse-battery-9"
CLERK_DEPARTMENT = "3"  # a demo department with staff; the clerk's own
TEST_USERS: dict[str, tuple[list[str], dict[str, str]]] = {
    "admin": (["admin"], {}),
    "clerk": (["clerk"], {"department_id": CLERK_DEPARTMENT}),
    "official": (["official"], {}),
    "manager": (["data_manager"], {}),
    "auditor": (["auditor"], {}),
    "nobody": ([], {}),
    "lockme": ([], {}),
}


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo database (small largest table) shared by the admin tests of one run."""
    with contextlib.ExitStack() as stack:
        if SERVER_URL:
            url = stack.enter_context(pg_database("demo"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
        seed_demo_database(url, DEMO_IMMUNIZATIONS)
        yield url


def seed_demo_database(url: str, immunizations: int) -> None:
    """Build the demo with datadesk's own tables and the test users in an empty database."""
    engine = create_db_engine(url)
    try:
        build_demo(engine, immunizations=immunizations)
        config = load_config(DEMO_CONFIG)
        upgrade_database(url, config.app_tables)
        users = UserStore(engine, app_tables(config.app_tables.prefix), config.auth)
        for name, (roles, attributes) in TEST_USERS.items():
            users.create_user(name, PASSWORD, roles=roles, attributes=attributes)
    finally:
        engine.dispose()


def make_settings(db_url: str, var_dir: Path, config: Path = DEMO_CONFIG) -> Settings:
    """Settings for a test app over a given database and config."""
    return Settings(database_url=db_url, config_path=config, var_dir=var_dir)


class SignedInClient(TestClient):
    """A TestClient that signed in through the real form and adds its CSRF token to posts."""

    csrf: str = ""

    def post(self, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """POST with the session's CSRF token added to the form data."""
        data = kwargs.get("data")
        if isinstance(data, dict) and "csrf_token" not in data:
            kwargs["data"] = {**data, "csrf_token": self.csrf}
        return super().post(url, **kwargs)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, username: str, password: str = "") -> str:
    """Sign in through the real login form; return the new session's CSRF token."""
    page = client.get("/admin/login")
    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    response = TestClient.post(
        client,
        "/admin/login",
        data={
            "username": username,
            "password": password or PASSWORD,
            "csrf_token": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 303, response.text
    return CSRF_RE.search(client.get("/admin/").text).group(1)  # type: ignore[union-attr]


@pytest.fixture
def app_factory(demo_db_url: str, tmp_path: Path) -> Iterator[Any]:
    """Build real apps over the shared demo database (disposed after the test)."""
    apps: list[Any] = []

    def make(config: Path = DEMO_CONFIG) -> Any:
        app = create_app(make_settings(demo_db_url, tmp_path, config))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.runtime.engine.dispose()


@pytest.fixture
def as_user(app_factory: Any) -> Iterator[Any]:
    """Sign in as one of TEST_USERS on a real app; returns a SignedInClient."""
    clients: list[SignedInClient] = []

    def make(username: str) -> SignedInClient:
        client = SignedInClient(app_factory(), follow_redirects=False)
        client.__enter__()
        clients.append(client)
        client.csrf = sign_in(client, username)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Any) -> Iterator[SignedInClient]:
    """The admin user, signed in to a real app over the shared demo database."""
    with SignedInClient(app_factory(), follow_redirects=False) as test_client:
        test_client.csrf = sign_in(test_client, "admin")
        yield test_client


@pytest.fixture
def scratch(demo_db_url: str) -> Iterator[Any]:
    """Make rows in the shared demo database for one test; they are deleted afterwards."""
    from tests.admin.grid_forms import Scratch

    made = Scratch(demo_db_url)
    yield made
    made.remove()


def cell_texts(html: str) -> list[str]:
    """Text of every <td> of a page, tags stripped (for asserting grid content)."""
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    ]


REPORT_DAY = dt.date(2026, 1, 1)  # the demo's records are dated relative to this day


@pytest.fixture
def runtimes(demo_db_url: str, tmp_path: Path) -> Iterator[Any]:
    """Open runtimes over the shared demo database (a config of the test's choice), their
    reports running on the demo's reference day (reports tests)."""
    opened: list[Any] = []

    def make(config: Path = DEMO_CONFIG, today: dt.date = REPORT_DAY) -> Any:
        runtime = open_runtime(make_settings(demo_db_url, tmp_path / "var", config))
        runtime.reports.today = lambda: today
        runtime.reports.choices.today = lambda: today
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.engine.dispose()
