"""Create, update and delete rows of reflected tables, each call one transaction.

Database refusals (NOT NULL, foreign key, unique, check, length) become ``WriteRejected`` with
a message that names the table and, where the driver reports it, the column and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from datadesk.errors import NotFound, WriteRejected
from datadesk.models.audit import AuditContext, AuditLog, diff
from datadesk.models.catalog import TableInfo
from datadesk.models.engine import WRITE_OPTIONS
from datadesk.models.row_keys import key_text, row_exists

WriteListener = Callable[[str], None]


class RowConflict(WriteRejected):
    """The row changed since the user loaded it; nothing was written (lost-update protection)."""


class RecordStore:
    """Writes rows through the ORM mapping of a table, auditing each change in the same
    transaction; notifies listeners after each commit."""

    def __init__(
        self, session_factory: sessionmaker[Session], audit_log: AuditLog | None = None
    ) -> None:
        self.session_factory = session_factory
        self.audit_log = audit_log
        self.listeners: list[WriteListener] = []

    def _committed(self, table: TableInfo) -> None:
        self.notify_committed(table)

    def notify_committed(self, table: TableInfo) -> None:
        """Tell the listeners (cached counts and drop-downs) that a table's rows changed."""
        for listener in self.listeners:
            listener(table.name)

    def reading(self) -> sa.Connection:
        """A plain connection for reads (cheaper than a Session when no object is loaded)."""
        bind = self.session_factory.kw["bind"]
        return bind.connect()

    def transaction(self) -> AbstractContextManager[sa.Connection]:
        """A connection in a transaction: committed when the block ends, rolled back when it
        raises (for writes that go through Core rather than mapped objects)."""
        bind: sa.Engine = self.session_factory.kw["bind"]
        return bind.begin()

    def get(self, table: TableInfo, key: Sequence[Any]) -> Any | None:
        """Load one mapped object by key values, or None."""
        with self.session_factory() as session:
            return session.get(table.model, tuple(key))

    def insert(
        self, table: TableInfo, values: Mapping[str, Any], *, audit: AuditContext | None = None
    ) -> Any:
        """Insert one row and return the new (detached, loaded) object."""
        obj = table.model()
        for name, value in values.items():
            setattr(obj, name, value)
        with self.session_factory(expire_on_commit=False) as session:
            session.add(obj)
            self._flush(session, table)
            self._audit(session, audit, table, "create", obj, None, row_values(table, obj))
            self._commit(session, table)
        self._committed(table)
        return obj

    def update(
        self,
        table: TableInfo,
        key: Sequence[Any],
        values: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
        audit: AuditContext | None = None,
    ) -> Any:
        """Update one row found by key; NotFound when it is gone, RowConflict when any column
        in ``expected`` no longer holds the value the user loaded (then nothing is written)."""
        with self.session_factory(expire_on_commit=False) as session:
            session.connection(execution_options=WRITE_OPTIONS)
            obj = session.get(table.model, tuple(key), with_for_update=True)
            if obj is None:
                raise NotFound(f"{table.label}: no row with key {key_text(key)}")
            before = row_values(table, obj)
            _check_expected(table, before, expected)
            for name, value in values.items():
                setattr(obj, name, value)
            self._flush(session, table)
            self._audit(session, audit, table, "update", obj, before, row_values(table, obj))
            self._commit(session, table)
        self._committed(table)
        return obj

    def delete_many(
        self,
        table: TableInfo,
        keys: Sequence[Sequence[Any]],
        scope: sa.ColumnElement[bool] | None = None,
        *,
        audit: AuditContext | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> int:
        """Delete several rows in one transaction: all of them, or none when any fails.

        ``scope`` limits the rows that may be deleted; a key outside it counts as missing.
        """
        with self.session_factory() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            for key in keys:
                obj = session.get(table.model, tuple(key))
                if (
                    obj is not None
                    and scope is not None
                    and not row_exists(session, table, key, scope)
                ):
                    obj = None
                if obj is None:
                    session.rollback()
                    raise NotFound(f"{table.label}: no row with key {key_text(key)}")
                before = row_values(table, obj)
                try:
                    _check_expected(table, before, expected)
                except RowConflict:
                    session.rollback()
                    raise
                self._audit(session, audit, table, "delete", obj, before, None)
                session.delete(obj)
            self._commit(session, table)
        self._committed(table)
        return len(keys)

    def _audit(
        self,
        session: Session,
        audit: AuditContext | None,
        table: TableInfo,
        action: str,
        obj: Any,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        if audit is None or self.audit_log is None:
            return
        key = [getattr(obj, name) for name in table.primary_key]
        self.audit_log.record(session, audit, table, action, key, before, after)

    @staticmethod
    def _flush(session: Session, table: TableInfo) -> None:
        try:
            session.flush()
        except sa_exc.DBAPIError as exc:
            session.rollback()
            raise WriteRejected(describe_db_error(exc, table)) from exc

    @staticmethod
    def _commit(session: Session, table: TableInfo) -> None:
        try:
            session.commit()
        except sa_exc.DBAPIError as exc:
            session.rollback()
            raise WriteRejected(describe_db_error(exc, table)) from exc


def row_values(table: TableInfo, obj: Any) -> dict[str, Any]:
    """Every column value of a mapped object, by attribute name."""
    return {name: getattr(obj, name, None) for name in table.columns}


def changed_since(
    current: Mapping[str, Any], expected: Mapping[str, Any] | None
) -> dict[str, list[Any]]:
    """{column: [value the user loaded, value now]} for each expected column that changed."""
    if expected is None:
        return {}
    shared = [k for k in expected if k in current]
    return diff({k: expected[k] for k in shared}, {k: current[k] for k in shared})


def _check_expected(
    table: TableInfo, current: Mapping[str, Any], expected: Mapping[str, Any] | None
) -> None:
    """RowConflict when a column no longer holds the value the user loaded."""
    changed = changed_since(current, expected)
    if changed:
        raise RowConflict(
            f"{table.label}: someone else changed this row after you opened it ("
            + conflict_details(table, changed)
            + "). Nothing was saved: reopen the row, check the new values and make your change "
            "again."
        )


def conflict_details(table: TableInfo, changed: Mapping[str, list[Any]]) -> str:
    """What changed under the user: "Lot: 'A1' is now 'B2'; ..." (at most eight columns)."""
    parts = []
    for name, (yours, now) in list(changed.items())[:8]:
        label = table.columns[name].label if name in table.columns else name
        parts.append(f"{label}: '{_short(yours)}' is now '{_short(now)}'")
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"NOT NULL constraint failed: [\w\"]+\.(\w+)", re.I), "{col}: a value is required"),
    (
        re.compile(r'null value in column "(\w+)"', re.I),
        "{col}: a value is required",
    ),
    (
        re.compile(r"ORA-01400: cannot insert NULL into \([^)]*\.\"?(\w+)\"?\)", re.I),
        "{col}: a value is required",
    ),
    (
        re.compile(r"Key \((\w+)\)=\(([^)]*)\) is not present in table \"(\w+)\"", re.I),
        "{col}: {value} does not exist in {target}",
    ),
    (
        re.compile(r"Key \((\w+)\)=\(([^)]*)\) is still referenced from table \"(\w+)\"", re.I),
        "cannot delete: {value} is still referenced from {target}",
    ),
    (
        re.compile(r"FOREIGN KEY constraint failed", re.I),
        "a referenced row does not exist, or this row is still referenced by other rows",
    ),
    (re.compile(r"ORA-02291", re.I), "a referenced row does not exist"),
    (re.compile(r"ORA-02292", re.I), "this row is still referenced by other rows"),
    (
        re.compile(r"Key \(([\w, ]+)\)=\(([^)]*)\) already exists", re.I),
        "{col}: {value} already exists",
    ),
    (
        re.compile(r"UNIQUE constraint failed: [\w\"]+\.(\w+)", re.I),
        "{col}: this value already exists",
    ),
    (re.compile(r"ORA-00001", re.I), "a row with this key already exists"),
    (
        re.compile(r"value too long for type character varying\((\d+)\)", re.I),
        "a value is longer than {len} characters",
    ),
    (
        re.compile(r"ORA-12899: value too large for column [^ ]*\"(\w+)\"", re.I),
        "{col}: the value is too long",
    ),
    (re.compile(r"CHECK constraint failed: (\w+)", re.I), "a value is not allowed ({name})"),
    (re.compile(r'violates check constraint "(\w+)"', re.I), "a value is not allowed ({name})"),
    (re.compile(r"invalid input syntax for type (\w+)", re.I), "a value is not a valid {name}"),
    (re.compile(r"numeric field overflow", re.I), "a number is too large for its column"),
]


def describe_db_error(exc: sa_exc.DBAPIError, table: TableInfo) -> str:
    """Turn a driver error into one line naming the table and, when known, column and value."""
    return f"{table.label}: {explain_db_error(exc, table)[0]}"


def explain_db_error(exc: sa_exc.DBAPIError, table: TableInfo) -> tuple[str, str | None]:
    """(what the database refused, the column it names when the driver reports one)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    for pattern, template in _PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groups()
        first = groups[0] if groups else ""
        col = table.columns.get(first.lower()) if first else None
        if col is None and first:
            col = next(
                (c for c in table.columns.values() if c.db_name.lower() == first.lower()), None
            )
        message = template.format(
            col=col.label if col else first,
            value=groups[1] if len(groups) > 1 else "",
            target=groups[2] if len(groups) > 2 else "",
            len=first,
            name=first,
        )
        return message, col.name if col is not None and "{col}" in template else None
    return f"the database refused the change ({text.splitlines()[0][:160]})", None


def fetch_one(session_factory: sessionmaker[Session], stmt: sa.Select[Any]) -> Any:
    """Run a SELECT and return its first mapping row, or None."""
    with session_factory() as session:
        return session.execute(stmt).mappings().first()
