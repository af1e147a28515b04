"""Accounts as values: the User record, sign-in results, rules for names and attributes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from datadesk.auth.throttle import LoginOutcome
from datadesk.errors import InvalidInput
from datadesk.models.app_tables import ATTRIBUTE_VALUE_LENGTH, from_db_time

ADMIN_ROLE = "admin"
ADMIN_USERNAME = "admin"
USERNAME_RULE = re.compile(r"^\w[\w.@-]{0,99}$")
ATTRIBUTE_RULE = re.compile(r"^[a-z_][a-z0-9_]{0,99}$")
ROLE_RULE = re.compile(r"^[\w.-]{1,100}$")


@dataclass(frozen=True)
class User:
    """A local user as stored, with roles and attributes."""

    id: int
    username: str
    display_name: str | None
    email: str | None
    is_active: bool
    roles: frozenset[str]
    attributes: dict[str, str] = field(default_factory=dict, hash=False)
    password_changed_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the user holds the admin role."""
        return ADMIN_ROLE in self.roles


@dataclass(frozen=True)
class AuthResult:
    """The answer to a sign-in: ok (with the user), invalid, locked (with unlock time), disabled."""

    outcome: LoginOutcome
    user: User | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the user is signed in."""
        return self.outcome is LoginOutcome.OK

    @property
    def reason(self) -> str:
        """The outcome as a word for logs: ok, invalid, locked or disabled."""
        return self.outcome.value

    @property
    def message(self) -> str:
        """What to tell the person signing in; never whether the user name exists."""
        if self.outcome is LoginOutcome.LOCKED and self.locked_until is not None:
            until = self.locked_until.strftime("%H:%M UTC")
            return f"Too many failed sign-ins. Try again after {until}."
        return _MESSAGES[self.outcome]


_MESSAGES = {
    LoginOutcome.OK: "Signed in.",
    LoginOutcome.INVALID: "Wrong user name or password.",
    LoginOutcome.LOCKED: "Too many failed sign-ins. Try again later.",
    LoginOutcome.DISABLED: "This account is disabled. Ask an administrator.",
}


def normalize_username(username: str) -> str:
    """The stored form of a user name (lower case); InvalidInput when it is not acceptable."""
    name = (username or "").strip().lower()
    if not USERNAME_RULE.match(name):
        raise InvalidInput(
            f"invalid user name {username!r}: use 1 to 100 letters, digits, '.', '_', '-' or '@'"
        )
    return name


def user_from_rows(row: Any, roles: Iterable[Any], attrs: Iterable[Any]) -> User:
    """A User from its row and (possibly more) role and attribute rows."""
    return User(
        id=int(row.id),
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        is_active=bool(row.is_active),
        roles=frozenset(r.role for r in roles if r.user_id == row.id),
        attributes={a.name: a.value or "" for a in attrs if a.user_id == row.id},
        password_changed_at=from_db_time(row.password_changed_at),
        last_login_at=from_db_time(row.last_login_at),
    )


def account_values(user: User | None) -> dict[str, Any] | None:
    """What the audit log records of an account: no password hash, only when it changed."""
    if user is None:
        return None
    return {
        "display_name": user.display_name,
        "email": user.email,
        "is_active": user.is_active,
        "roles": ", ".join(sorted(user.roles)),
        "attributes": "; ".join(f"{k}={v}" for k, v in sorted(user.attributes.items())),
        "password_changed_at": user.password_changed_at,
    }


def checked_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """Attribute names in lower case and values as text; InvalidInput for bad ones."""
    checked: dict[str, str] = {}
    for raw_name, raw_value in attributes.items():
        name = str(raw_name).strip().lower()
        if not ATTRIBUTE_RULE.match(name):
            raise InvalidInput(
                f"invalid attribute name {raw_name!r}: use letters, digits and '_' only"
            )
        value = "" if raw_value is None else str(raw_value)
        if len(value) > ATTRIBUTE_VALUE_LENGTH:
            raise InvalidInput(f"attribute {name!r}: at most {ATTRIBUTE_VALUE_LENGTH} characters")
        checked[name] = value
    return checked


def optional_text(value: str | None, what: str, limit: int) -> str | None:
    """A trimmed optional text, None when empty (Oracle stores '' as NULL anyway)."""
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"the {what} must be at most {limit} characters long")
    return text or None
