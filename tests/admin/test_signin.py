"""Sign-in, sessions, CSRF and security headers through the real app."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.admin.conftest import CSRF_RE, PASSWORD, SignedInClient, sign_in


def login_token(client: TestClient) -> str:
    """The CSRF token the sign-in form carries for an anonymous session."""
    return CSRF_RE.search(client.get("/admin/login").text).group(1)  # type: ignore[union-attr]


def test_pages_need_a_signed_in_user(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as anonymous:
        for path in (
            "/admin/",
            "/admin/staff/list",
            "/admin/staff/details/1",
            "/admin/staff/create",
            "/admin/staff/lookup?q=a",
        ):
            response = anonymous.get(path)
            assert response.status_code == 302, path
            assert "/admin/login?next=" in response.headers["location"]


def test_sign_in_returns_to_the_page_asked_for(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as browser:
        first = browser.get("/admin/staff/list?page=2")
        login_url = first.headers["location"]
        token = login_token(browser)
        response = browser.post(
            login_url,
            data={
                "username": "ADMIN",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "/admin/staff/list?page=2",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/staff/list?page=2"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over TLS the flag is set
        assert browser.get("/admin/staff/list?page=2").status_code == 200


def test_sign_in_never_redirects_off_site(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as browser:
        token = login_token(browser)
        response = browser.post(
            "/admin/login",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example.org/x",
            },
        )
        assert response.headers["location"] == "/admin/"


def test_wrong_password_and_unknown_user_look_the_same(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as browser:
        token = login_token(browser)
        wrong = browser.post(
            "/admin/login",
            data={"username": "admin", "password": "nope-nope-nope", "csrf_token": token},
        )
        unknown = browser.post(
            "/admin/login",
            data={"username": "nobody", "password": "nope-nope-nope", "csrf_token": token},
        )
        assert wrong.status_code == unknown.status_code == 401
        assert "Wrong user name or password." in wrong.text
        assert "Wrong user name or password." in unknown.text
        assert (
            "datadesk_session=" not in wrong.headers.get("set-cookie", "").split(";")[0]
            or browser.get("/admin/").status_code == 302
        )


def test_tampered_cookie_is_an_anonymous_visitor(client: SignedInClient) -> None:
    value = client.cookies.get("datadesk_session")
    assert value
    client.cookies.clear()
    middle = len(value) // 3  # inside the signed payload
    forged = value[:middle] + ("x" if value[middle] != "x" else "y") + value[middle + 1 :]
    client.cookies.set("datadesk_session", forged)
    assert client.get("/admin/staff/list").status_code == 302


def test_sign_out_is_a_post_with_token(client: SignedInClient) -> None:
    assert client.get("/admin/logout").status_code == 405  # a link cannot sign anyone out
    response = client.post("/admin/logout", data={})
    assert response.status_code == 303
    assert client.get("/admin/staff/list").status_code == 302


def test_state_changes_without_a_valid_token_are_refused(
    client: SignedInClient, demo_db_url: str
) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        dept_id = conn.exec_driver_sql("SELECT MAX(DEPT_ID) FROM DEPARTMENTS").scalar_one()
    form = {
        "dept_code": "CSRF1",
        "dept_name": "Forged",
        "created_date": "2026-01-05",
        "save": "Save",
    }
    missing = TestClient.post(client, "/admin/departments/create", data=form)
    wrong = TestClient.post(
        client, "/admin/departments/create", data={**form, "csrf_token": "0" * 64}
    )
    foreign = client.post(
        "/admin/departments/create", data=form, headers={"origin": "https://evil.example.org"}
    )
    deleted = TestClient.post(client, "/admin/departments/delete", data={"pks": str(dept_id)})
    for response in (missing, wrong, foreign, deleted):
        assert response.status_code == 403
        assert "Traceback" not in response.text
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_CODE = 'CSRF1'"
            ).scalar_one()
            == 0
        )
        assert (
            conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM DEPARTMENTS WHERE DEPT_ID = {dept_id}"
            ).scalar_one()
            == 1
        )
    engine.dispose()


def test_token_of_another_session_is_refused(app_factory: Any, client: SignedInClient) -> None:
    with SignedInClient(app_factory(), follow_redirects=False) as other:
        other.csrf = sign_in(other, "admin")
        assert other.csrf != client.csrf  # a new nonce at every sign-in
        response = TestClient.post(
            other, "/admin/departments/create", data={"dept_code": "X1", "csrf_token": client.csrf}
        )
        assert response.status_code == 403


def test_every_form_carries_the_token(client: SignedInClient) -> None:
    for path in (
        "/admin/departments/create",
        "/admin/departments/edit/1",
        "/admin/departments/delete?pks=1",
    ):
        page = client.get(path).text
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", page, re.S | re.I)
        assert forms, path
        assert all('name="csrf_token"' in body for body in forms), path


def test_security_headers(client: SignedInClient) -> None:
    headers = client.get("/admin/staff/list").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_repeated_failures_lock_the_account(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as browser:
        token = login_token(browser)
        for _ in range(5):
            browser.post(
                "/admin/login",
                data={"username": "lockme", "password": "wrong-password-x", "csrf_token": token},
            )
        locked = browser.post(
            "/admin/login", data={"username": "lockme", "password": PASSWORD, "csrf_token": token}
        )
        assert locked.status_code == 401
        assert "Too many failed sign-ins" in locked.text


def test_every_admin_page_sends_signed_out_visitors_to_sign_in(app_factory: Any) -> None:
    """Each GET route of the admin (grids, detail, forms, audit, users, imports, exports,
    reports, grid editing, ...) redirects a visitor without a session to the sign-in form."""
    app = app_factory()
    values = {"identity": "staff", "name": "headcount", "username": "admin", "token": "t"}
    paths = []
    for route in app.state.admin.admin.router.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or {"GET"}):
            continue
        if route.name in {"login", "logout", "index"}:
            continue
        path = route.path
        for param, convertor in route.param_convertors.items():
            value = (
                "1" if type(convertor).__name__ == "IntegerConvertor" else values.get(param, "1")
            )
            path = re.sub(r"\{" + param + r"(:[^}]*)?\}", value, path)
        paths.append("/admin" + path)
    assert len(paths) >= 20 and "/admin/audit" in paths and "/admin/reports" in paths
    with TestClient(app, follow_redirects=False) as anonymous:
        for path in paths:
            response = anonymous.get(path)
            assert response.status_code == 302, (path, response.status_code)
            assert "/admin/login?next=" in response.headers["location"], path
