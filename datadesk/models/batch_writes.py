"""Many rows of one table updated in one transaction: every row, or none when any is refused.

Used by grid editing (each row its own values, each checked against the version the user
saw) and by bulk set (one column set to one value on a set of rows, checked against a
fingerprint of the set the user confirmed). A refused row is a value (``RowRefusal``) saying
why, not an exception: the caller shows every refusal at once. Keys go to the database in
IN lists of at most 1000 (Oracle's limit); every written row gets one audit entry in the
same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datadesk.models.audit import AuditContext, diff, jsonable
from datadesk.models.catalog import TableInfo
from datadesk.models.grid_query import capped_count
from datadesk.models.records import RecordStore, changed_since, conflict_details, explain_db_error
from datadesk.models.row_keys import Key, key_text, keys_condition, match_key


@dataclass(frozen=True)
class RowChange:
    """New values for one row, and the values the user saw when they changed it."""

    key: Key
    values: Mapping[str, Any]
    expected: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RowRefusal:
    """Why one row was not written: missing, conflict, scope or database."""

    key: Key
    code: str
    message: str
    column: str | None = None  # the column at fault, when one is
    current: Mapping[str, Any] | None = None  # the row as it is now (conflicts)
    changed: tuple[str, ...] = ()  # the columns someone else changed (conflicts)


@dataclass
class BatchOutcome:
    """What a batch did: the keys it wrote and left alone, or why rows were refused."""

    written: list[Key] = field(default_factory=list)
    unchanged: list[Key] = field(default_factory=list)
    refusals: list[RowRefusal] = field(default_factory=list)
    matched: int = 0  # rows in the set a bulk set was asked to change
    fingerprint: str = ""  # of that set as found, for a new confirmation
    is_stale: bool = False  # the set is not the one the user confirmed: nothing was written

    @property
    def is_written(self) -> bool:
        """Whether the transaction committed."""
        return not self.refusals and not self.is_stale


class _Undo(Exception):
    """Raised inside a batch's transaction to roll it back (the outcome says why)."""


