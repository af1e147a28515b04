"""Trusted-header single sign-on and forwarded client addresses, honoured only from proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import CSRF_RE


@pytest.fixture
def sso_app(app_factory: Any, tmp_path: Path) -> Any:
    """The demo app behind a proxy at 127.0.0.1 that names users in X-Remote-User."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["auth"] = {"trusted_header": "X-Remote-User", "trusted_proxies": ["127.0.0.1"]}
    config = tmp_path / "sso.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return app_factory(config)


@pytest.fixture
def via_proxy(sso_app: Any) -> Iterator[TestClient]:
    """Requests arriving from the trusted proxy's address."""
    with TestClient(sso_app, client=("127.0.0.1", 40000), follow_redirects=False) as client:
        yield client


def test_proxy_header_signs_the_user_in(via_proxy: TestClient) -> None:
    page = via_proxy.get("/admin/staff/list", headers={"X-Remote-User": "Clerk"})
    assert page.status_code == 200
    assert "Signed in as clerk" in page.text
    # The session cookie carries on, and forms get its CSRF token.
    token = CSRF_RE.search(page.text)
    assert token is not None


def test_header_from_anyone_else_is_ignored(sso_app: Any) -> None:
    with TestClient(sso_app, client=("192.0.2.7", 40000), follow_redirects=False) as client:
        page = client.get("/admin/staff/list", headers={"X-Remote-User": "admin"})
        assert page.status_code == 302
        assert "/admin/login" in page.headers["location"]


def test_unknown_or_disabled_user_is_not_signed_in(via_proxy: TestClient) -> None:
    page = via_proxy.get("/admin/staff/list", headers={"X-Remote-User": "nosuchuser"})
    assert page.status_code == 302


def test_a_different_header_user_replaces_the_session(via_proxy: TestClient) -> None:
    assert "Signed in as clerk" in via_proxy.get("/admin/", headers={"X-Remote-User": "clerk"}).text
    page = via_proxy.get("/admin/", headers={"X-Remote-User": "official"})
    assert "Signed in as official" in page.text


def test_tls_reported_by_the_proxy_makes_cookies_secure(sso_app: Any) -> None:
    with TestClient(sso_app, client=("127.0.0.1", 40000), follow_redirects=False) as proxied:
        page = proxied.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
        assert "; Secure" in page.headers["set-cookie"]
    with TestClient(sso_app, client=("192.0.2.7", 40000), follow_redirects=False) as direct:
        page = direct.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
        assert "; Secure" not in page.headers["set-cookie"]
