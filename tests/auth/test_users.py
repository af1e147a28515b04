"""The user store on a real database: accounts, roles, attributes, passwords, the admin user."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from datadesk.auth.passwords import verify_password
from datadesk.auth.throttle import LoginOutcome
from datadesk.auth.users import UserStore
from datadesk.config.schema import AuthConfig
from datadesk.errors import InvalidInput, NotFound
from datadesk.models.app_tables import AppTables
from tests.auth.conftest import FAST_AUTH, KNOWN_ROLES

PASSWORD = "Lantern-Orbit-58"
OTHER_PASSWORD = "Quartz.Meadow.17"
HERE = "192.0.2.10"


def stored_hash(engine: sa.Engine, tables: AppTables, username: str) -> str:
    """The password hash as stored, read past the store."""
    t = tables.users
    with engine.connect() as conn:
        value = conn.execute(sa.select(t.c.password_hash).where(t.c.username == username)).scalar()
    assert isinstance(value, str)
    return value


def test_create_and_get_are_case_insensitive(store: UserStore) -> None:
    created = store.create_user(
        "Maria.Lopez",
        PASSWORD,
        display_name=" Maria López ",
        email="maria.lopez@example.org",
        roles=["clerk", "official"],
        attributes={"Department_ID": "7", "campus": "north"},
    )
    assert created.username == "maria.lopez"
    assert created.display_name == "Maria López"
    assert created.roles == frozenset({"clerk", "official"})
    assert created.attributes == {"department_id": "7", "campus": "north"}
    assert created.is_active and not created.is_admin
    assert created.password_changed_at is not None
    assert created.password_changed_at.tzinfo is dt.UTC
    assert created.last_login_at is None
    assert store.get("MARIA.LOPEZ") == created
    assert store.get("nobody") is None


def test_duplicate_names_differing_in_case_are_refused(store: UserStore) -> None:
    store.create_user("clerk1", PASSWORD)
    with pytest.raises(InvalidInput, match="already exists"):
        store.create_user("CLERK1", OTHER_PASSWORD)


@pytest.mark.parametrize("name", ["", "  ", "with space", "semi;colon", "x" * 101, "-lead"])
def test_malformed_user_names_are_refused(store: UserStore, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid user name"):
        store.create_user(name, PASSWORD)


def test_roles_must_be_configured_or_admin(store: UserStore) -> None:
    with pytest.raises(InvalidInput, match="unknown role 'nurse'"):
        store.create_user("someone", PASSWORD, roles=["clerk", "nurse"])
    assert store.get("someone") is None
    assert store.create_user("boss", PASSWORD, roles=["admin"]).is_admin
    unchecked = UserStore(store.engine, store.tables, FAST_AUTH)
    assert unchecked.create_user("free", PASSWORD, roles=["anything"]).roles == {"anything"}


def test_weak_passwords_are_refused_with_reasons(store: UserStore) -> None:
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        store.create_user("shorty", "Ab1!")
    with pytest.raises(InvalidInput, match="user name"):
        store.create_user("maria", "maria-2024-Secret")
    assert store.get("shorty") is None


def test_bad_attributes_are_refused(store: UserStore) -> None:
    with pytest.raises(InvalidInput, match="attribute name"):
        store.create_user("someone", PASSWORD, attributes={"dept id": "3"})
    with pytest.raises(InvalidInput, match="at most 400"):
        store.create_user("someone", PASSWORD, attributes={"note": "x" * 401})


def test_user_without_password_cannot_sign_in(store: UserStore) -> None:
    store.create_user("sso.only", None)
    assert store.authenticate("sso.only", "", HERE).outcome is LoginOutcome.INVALID
    assert store.authenticate("sso.only", PASSWORD, HERE).outcome is LoginOutcome.INVALID


def test_list_users_is_sorted_with_roles_and_attributes(store: UserStore) -> None:
    store.create_user("zed", PASSWORD, roles=["auditor"])
    store.create_user("amy", PASSWORD, roles=["clerk"], attributes={"department_id": "3"})
    store.create_user("bob", PASSWORD)
    users = store.list_users()
    assert [u.username for u in users] == ["amy", "bob", "zed"]
    assert users[0].attributes == {"department_id": "3"} and users[0].roles == {"clerk"}
    assert users[1].roles == frozenset() and users[1].attributes == {}
    assert users[2].roles == {"auditor"}


def test_set_password_replaces_the_old_one(store: UserStore) -> None:
    before = store.create_user("clerk1", PASSWORD).password_changed_at
    store.set_password("Clerk1", OTHER_PASSWORD)
    assert not store.authenticate("clerk1", PASSWORD, HERE).ok
    result = store.authenticate("clerk1", OTHER_PASSWORD, HERE)
    assert result.ok and result.user is not None
    assert before is not None and result.user.password_changed_at is not None
    assert result.user.password_changed_at >= before
    with pytest.raises(InvalidInput):
        store.set_password("clerk1", "short")
    with pytest.raises(NotFound):
        store.set_password("ghost", OTHER_PASSWORD)


def test_disabled_users_cannot_sign_in_until_enabled(store: UserStore) -> None:
    store.create_user("clerk1", PASSWORD, roles=["clerk"])
    store.disable("CLERK1")
    user = store.get("clerk1")
    assert user is not None and not user.is_active
    disabled = store.authenticate("clerk1", PASSWORD, HERE)
    assert disabled.outcome is LoginOutcome.DISABLED and disabled.user is None
    assert "disabled" in disabled.message
    wrong = store.authenticate("clerk1", OTHER_PASSWORD, HERE)
    assert wrong.outcome is LoginOutcome.INVALID  # no hint that the account exists
    store.enable("clerk1")
    assert store.authenticate("clerk1", PASSWORD, HERE).ok
    with pytest.raises(NotFound):
        store.disable("ghost")


def test_set_roles_and_attributes_replace_everything(store: UserStore) -> None:
    store.create_user("clerk1", PASSWORD, roles=["clerk"], attributes={"a": "1", "b": "2"})
    store.set_roles("clerk1", ["official", "auditor"])
    store.set_attributes("clerk1", {"department_id": "9", "empty": ""})
    user = store.get("clerk1")
    assert user is not None
    assert user.roles == {"official", "auditor"}
    assert user.attributes == {"department_id": "9", "empty": ""}
    with pytest.raises(InvalidInput, match="unknown role"):
        store.set_roles("clerk1", ["root"])
    store.set_roles("clerk1", [])
    assert store.get("clerk1").roles == frozenset()  # type: ignore[union-attr]


def test_the_last_active_admin_is_kept(store: UserStore) -> None:
    store.create_user("chief", PASSWORD, roles=["admin"])
    with pytest.raises(InvalidInput, match="last active admin"):
        store.disable("chief")
    with pytest.raises(InvalidInput, match="last active admin"):
        store.set_roles("chief", ["clerk"])
    store.create_user("deputy", OTHER_PASSWORD, roles=["admin"])
    store.set_roles("chief", ["clerk"])
    with pytest.raises(InvalidInput, match="last active admin"):
        store.disable("deputy")


def test_ensure_admin_generates_a_password_once(store: UserStore) -> None:
    password = store.ensure_admin(None)
    assert password is not None and len(password) >= 20
    admin = store.get("admin")
    assert admin is not None and admin.is_admin and admin.is_active
    assert store.authenticate("admin", password, HERE).ok
    assert store.ensure_admin(None) is None
    assert store.ensure_admin("Another-Strong-Pass-1") is None  # never changes it
    assert store.authenticate("admin", password, HERE).ok


def test_ensure_admin_uses_the_given_password(store: UserStore) -> None:
    with pytest.raises(InvalidInput):
        store.ensure_admin("admin")
    assert store.get("admin") is None
    assert store.ensure_admin(PASSWORD) == PASSWORD
    assert store.authenticate("Admin", PASSWORD, HERE).ok


def test_sign_in_records_last_login(store: UserStore) -> None:
    store.create_user("clerk1", PASSWORD)
    moment = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    result = store.authenticate(" CLERK1 ", PASSWORD, HERE, now=moment)
    assert result.ok and result.reason == "ok"
    assert result.user is not None and result.user.last_login_at == moment
    assert store.get("clerk1").last_login_at == moment  # type: ignore[union-attr]


def test_unknown_users_get_the_same_answer_as_wrong_passwords(store: UserStore) -> None:
    store.create_user("clerk1", PASSWORD)
    unknown = store.authenticate("ghost", PASSWORD, HERE)
    wrong = store.authenticate("clerk1", OTHER_PASSWORD, HERE)
    assert unknown.outcome is wrong.outcome is LoginOutcome.INVALID
    assert unknown.message == wrong.message
    assert unknown.user is None and wrong.user is None


def test_every_attempt_is_recorded(store: UserStore, tables: AppTables) -> None:
    store.create_user("clerk1", PASSWORD)
    store.authenticate("clerk1", PASSWORD, HERE)
    store.authenticate("CLERK1", OTHER_PASSWORD, "2001:db8::1")
    store.authenticate("ghost", PASSWORD, "")
    t = tables.login_attempts
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.username, t.c.address, t.c.succeeded, t.c.outcome).order_by(t.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("clerk1", HERE, True, "ok"),
        ("clerk1", "2001:db8::1", False, "invalid"),
        ("ghost", "-", False, "invalid"),
    ]


def test_hash_is_upgraded_at_sign_in_when_the_cost_was_raised(
    store: UserStore, tables: AppTables
) -> None:
    store.create_user("clerk1", PASSWORD)
    assert "m=8192,t=1," in stored_hash(store.engine, tables, "clerk1")
    raised = UserStore(store.engine, tables, AuthConfig(hash_time_cost=2, hash_memory_kib=9216))
    assert not raised.authenticate("clerk1", OTHER_PASSWORD, HERE).ok
    assert "m=8192,t=1," in stored_hash(store.engine, tables, "clerk1")  # not on failure
    assert raised.authenticate("clerk1", PASSWORD, HERE).ok
    upgraded = stored_hash(store.engine, tables, "clerk1")
    assert "m=9216,t=2," in upgraded and verify_password(upgraded, PASSWORD)
    assert store.authenticate("clerk1", PASSWORD, HERE).ok  # a lower config keeps it
    assert stored_hash(store.engine, tables, "clerk1") == upgraded


def test_known_roles_always_include_admin(store: UserStore) -> None:
    assert store.known_roles == frozenset({*KNOWN_ROLES, "admin"})