def fingerprint(table: TableInfo, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A digest of a set of rows: their keys and the values of ``columns``, in key order."""
    items = sorted(
        (
            [jsonable(row[n]) for n in table.primary_key],
            [jsonable(row[n]) for n in columns],
        )
        for row in rows
    )
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def select_rows(table: TableInfo, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """SELECT of every column of the table (labelled by attribute name) under ``where``."""
    t = table.table
    columns = [t.c[c.db_name].label(c.name) for c in table.columns.values()]
    return sa.select(*columns).where(*where)


class BatchUpdate:
    """Updates rows of one table within the rows an actor may edit, all or none, audited."""

    def __init__(
        self,
        store: RecordStore,
        table: TableInfo,
        scope: sa.ColumnElement[bool] | None,
        audit: AuditContext,
    ) -> None:
        self.store = store
        self.table = table
        self.scope = scope  # rows the actor may edit: before the change and after it
        self.audit = audit

    def apply(self, changes: Sequence[RowChange]) -> BatchOutcome:
        """Write each row's values if it is in scope and holds what the user saw."""

        def work(conn: sa.Connection, outcome: BatchOutcome) -> None:
            keys = [change.key for change in changes]
            current = self._load(conn, [keys_condition(self.table, keys)])
            for change in changes:
                found = current.get(match_key(change.key))
                if found is None:
                    outcome.refusals.append(self._missing(change.key))
                    continue
                changed = changed_since(found, change.expected)
                if changed:
                    outcome.refusals.append(self._conflict(change.key, found, changed))
            if not outcome.refusals:
                pairs = [(current[match_key(c.key)], c.values) for c in changes]
                self._write(conn, pairs, outcome)

        return self._all_or_nothing(work)

    def set_column(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        column: str,
        value: Any,
        *,
        confirmed: str,
        version_columns: Sequence[str],
        limit: int,
    ) -> BatchOutcome:
        """Set one column to one value on the rows matching ``where`` (within scope), if that
        set is still the one the user confirmed (``confirmed`` is its fingerprint); else
        nothing is written and the outcome is stale, with the set as it is now."""

        def work(conn: sa.Connection, outcome: BatchOutcome) -> None:
            # Oracle cannot lock rows of a SELECT with a row limit (ORA-02014): count up to
            # the limit first, then lock the set without one.
            if self._count(conn, where, limit) > limit:
                outcome.is_stale = True
                return
            rows = _fetch(conn, select_rows(self.table, *self._scoped(where)), lock=True)
            outcome.matched = len(rows)
            outcome.fingerprint = fingerprint(self.table, rows, version_columns)
            if outcome.fingerprint != confirmed or len(rows) > limit:
                outcome.is_stale = True
                return
            self._write(conn, [(row, {column: value}) for row in rows], outcome)

        return self._all_or_nothing(work)

    def _all_or_nothing(self, work: Callable[[sa.Connection, BatchOutcome], None]) -> BatchOutcome:
        """Run ``work`` in one transaction; commit only when it refused nothing."""
        outcome = BatchOutcome()
        try:
            with self.store.transaction() as conn:
                work(conn, outcome)
                if not outcome.is_written:
                    raise _Undo
        except _Undo:
            outcome.written.clear()
            return outcome
        if outcome.written:
            self.store.notify_committed(self.table)
        return outcome

    def preview(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        column: str,
        value: Any,
        *,
        version_columns: Sequence[str],
        limit: int,
    ) -> BatchOutcome:
        """What ``set_column`` would do now, without writing: the set's size, its fingerprint,
        and which rows would change (``written``) or already hold the value (``unchanged``)."""
        outcome = BatchOutcome()
        with self.store.reading() as conn:
            stmt = select_rows(self.table, *self._scoped(where)).limit(limit + 1)
            rows = _fetch(conn, stmt, lock=False)  # one more than the limit tells "too many"
        outcome.matched = len(rows)
        outcome.fingerprint = fingerprint(self.table, rows, version_columns)
        for row in rows[:limit]:
            key = tuple(row[n] for n in self.table.primary_key)
            same = not diff({column: row[column]}, {column: value})
            (outcome.unchanged if same else outcome.written).append(key)
        return outcome

    # -- steps ----------------------------------------------------------------------------------

    def _scoped(self, where: Sequence[sa.ColumnElement[bool]]) -> list[sa.ColumnElement[bool]]:
        return [*where, self.scope] if self.scope is not None else list(where)

    def _load(
        self, conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]]
    ) -> dict[Key, dict[str, Any]]:
        """The rows in scope under ``where``, by normalised key, locked until the commit."""
        stmt = select_rows(self.table, *self._scoped(where))
        return {
            match_key(row[n] for n in self.table.primary_key): row
            for row in _fetch(conn, stmt, lock=True)
        }

    def _count(
        self, conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]], limit: int
    ) -> int:
        """How many rows in scope match ``where``, counted up to ``limit + 1``."""
        stmt = capped_count(self.table.table, self._scoped(where), limit)
        return int(conn.execute(stmt).scalar_one())

    def _write(
        self,
        conn: sa.Connection,
        pairs: Sequence[tuple[dict[str, Any], Mapping[str, Any]]],
        outcome: BatchOutcome,
    ) -> None:
        """Update the rows whose values differ, check they stay in scope, audit each."""
        updates: list[tuple[Key, dict[str, Any], dict[str, Any]]] = []
        for before, values in pairs:
            key = tuple(before[n] for n in self.table.primary_key)
            after = {**before, **values}
            if diff(before, after):
                updates.append((key, before, after))
            else:
                outcome.unchanged.append(key)
        if not updates:
            return
        refused = self._execute(conn, updates)
        if refused:
            outcome.refusals.extend(refused)
            return
        outcome.refusals.extend(self._left_scope(conn, [key for key, _, _ in updates]))
        if outcome.refusals:
            return
        audit_log = self.store.audit_log
        if audit_log is not None:
            entries = [("update", key, before, after) for key, before, after in updates]
            audit_log.record_many(conn, self.audit, self.table, entries)
        outcome.written.extend(key for key, _, _ in updates)

    def _execute(
        self, conn: sa.Connection, updates: Sequence[tuple[Key, dict[str, Any], dict[str, Any]]]
    ) -> list[RowRefusal]:
        """executemany per set of changed columns; when the database refuses, the rows are
        tried one by one (each in a savepoint) to name the refused ones."""
        groups: dict[tuple[str, ...], list[tuple[Key, dict[str, Any]]]] = {}
        for key, before, after in updates:
            names = tuple(sorted(diff(before, after)))
            groups.setdefault(names, []).append((key, after))
        try:
            with conn.begin_nested():
                for names, rows in groups.items():
                    self._update(conn, names, rows)
            return []
        except sa_exc.DBAPIError:
            pass
        refused = []
        for names, rows in groups.items():
            for key, after in rows:
                try:
                    with conn.begin_nested():
                        self._update(conn, names, [(key, after)])
                except sa_exc.DBAPIError as exc:
                    message, column = explain_db_error(exc, self.table)
                    refused.append(RowRefusal(key, "database", message, column))
        return refused

    def _update(
        self, conn: sa.Connection, names: Sequence[str], rows: Sequence[tuple[Key, dict[str, Any]]]
    ) -> None:
        t = self.table.table
        columns = self.table.columns
        where = sa.and_(
            *(
                t.c[columns[n].db_name] == sa.bindparam(f"k_{i}")
                for i, n in enumerate(self.table.primary_key)
            )
        )
        values: dict[str, Any] = {
            columns[n].db_name: sa.bindparam(f"v_{i}") for i, n in enumerate(names)
        }
        params = []
        for key, after in rows:
            item = {f"k_{i}": part for i, part in enumerate(key)}
            item.update({f"v_{i}": after[n] for i, n in enumerate(names)})
            params.append(item)
        conn.execute(t.update().where(where).values(values), params)

    def _left_scope(self, conn: sa.Connection, keys: Sequence[Key]) -> list[RowRefusal]:
        """Rows that the change took out of the rows the actor may edit."""
        if self.scope is None:
            return []
        t = self.table.table
        key_columns = [t.c[self.table.columns[n].db_name] for n in self.table.primary_key]
        stmt = sa.select(*key_columns).where(keys_condition(self.table, keys), self.scope)
        inside = {match_key(row) for row in conn.execute(stmt)}
        return [
            RowRefusal(
                key,
                "scope",
                "after this change the row would be outside the rows you may edit",
            )
            for key in keys
            if match_key(key) not in inside
        ]

    def _missing(self, key: Key) -> RowRefusal:
        return RowRefusal(key, "missing", f"no row with key {key_text(key)}")

    def _conflict(self, key: Key, current: dict[str, Any], changed: dict[str, Any]) -> RowRefusal:
        return RowRefusal(
            key,
            "conflict",
            "someone else changed this row after you loaded it ("
            + conflict_details(self.table, changed)
            + ")",
            current=current,
            changed=tuple(changed),
        )


def _fetch(conn: sa.Connection, stmt: sa.Select[Any], *, lock: bool) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts, locked for the transaction when asked (SQLite locks the
    whole database on write instead)."""
    if lock and conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return [dict(row) for row in conn.execute(stmt).mappings()]
