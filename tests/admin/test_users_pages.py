"""The users pages through the real app: who gets them, what they change, and bad input."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from datadesk.auth.users import UserStore
from tests.admin.conftest import CLERK_DEPARTMENT, CSRF_RE, SignedInClient, sign_in

NEW_PASSWORD = "Fresh-Pass-2024!"
OTHER_PASSWORD = "Second-Pass-7788?"
NON_MANAGERS = ["clerk", "official", "manager", "auditor", "nobody"]


def unique_name(prefix: str = "user") -> str:
    """A user name no other test uses (the demo database is shared by the run)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def create_form(username: str, **changes: Any) -> dict[str, Any]:
    """A valid create form for ``username`` (a clerk of the test department), with changes."""
    return {
        "username": username,
        "display_name": "Test Person",
        "email": "test.person@example.org",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        "roles": ["clerk"],
        "attributes": f"department_id={CLERK_DEPARTMENT}",
        **changes,
    }


def store_of(client: TestClient) -> UserStore:
    """The UserStore of the app behind a client."""
    store: UserStore = client.app.state.runtime.users  # type: ignore[attr-defined]
    return store


@pytest.fixture
def browsers() -> Iterator[Any]:
    """Signed-in clients over one given app (so they share its actor directory)."""
    opened: list[SignedInClient] = []

    def make(app: Any, username: str, password: str = "") -> SignedInClient:
        browser = SignedInClient(app, follow_redirects=False)
        browser.__enter__()
        opened.append(browser)
        browser.csrf = sign_in(browser, username, password)
        return browser

    yield make
    for browser in opened:
        browser.__exit__(None, None, None)


def sign_in_status(app: Any, username: str, password: str) -> int:
    """The status of a sign-in attempt in a fresh browser (303 means signed in)."""
    with TestClient(app, follow_redirects=False) as browser:
        token = CSRF_RE.search(browser.get("/admin/login").text).group(1)  # type: ignore[union-attr]
        response = browser.post(
            "/admin/login",
            data={"username": username, "password": password, "csrf_token": token},
        )
        return response.status_code


def test_admin_creates_a_user_who_signs_in_with_those_roles(
    client: SignedInClient, browsers: Any
) -> None:
    name = unique_name("Clerk")
    response = client.post("/admin/users/new", data=create_form(name))
    assert response.status_code == 303, response.text
    listing = client.get(response.headers["location"])
    assert f"User {name.lower()} was created." in listing.text
    assert "department_id=3" in listing.text and "never" in listing.text

    user = store_of(client).get(name)
    assert user is not None and user.username == name.lower()
    assert user.roles == {"clerk"} and user.attributes == {"department_id": CLERK_DEPARTMENT}
    assert user.display_name == "Test Person" and user.email == "test.person@example.org"

    clerk = browsers(client.app, name, NEW_PASSWORD)
    staff = clerk.get("/admin/staff/list")
    assert staff.status_code == 200 and "Salary" not in staff.text
    assert clerk.get("/admin/students/list").status_code == 403
    assert clerk.get("/admin/users").status_code == 403
    assert 'href="http://testserver/admin/users"' not in staff.text
    assert 'href="http://testserver/admin/users"' in client.get("/admin/staff/list").text
    last = store_of(client).get(name)
    assert last is not None and last.last_login_at is not None


def test_pages_render_with_the_token_on_every_form(client: SignedInClient) -> None:
    name = unique_name()
    store_of(client).create_user(name, NEW_PASSWORD, roles=["official"])
    for path in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{name}/edit",
        f"/admin/users/{name}/password",
        f"/admin/users/{name}/disable",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        forms = re.findall(r'<form method="post".*?</form>', response.text, re.S)
        assert forms, path
        assert all('name="csrf_token" value="' in form for form in forms), path
    edit = client.get(f"/admin/users/{name}/edit").text
    assert re.search(r'value="official" checked', edit)
    assert 'value="admin"' in edit and 'value="clerk"' in edit
    assert client.get("/admin/users/no-such-user/edit").status_code == 404


def test_disabling_ends_the_users_session_at_their_next_request(
    client: SignedInClient, browsers: Any
) -> None:
    name = unique_name()
    store_of(client).create_user(name, NEW_PASSWORD, roles=["official"])
    victim = browsers(client.app, name, NEW_PASSWORD)
    assert victim.get("/admin/staff/list").status_code == 200

    assert client.get(f"/admin/users/{name}/disable").status_code == 200  # confirmation only
    assert store_of(client).get(name).is_active  # type: ignore[union-attr]
    response = client.post(f"/admin/users/{name}/disable", data={})
    assert response.status_code == 303
    assert store_of(client).get(name).is_active is False  # type: ignore[union-attr]

    refused = victim.get("/admin/staff/list")
    assert refused.status_code == 302 and "/admin/login" in refused.headers["location"]
    assert sign_in_status(client.app, name, NEW_PASSWORD) == 401
    assert "no (disabled)" in client.get("/admin/users").text

    assert client.post(f"/admin/users/{name}/enable", data={}).status_code == 303
    assert sign_in_status(client.app, name, NEW_PASSWORD) == 303


