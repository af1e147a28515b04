"""Sign-in throttling: temporary lockout per account and per client address.

Every attempt is recorded in ``{prefix}login_attempts`` with its outcome.  Only failed password
checks (``invalid``) count: attempts refused because of a lockout do not extend it, so the
unlock time shown to a user stays true.  An account's count restarts after a successful
sign-in; an address's does not, so that signing in to one's own account cannot reset it.

An account or address is locked while it has at least ``lockout_attempts`` (account) or
``address_attempts`` (address) counted failures within the last ``lockout_minutes``; it unlocks
when the oldest of those failures leaves the window.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa

from datadesk.config.schema import AuthConfig
from datadesk.models.app_tables import (
    ADDRESS_LENGTH,
    USERNAME_LENGTH,
    AppTables,
    from_db_time,
    to_db_time,
)


class LoginOutcome(StrEnum):
    """How one sign-in attempt ended (``login_attempts.outcome``)."""

    OK = "ok"
    INVALID = "invalid"  # unknown user or wrong password: the only outcome that counts
    LOCKED = "locked"
    DISABLED = "disabled"


class LoginThrottle:
    """Decides whether an account or address is locked, and records attempts."""

    def __init__(self, tables: AppTables, auth: AuthConfig) -> None:
        self.attempts = tables.login_attempts
        self.auth = auth

    @property
    def window(self) -> dt.timedelta:
        """How far back failures count, and how long a lockout lasts."""
        return dt.timedelta(minutes=self.auth.lockout_minutes)

    def locked_until(
        self, conn: sa.Connection, username: str, address: str, now: dt.datetime
    ) -> dt.datetime | None:
        """When the account or the address unlocks (aware UTC), or None if neither is locked."""
        since = to_db_time(now) - self.window
        username, address = attempt_username(username), attempt_address(address)
        t = self.attempts
        last_ok = conn.execute(
            sa.select(sa.func.max(t.c.attempted_at)).where(
                t.c.username == username,
                t.c.outcome == LoginOutcome.OK.value,
                t.c.attempted_at > since,
            )
        ).scalar_one_or_none()
        account_since = max(since, last_ok) if last_ok is not None else since
        unlocks = (
            self._unlock_time(
                conn, t.c.username == username, account_since, self.auth.lockout_attempts
            ),
            self._unlock_time(conn, t.c.address == address, since, self.auth.address_attempts),
        )
        found = [moment for moment in unlocks if moment is not None]
        return from_db_time(max(found)) if found else None

    def _unlock_time(
        self,
        conn: sa.Connection,
        who: sa.ColumnElement[bool],
        since: dt.datetime,
        limit: int,
    ) -> dt.datetime | None:
        """When the limit-th newest counted failure after ``since`` leaves the window, if any."""
        t = self.attempts
        rows = conn.execute(
            sa.select(t.c.attempted_at)
            .where(who, t.c.outcome == LoginOutcome.INVALID.value, t.c.attempted_at > since)
            .order_by(t.c.attempted_at.desc())
            .limit(limit)
        ).all()
        if len(rows) < limit:
            return None
        moment: dt.datetime = rows[-1][0]
        return moment + self.window

    def record(
        self,
        conn: sa.Connection,
        username: str,
        address: str,
        outcome: LoginOutcome,
        now: dt.datetime,
    ) -> None:
        """Store one attempt."""
        conn.execute(
            self.attempts.insert().values(
                username=attempt_username(username),
                address=attempt_address(address),
                attempted_at=to_db_time(now),
                succeeded=outcome is LoginOutcome.OK,
                outcome=outcome.value,
            )
        )


def attempt_username(username: str) -> str:
    """The user name as attempts store it: trimmed, lower case, cut to the column's length."""
    return (username or "").strip().lower()[:USERNAME_LENGTH] or "-"


def attempt_address(address: str | None) -> str:
    """The client address as attempts store it; '-' when unknown."""
    return (address or "").strip()[:ADDRESS_LENGTH] or "-"
