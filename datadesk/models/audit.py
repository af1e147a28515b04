"""Audit entries: who changed which row, when, from where, with field-level before/after values.

Entries are written through the caller's session, so they commit or roll back together with
the change they describe.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datadesk.models.app_tables import ROW_KEY_LENGTH, AppTables, to_db_time
from datadesk.models.bulk import BulkInsert
from datadesk.models.catalog import TableInfo

# One encoder for every entry: json.dumps with options builds a new encoder on each call.
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
_ENTRY_COLUMNS = (
    "occurred_at",
    "username",
    "source",
    "table_name",
    "row_key",
    "action",
    "changes",
    "job_id",
    "reverted_entry_id",
    "address",
)


@dataclass(frozen=True)
class AuditContext:
    """Who acts and through which path (form, bulk, import, cli, grid, revert)."""

    username: str
    source: str
    address: str | None = None
    job_id: int | None = None
    reverted_entry_id: int | None = None


def jsonable(value: Any) -> Any:
    """A value as it is stored in an audit entry and compared for lost updates."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    return str(value)


def row_key_text(key: Sequence[Any]) -> str:
    """A row's key as stored in the audit log: as in URLs, parts joined by ';' with '\\' and
    ';' escaped inside a part."""
    if len(key) == 1 and type(key[0]) is int:
        return str(key[0])[:ROW_KEY_LENGTH]
    if len(key) == 1:
        return str(jsonable(key[0]))[:ROW_KEY_LENGTH]
    parts = (str(jsonable(p)).replace("\\", "\\\\").replace(";", "\\;") for p in key)
    return ";".join(parts)[:ROW_KEY_LENGTH]


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """{column: [before, after]} for every column whose value differs."""
    old = {k: jsonable(v) for k, v in (before or {}).items()}
    new = {k: jsonable(v) for k, v in (after or {}).items()}
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes[name] = [old.get(name), new.get(name)]
    return changes


class AuditLog:
    """Writes audit entries into datadesk's own audit table."""

    def __init__(self, tables: AppTables) -> None:
        self.table = tables.audit
        self._bulk: dict[sa.Dialect, BulkInsert] = {}  # the bulk insert prepared per dialect

    def _bulk_insert(self, dialect: sa.Dialect) -> BulkInsert:
        bulk = self._bulk.get(dialect)
        if bulk is None:
            bulk = self._bulk[dialect] = BulkInsert(self.table, _ENTRY_COLUMNS, dialect)
        return bulk

    def record(
        self,
        session: Session | sa.Connection,
        context: AuditContext,
        table: TableInfo | str,
        action: str,
        key: Sequence[Any],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> bool:
        """Add one entry in the caller's transaction; False (nothing written) when no value
        changed."""
        return self.record_many(session, context, table, [(action, key, before, after)]) == 1

    def record_many(
        self,
        session: Session | sa.Connection,
        context: AuditContext,
        table: TableInfo | str,
        changes: Sequence[
            tuple[str, Sequence[Any], Mapping[str, Any] | None, Mapping[str, Any] | None]
        ],
    ) -> int:
        """Add one entry per (action, key, before, after) that changed a value, in one
        executemany; the number of entries written. ``table`` is a served table, or the name
        of one of datadesk's own tables (user accounts)."""
        table_name = table if isinstance(table, str) else table.name
        now = to_db_time(dt.datetime.now(dt.UTC))
        entries = []
        for action, key, before, after in changes:
            changed = diff(before, after)
            if changed:
                entries.append(
                    {
                        "occurred_at": now,
                        "username": context.username,
                        "source": context.source,
                        "table_name": table_name,
                        "row_key": row_key_text(key),
                        "action": action,
                        "changes": _encode(changed),
                        "job_id": context.job_id,
                        "reverted_entry_id": context.reverted_entry_id,
                        "address": context.address,
                    }
                )
        if entries:
            session.execute(sa.insert(self.table), entries)
        return len(entries)

    def record_created(
        self,
        conn: sa.Connection,
        context: AuditContext,
        table: TableInfo,
        names: Sequence[str],
        created: Sequence[tuple[Sequence[Any], Sequence[Any]]],
    ) -> int:
        """Add one "create" entry per (key, values in ``names`` order) in the caller's
        transaction, with the database's bulk insert; the number of entries written.

        The entries are those ``record_many`` writes for ``("create", key, None, values)``:
        every non-blank value as [null, value], the same JSON text. Made for imports of many
        rows: the JSON is put together column by column from each value's encoding, which
        costs a fraction of a diff and an encoder call per row.
        """
        now = to_db_time(dt.datetime.now(dt.UTC))
        if not created:
            return 0
        columns: list[Sequence[Any]] = list(zip(*(values for _, values in created), strict=True))
        parts = [
            _created_parts(names[i], columns[i])
            for i in sorted(range(len(names)), key=names.__getitem__)
            if columns[i].count(None) < len(created)  # a column blank in every row adds nothing
        ]
        if all(None not in column for column in parts):
            changes: list[str | None] = ["{" + ", ".join(f) + "}" for f in zip(*parts, strict=True)]  # type: ignore[arg-type]
        else:
            changes = [_members(fragments) for fragments in zip(*parts, strict=True)]
        if not parts:
            changes = [None] * len(created)
        fixed = (context.username, context.source, table.name)
        after = (context.job_id, context.reverted_entry_id, context.address)
        entries = [
            (now, *fixed, row_key_text(key), "create", text, *after)
            for (key, _values), text in zip(created, changes, strict=True)
            if text is not None
        ]
        self._bulk_insert(conn.dialect).write(conn, entries)
        return len(entries)


def _members(fragments: Sequence[str | None]) -> str | None:
    present = [f for f in fragments if f is not None]
    return "{" + ", ".join(present) + "}" if present else None


def _created_parts(name: str, values: Sequence[Any]) -> list[str | None]:
    """For each value, its entry's JSON member ``"name": [null, value]``; None for a blank."""
    head = _encode(name) + ": [null, "
    encoders = _VALUE_JSON
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) == 1 and (only := encoders.get(kinds.pop())) is not None:
        # One type in the column (the usual case): one encoder, no lookup per value.
        return [None if v is None else head + only(v) + "]" for v in values]
    parts: list[str | None] = []
    for value in values:
        if value is None:
            parts.append(None)
            continue
        encoder = encoders.get(type(value))
        parts.append(head + (encoder(value) if encoder else _encode(jsonable(value))) + "]")
    return parts


def _iso_json(value: dt.date | dt.time) -> str:
    return '"' + value.isoformat() + '"'


def _float_json(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else _encode(value)


# JSON of the common value types, as the encoder writes jsonable(value): C and str methods.
_VALUE_JSON: dict[type, Any] = {
    int: int.__repr__,
    str: json.encoder.encode_basestring,  # type: ignore[attr-defined]
    bool: lambda value: "true" if value else "false",
    float: _float_json,
    dt.date: _iso_json,
    dt.datetime: _iso_json,
    dt.time: _iso_json,
}