def test_role_changes_count_from_the_next_request(client: SignedInClient, browsers: Any) -> None:
    name = unique_name()
    store_of(client).create_user(
        name, NEW_PASSWORD, roles=["clerk"], attributes={"department_id": "3"}
    )
    user = browsers(client.app, name, NEW_PASSWORD)
    assert user.get("/admin/students/list").status_code == 403
    response = client.post(
        f"/admin/users/{name}/edit",
        data={"display_name": "Now Official", "email": "", "roles": ["official"], "attributes": ""},
    )
    assert response.status_code == 303, response.text
    assert user.get("/admin/students/list").status_code == 200
    changed = store_of(client).get(name)
    assert changed is not None and changed.roles == {"official"} and changed.attributes == {}
    assert changed.display_name == "Now Official" and changed.email is None


def test_reset_password(client: SignedInClient) -> None:
    name = unique_name()
    store_of(client).create_user(name, NEW_PASSWORD, roles=["official"])
    mismatch = client.post(
        f"/admin/users/{name}/password",
        data={"password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD + "x"},
    )
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    assert OTHER_PASSWORD not in mismatch.text
    weak = client.post(
        f"/admin/users/{name}/password", data={"password": "aaaaaaaa", "password_again": "aaaaaaaa"}
    )
    assert weak.status_code == 400 and "at least 10 characters" in weak.text

    done = client.post(
        f"/admin/users/{name}/password",
        data={"password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD},
    )
    assert done.status_code == 303
    assert sign_in_status(client.app, name, NEW_PASSWORD) == 401
    assert sign_in_status(client.app, name, OTHER_PASSWORD) == 303


@pytest.mark.parametrize("username", NON_MANAGERS)
def test_only_user_managers_get_the_pages(as_user: Any, username: str) -> None:
    browser = as_user(username)
    store = store_of(browser)
    target = unique_name("target")
    store.create_user(target, NEW_PASSWORD, roles=["official"])
    for path in ("users", "users/new", *(f"users/{target}/{p}" for p in ("edit", "password"))):
        assert browser.get(f"/admin/{path}").status_code == 403, path
    assert browser.get(f"/admin/users/{target}/disable").status_code == 403
    new = unique_name()
    posts = {
        "/admin/users/new": create_form(new, roles=["admin"]),
        f"/admin/users/{target}/edit": {"roles": ["admin"], "attributes": ""},
        f"/admin/users/{target}/password": {
            "password": OTHER_PASSWORD,
            "password_again": OTHER_PASSWORD,
        },
        f"/admin/users/{target}/disable": {},
        f"/admin/users/{target}/enable": {},
    }
    for path, data in posts.items():
        assert browser.post(path, data=data).status_code == 403, path
    assert store.get(new) is None
    after = store.get(target)
    assert after is not None and after.is_active and after.roles == {"official"}
    assert sign_in_status(browser.app, target, NEW_PASSWORD) == 303
    assert 'href="http://testserver/admin/users"' not in browser.get("/admin/").text


def test_anonymous_visitors_are_sent_to_sign_in(app_factory: Any) -> None:
    with TestClient(app_factory(), follow_redirects=False) as anonymous:
        for path in ("/admin/users", "/admin/users/new", "/admin/users/admin/edit"):
            response = anonymous.get(path)
            assert response.status_code == 302, path
            assert "/admin/login?next=" in response.headers["location"]
        token = CSRF_RE.search(anonymous.get("/admin/login").text).group(1)  # type: ignore[union-attr]
        name = unique_name()
        response = anonymous.post(
            "/admin/users/new", data={**create_form(name), "csrf_token": token}
        )
        assert response.status_code == 302
        assert store_of(anonymous).get(name) is None


def test_posts_without_the_token_change_nothing(client: SignedInClient) -> None:
    name = unique_name()
    for token in ("", "forged-token"):
        response = TestClient.post(
            client, "/admin/users/new", data={**create_form(name), "csrf_token": token}
        )
        assert response.status_code == 403
    assert store_of(client).get(name) is None
    store_of(client).create_user(name, NEW_PASSWORD, roles=["official"])
    for action in ("disable", "edit", "password"):
        data = {"roles": ["admin"], "password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD}
        response = TestClient.post(client, f"/admin/users/{name}/{action}", data=data)
        assert response.status_code == 403, action
    user = store_of(client).get(name)
    assert user is not None and user.is_active and user.roles == {"official"}
    assert sign_in_status(client.app, name, NEW_PASSWORD) == 303


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "zzzzzzzz", "password_again": "zzzzzzzz"}, "at least 10 characters"),
        ({"password_again": OTHER_PASSWORD}, "The two passwords differ"),
        ({"password": "", "password_again": ""}, "Enter the new password twice"),
        ({"roles": ["clerk", "superuser"]}, "There is no role &#39;superuser&#39;"),
        ({"username": "clerk"}, "User &#39;clerk&#39; already exists"),
        ({"username": "no spaces allowed"}, "Invalid user name"),
        ({"username": "x" * 5000}, "The user name must be at most 100 characters"),
        ({"attributes": "department_id 3"}, "Attributes, line 1: write name=value"),
        ({"attributes": "ok=1\n9lives=3"}, "Attributes, line 2: &#39;9lives&#39; is not"),
        ({"attributes": "a=1\nA=2"}, "Attributes, line 2: &#39;a&#39; is given twice"),
        ({"attributes": "note=" + "v" * 401}, "over 400 characters"),
        ({"email": "e" * 255}, "at most 254 characters"),
        ({"display_name": "d" * 201}, "at most 200 characters"),
    ],
)
def test_bad_input_shows_the_form_again_and_creates_nothing(
    client: SignedInClient, changes: dict[str, Any], message: str
) -> None:
    form = create_form(unique_name("bad"), display_name="Kept Name")
    form.update(changes)
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 400
    assert message in response.text, response.text
    assert NEW_PASSWORD not in response.text and OTHER_PASSWORD not in response.text
    assert "x" * 101 not in response.text
    if "display_name" not in changes:
        assert 'value="Kept Name"' in response.text
    if "username" not in changes:
        assert f'value="{form["username"]}"' in response.text
        assert store_of(client).get(form["username"]) is None
    assert store_of(client).get("clerk").roles == {"clerk"}  # type: ignore[union-attr]


