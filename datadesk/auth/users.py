"""Local users: accounts, roles, attributes, passwords and sign-in, stored in datadesk's tables.

User names are case-insensitive (stored in lower case); attribute names too.  Every method runs
in one transaction; ``authenticate`` reads, then verifies the password with no connection held,
then records the attempt in one transaction.  Every change to an account made with an
``audit`` context is written to the audit log in the same transaction (table: the users table,
key: the user name); password hashes never are, only when a password was changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from datadesk.auth.accounts import (
    ADMIN_ROLE,
    ADMIN_USERNAME,
    ROLE_RULE,
    AuthResult,
    User,
    account_values,
    checked_attributes,
    normalize_username,
    optional_text,
    user_from_rows,
)
from datadesk.auth.passwords import (
    check_password_strength,
    dummy_hash,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from datadesk.auth.throttle import LoginOutcome, LoginThrottle, attempt_username
from datadesk.config.schema import AuthConfig
from datadesk.errors import InvalidInput, NotFound
from datadesk.models.app_tables import (
    AppTables,
    to_db_time,
)
from datadesk.models.audit import AuditContext, AuditLog


def utc_now() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


class UserStore:
    """Users in datadesk's own tables; ``known_roles`` (if given) limits the roles assignable."""

    def __init__(
        self,
        engine: sa.Engine,
        tables: AppTables,
        auth: AuthConfig,
        *,
        known_roles: Collection[str] | None = None,
        audit_log: AuditLog | None = None,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.auth = auth
        self.audit_log = audit_log
        self.known_roles = None if known_roles is None else frozenset(known_roles) | {ADMIN_ROLE}
        self.throttle = LoginThrottle(tables, auth)

    def get(self, username: str) -> User | None:
        """The user called ``username`` (any case), or None."""
        name = (username or "").strip().lower()
        with self.engine.connect() as conn:
            return self._load(conn, name)

    def list_users(self) -> list[User]:
        """Every user, by user name."""
        t = self.tables
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.username)).all()
            roles = conn.execute(sa.select(t.user_roles)).all()
            attrs = conn.execute(sa.select(t.user_attributes)).all()
        return [user_from_rows(row, roles, attrs) for row in rows]

    def create_user(
        self,
        username: str,
        password: str | None,
        *,
        display_name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] = (),
        attributes: Mapping[str, str] | None = None,
        audit: AuditContext | None = None,
    ) -> User:
        """Add a user; ``password`` None means no local password (single sign-on only)."""
        name = normalize_username(username)
        role_set = self.check_roles(roles)
        attrs = checked_attributes(attributes or {})
        hashed = self._new_hash(password, name) if password is not None else None
        now = to_db_time(utc_now())
        t = self.tables
        with self.engine.begin() as conn:
            if self._user_id(conn, name) is not None:
                raise InvalidInput(f"user {name!r} already exists")
            try:
                result = conn.execute(
                    t.users.insert().values(
                        username=name,
                        display_name=optional_text(display_name, "display name", 200),
                        email=optional_text(email, "e-mail", 254),
                        password_hash=hashed,
                        is_active=True,
                        created_at=now,
                        password_changed_at=now if hashed else None,
                    )
                )
            except sa.exc.IntegrityError as error:  # created concurrently
                raise InvalidInput(f"user {name!r} already exists") from error
            key = result.inserted_primary_key
            assert key is not None
            user_id = int(key[0])
            self._write_roles(conn, user_id, role_set)
            self._write_attributes(conn, user_id, attrs)
            user = self._record(conn, audit, "create", name, None)
        return user

    def set_password(
        self, username: str, password: str, *, audit: AuditContext | None = None
    ) -> None:
        """Replace a user's password."""
        name = normalize_username(username)
        hashed = self._new_hash(password, name)
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            self._update(
                conn, before.id, password_hash=hashed, password_changed_at=to_db_time(utc_now())
            )
            self._record(conn, audit, "update", name, before)

    def disable(self, username: str, *, audit: AuditContext | None = None) -> None:
        """Stop a user from signing in (the last active admin cannot be disabled)."""
        name = normalize_username(username)
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            self._refuse_losing_last_admin(conn, before.id, name)
            self._update(conn, before.id, is_active=False)
            self._record(conn, audit, "update", name, before)

    def enable(self, username: str, *, audit: AuditContext | None = None) -> None:
        """Allow a disabled user to sign in again."""
        name = normalize_username(username)
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            self._update(conn, before.id, is_active=True)
            self._record(conn, audit, "update", name, before)

    def set_roles(
        self, username: str, roles: Iterable[str], *, audit: AuditContext | None = None
    ) -> None:
        """Replace a user's roles (the last active admin keeps the admin role)."""
        name = normalize_username(username)
        role_set = self.check_roles(roles)
        t = self.tables
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            if ADMIN_ROLE not in role_set:
                self._refuse_losing_last_admin(conn, before.id, name)
            conn.execute(t.user_roles.delete().where(t.user_roles.c.user_id == before.id))
            self._write_roles(conn, before.id, role_set)
            self._record(conn, audit, "update", name, before)

    def set_attributes(
        self, username: str, attributes: Mapping[str, str], *, audit: AuditContext | None = None
    ) -> None:
        """Replace a user's attributes."""
        name = normalize_username(username)
        attrs = checked_attributes(attributes)
        t = self.tables
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            conn.execute(t.user_attributes.delete().where(t.user_attributes.c.user_id == before.id))
            self._write_attributes(conn, before.id, attrs)
            self._record(conn, audit, "update", name, before)

    def update_user(
        self,
        username: str,
        *,
        display_name: str | None,
        email: str | None,
        roles: Iterable[str],
        attributes: Mapping[str, str],
        audit: AuditContext | None = None,
    ) -> None:
        """Replace a user's display name, e-mail, roles and attributes, all or nothing."""
        name = normalize_username(username)
        role_set = self.check_roles(roles)
        attrs = checked_attributes(attributes)
        profile = {
            "display_name": optional_text(display_name, "display name", 200),
            "email": optional_text(email, "e-mail", 254),
        }
        t = self.tables
        with self.engine.begin() as conn:
            before = self._existing(conn, name)
            user_id = before.id
            if ADMIN_ROLE not in role_set:
                self._refuse_losing_last_admin(conn, user_id, name)
            self._update(conn, user_id, **profile)
            conn.execute(t.user_roles.delete().where(t.user_roles.c.user_id == user_id))
            self._write_roles(conn, user_id, role_set)
            conn.execute(t.user_attributes.delete().where(t.user_attributes.c.user_id == user_id))
            self._write_attributes(conn, user_id, attrs)
            self._record(conn, audit, "update", name, before)

    def ensure_admin(
        self, password: str | None = None, *, audit: AuditContext | None = None
    ) -> str | None:
        """Create user admin (role admin) if missing; return its password, None if it existed."""
        if self.get(ADMIN_USERNAME) is not None:
            return None
        length = max(20, self.auth.password_min_length)
        secret = password if password is not None else generate_password(ADMIN_USERNAME, length)
        try:
            self.create_user(
                ADMIN_USERNAME,
                secret,
                display_name="Administrator",
                roles=(ADMIN_ROLE,),
                audit=audit,
            )
        except InvalidInput:
            if self.get(ADMIN_USERNAME) is not None:  # created meanwhile by another process
                return None
            raise
        return secret

    def authenticate(
        self, username: str, password: str, address: str, now: dt.datetime | None = None
    ) -> AuthResult:
        """Check a sign-in, throttled per account and address; every attempt is recorded."""
        moment = now or utc_now()
        name = attempt_username(username)
        t = self.tables.users
        with self.engine.connect() as conn:
            locked = self.throttle.locked_until(conn, name, address, moment)
            row = None
            if locked is None:
                row = conn.execute(
                    sa.select(t.c.id, t.c.password_hash, t.c.is_active).where(t.c.username == name)
                ).first()
        if locked is not None:
            with self.engine.begin() as conn:
                self.throttle.record(conn, name, address, LoginOutcome.LOCKED, moment)
            return AuthResult(LoginOutcome.LOCKED, locked_until=locked)
        stored = row.password_hash if row is not None else None
        # unknown users and users without a password cost one verification too
        matches = verify_password(stored or dummy_hash(self.auth), password) and bool(stored)
        if row is None or not matches:
            outcome = LoginOutcome.INVALID
        else:
            outcome = LoginOutcome.OK if row.is_active else LoginOutcome.DISABLED
        changes: dict[str, Any] = {}
        if outcome is LoginOutcome.OK:
            changes["last_login_at"] = to_db_time(moment)
            if stored and needs_rehash(stored, self.auth):
                changes["password_hash"] = hash_password(password, self.auth)
        with self.engine.begin() as conn:
            self.throttle.record(conn, name, address, outcome, moment)
            if row is not None and changes:
                self._update(conn, row.id, **changes)
            user = self._load(conn, name) if outcome is LoginOutcome.OK else None
        return AuthResult(outcome, user=user)

    def check_roles(self, roles: Iterable[str]) -> frozenset[str]:
        """The roles as a set; InvalidInput for a malformed or (with known_roles) unknown one."""
        role_set = frozenset(r.strip() for r in roles)
        for role in sorted(role_set):
            if not ROLE_RULE.match(role):
                raise InvalidInput(f"invalid role name {role!r}")
            if self.known_roles is not None and role not in self.known_roles:
                known = ", ".join(sorted(self.known_roles))
                raise InvalidInput(f"unknown role {role!r} (roles in the config: {known})")
        return role_set

    def _new_hash(self, password: str, username: str) -> str:
        problems = check_password_strength(password, self.auth.password_min_length, username)
        if problems:
            raise InvalidInput("; ".join(problems))
        return hash_password(password, self.auth)

    def _user_id(self, conn: sa.Connection, name: str) -> int | None:
        t = self.tables.users
        found = conn.execute(sa.select(t.c.id).where(t.c.username == name)).scalar()
        return None if found is None else int(found)

    def _existing(self, conn: sa.Connection, name: str) -> User:
        user = self._load(conn, name)
        if user is None:
            raise NotFound(f"no such user {name!r}")
        return user

    def _record(
        self,
        conn: sa.Connection,
        audit: AuditContext | None,
        action: str,
        name: str,
        before: User | None,
    ) -> User:
        """The account as it now is, its change audited in ``conn``'s transaction."""
        after = self._load(conn, name)
        assert after is not None
        if audit is not None and self.audit_log is not None:
            self.audit_log.record(
                conn,
                audit,
                self.tables.users.name,
                action,
                [name],
                account_values(before),
                account_values(after),
            )
        return after

    def _update(self, conn: sa.Connection, user_id: int, **values: Any) -> None:
        t = self.tables.users
        conn.execute(t.update().where(t.c.id == user_id).values(**values))

    def _write_roles(self, conn: sa.Connection, user_id: int, roles: Iterable[str]) -> None:
        rows = [{"user_id": user_id, "role": role} for role in sorted(roles)]
        if rows:
            conn.execute(self.tables.user_roles.insert(), rows)

    def _write_attributes(
        self, conn: sa.Connection, user_id: int, attributes: Mapping[str, str]
    ) -> None:
        rows = [
            {"user_id": user_id, "name": name, "value": value or None}
            for name, value in sorted(attributes.items())
        ]
        if rows:
            conn.execute(self.tables.user_attributes.insert(), rows)

    def _load(self, conn: sa.Connection, name: str) -> User | None:
        t = self.tables
        row = conn.execute(sa.select(t.users).where(t.users.c.username == name)).first()
        if row is None:
            return None
        roles = conn.execute(sa.select(t.user_roles).where(t.user_roles.c.user_id == row.id)).all()
        attrs = conn.execute(
            sa.select(t.user_attributes).where(t.user_attributes.c.user_id == row.id)
        ).all()
        return user_from_rows(row, roles, attrs)

    def _refuse_losing_last_admin(self, conn: sa.Connection, user_id: int, name: str) -> None:
        """InvalidInput when ``user_id`` is the only active admin left."""
        t = self.tables
        admins = conn.execute(
            sa.select(t.users.c.id)
            .join(t.user_roles, t.user_roles.c.user_id == t.users.c.id)
            .where(t.user_roles.c.role == ADMIN_ROLE, t.users.c.is_active)
        ).scalars()
        active = set(admins)
        if active == {user_id}:
            raise InvalidInput(f"{name!r} is the last active admin; make another admin first")
