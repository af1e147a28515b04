"""Lockout per account and per client address, driven by an injected clock."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import pytest
import sqlalchemy as sa

from datadesk.auth.throttle import LoginOutcome
from datadesk.auth.users import UserStore
from datadesk.config.schema import AuthConfig
from datadesk.models.app_tables import AppTables
from tests.auth.conftest import KNOWN_ROLES

PASSWORD = "Lantern-Orbit-58"
WRONG = "Wrong-Guess-000"
T0 = dt.datetime(2031, 1, 15, 9, 0, tzinfo=dt.UTC)
HERE, THERE = "192.0.2.10", "198.51.100.20"


def minutes(n: float) -> dt.timedelta:
    """A timedelta of ``n`` minutes."""
    return dt.timedelta(minutes=n)


@pytest.fixture
def throttled(app_engine: sa.Engine, tables: AppTables) -> UserStore:
    """A store locking an account after 3 failures and an address after 5, for 15 minutes."""
    auth = AuthConfig(
        hash_time_cost=1,
        hash_memory_kib=8192,
        lockout_attempts=3,
        address_attempts=5,
        lockout_minutes=15,
    )
    store = UserStore(app_engine, tables, auth, known_roles=KNOWN_ROLES)
    store.create_user("clerk1", PASSWORD)
    store.create_user("clerk2", PASSWORD)
    return store


def fail(store: UserStore, username: str, address: str, *moments: dt.datetime) -> None:
    """Wrong passwords at the given moments, each answered 'invalid'."""
    for moment in moments:
        result = store.authenticate(username, WRONG, address, now=moment)
        assert result.outcome is LoginOutcome.INVALID


def test_account_locks_after_repeated_failures_and_unlocks_later(throttled: UserStore) -> None:
    fail(throttled, "clerk1", HERE, T0, T0 + minutes(1), T0 + minutes(2))
    locked = throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(3))
    assert locked.outcome is LoginOutcome.LOCKED and locked.user is None
    assert locked.locked_until == T0 + minutes(15)
    assert "09:15 UTC" in locked.message
    assert throttled.get("clerk1").last_login_at is None  # type: ignore[union-attr]
    # another address does not help: the account itself is locked
    assert throttled.authenticate("clerk1", PASSWORD, THERE, now=T0 + minutes(4)).outcome is (
        LoginOutcome.LOCKED
    )
    assert throttled.authenticate("clerk2", PASSWORD, HERE, now=T0 + minutes(4)).ok
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(15)).ok


def test_attempts_while_locked_do_not_extend_the_lock(throttled: UserStore) -> None:
    fail(throttled, "clerk1", HERE, T0, T0, T0)
    for offset in (1, 5, 10, 14):
        result = throttled.authenticate("clerk1", WRONG, HERE, now=T0 + minutes(offset))
        assert result.outcome is LoginOutcome.LOCKED
        assert result.locked_until == T0 + minutes(15)
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(15)).ok


def test_failures_outside_the_window_do_not_count(throttled: UserStore) -> None:
    fail(throttled, "clerk1", HERE, T0, T0 + minutes(10))
    fail(throttled, "clerk1", HERE, T0 + minutes(16))
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(17)).ok


def test_a_successful_sign_in_restarts_the_account_count(throttled: UserStore) -> None:
    fail(throttled, "clerk1", HERE, T0, T0 + minutes(1))
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(2)).ok
    fail(throttled, "clerk1", HERE, T0 + minutes(3), T0 + minutes(4))
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(5)).ok


def test_unknown_accounts_lock_like_known_ones(throttled: UserStore) -> None:
    fail(throttled, "ghost", HERE, T0, T0, T0)
    result = throttled.authenticate("ghost", PASSWORD, HERE, now=T0 + minutes(1))
    assert result.outcome is LoginOutcome.LOCKED
    assert result.locked_until == T0 + minutes(15)


def test_address_locks_after_failures_on_many_accounts(throttled: UserStore) -> None:
    fail(throttled, "clerk1", HERE, T0, T0 + minutes(1))
    fail(throttled, "ghost-a", HERE, T0 + minutes(2))
    fail(throttled, "ghost-b", HERE, T0 + minutes(3))
    fail(throttled, "clerk2", HERE, T0 + minutes(4))
    # five failures from HERE: every account is refused from there, even with its password
    from_here = throttled.authenticate("clerk2", PASSWORD, HERE, now=T0 + minutes(5))
    assert from_here.outcome is LoginOutcome.LOCKED
    assert from_here.locked_until == T0 + minutes(15)
    assert throttled.authenticate("clerk2", PASSWORD, THERE, now=T0 + minutes(5)).ok
    # a success from the address does not reset its count
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(6)).outcome is (
        LoginOutcome.LOCKED
    )
    assert throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(15)).ok


def test_locked_refusals_are_recorded(throttled: UserStore, tables: AppTables) -> None:
    fail(throttled, "clerk1", HERE, T0, T0, T0)
    throttled.authenticate("clerk1", PASSWORD, HERE, now=T0 + minutes(1))
    t = tables.login_attempts
    with throttled.engine.connect() as conn:
        outcomes = conn.execute(sa.select(t.c.outcome).order_by(t.c.id)).scalars().all()
    assert outcomes == ["invalid", "invalid", "invalid", "locked"]


def test_unknown_users_cost_a_hash_verification(app_engine: sa.Engine, tables: AppTables) -> None:
    """Response time must not tell whether a user exists: both paths verify one hash."""
    auth = AuthConfig(hash_time_cost=3, hash_memory_kib=32768, lockout_attempts=100)
    store = UserStore(app_engine, tables, auth)
    store.create_user("clerk1", PASSWORD)

    def seconds(username: str) -> float:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            assert not store.authenticate(username, WRONG, HERE).ok
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    known, unknown = seconds("clerk1"), seconds("ghost")
    assert unknown > 0.5 * known, (known, unknown)