def test_bad_edit_changes_nothing(client: SignedInClient) -> None:
    name = unique_name()
    store = store_of(client)
    store.create_user(name, NEW_PASSWORD, display_name="Before", roles=["clerk"])
    response = client.post(
        f"/admin/users/{name}/edit",
        data={"display_name": "After", "roles": ["official"], "attributes": "broken line"},
    )
    assert response.status_code == 400
    assert "Attributes, line 1" in response.text and 'value="After"' in response.text
    assert "broken line</textarea>" in response.text
    user = store.get(name)
    assert user is not None and user.display_name == "Before" and user.roles == {"clerk"}


def test_a_role_gone_from_the_config_can_be_kept_or_removed(client: SignedInClient) -> None:
    name = unique_name()
    store = store_of(client)
    store.create_user(name, NEW_PASSWORD, roles=["retired_role", "official"])
    page = client.get(f"/admin/users/{name}/edit").text
    assert 'value="retired_role" checked' in page and "not in the configuration" in page
    kept = {"roles": ["retired_role", "official"], "attributes": "", "display_name": "Kept"}
    assert client.post(f"/admin/users/{name}/edit", data=kept).status_code == 303
    assert store.get(name).roles == {"retired_role", "official"}  # type: ignore[union-attr]
    removed = {"roles": ["official"], "attributes": ""}
    assert client.post(f"/admin/users/{name}/edit", data=removed).status_code == 303
    assert store.get(name).roles == {"official"}  # type: ignore[union-attr]
    assert "retired_role" not in client.get(f"/admin/users/{name}/edit").text


def test_the_last_active_admin_stays(client: SignedInClient) -> None:
    store = store_of(client)
    others = [
        u.username
        for u in store.list_users()
        if u.is_admin and u.is_active and u.username != "admin"
    ]
    for name in others:
        store.disable(name)
    try:
        refused = client.post("/admin/users/admin/disable", data={})
        assert refused.status_code == 400
        assert "last active admin" in refused.text
        demoted = client.post(
            "/admin/users/admin/edit", data={"roles": ["official"], "attributes": ""}
        )
        assert demoted.status_code == 400 and "last active admin" in demoted.text
        admin = store.get("admin")
        assert admin is not None and admin.is_active and admin.roles == {"admin"}
    finally:
        for name in others:
            store.enable(name)


def test_password_reset_ends_sessions_opened_before_it(client: SignedInClient) -> None:
    name = unique_name()
    store_of(client).create_user(name, NEW_PASSWORD, roles=["official"])
    with SignedInClient(client.app, follow_redirects=False) as other:
        other.csrf = sign_in(other, name, NEW_PASSWORD)
        assert other.get("/admin/staff/list").status_code == 200
        done = client.post(
            f"/admin/users/{name}/password",
            data={"password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD},
        )
        assert done.status_code == 303
        assert other.get("/admin/staff/list").status_code == 302  # signed out
