"""Reading audit entries back, and undoing one change (itself audited and conflict-checked)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from datadesk.errors import InvalidInput, NotFound
from datadesk.models.app_tables import AppTables, from_db_time
from datadesk.models.audit import AuditContext
from datadesk.models.catalog import Catalog, TableInfo
from datadesk.models.grid_query import coerce_value
from datadesk.models.records import RecordStore

REVERSE_ACTION = {"update": "edit", "delete": "create", "create": "delete"}
"""The permission undoing each kind of change needs on the table."""


@dataclass(frozen=True)
class AuditEntry:
    """One audited change as stored."""

    id: int
    occurred_at: dt.datetime | None
    username: str
    source: str
    table_name: str
    row_key: str
    action: str
    changes: dict[str, list[Any]]
    address: str | None
    reverted_entry_id: int | None


def entry_from_row(row: Any) -> AuditEntry:
    """An AuditEntry from a row of the audit table."""
    try:
        changes = json.loads(row.changes)
    except ValueError:
        changes = {}
    return AuditEntry(
        id=int(row.id),
        occurred_at=from_db_time(row.occurred_at),
        username=row.username,
        source=row.source,
        table_name=row.table_name,
        row_key=row.row_key,
        action=row.action,
        changes=changes if isinstance(changes, dict) else {},
        address=row.address,
        reverted_entry_id=row.reverted_entry_id,
    )


def load_entry(records: RecordStore, tables: AppTables, entry_id: int) -> AuditEntry:
    """One entry by id; NotFound when there is none."""
    with records.reading() as conn:
        row = conn.execute(sa.select(tables.audit).where(tables.audit.c.id == entry_id)).first()
    if row is None:
        raise NotFound(f"no audit entry {entry_id}")
    return entry_from_row(row)


def typed(table: TableInfo, values: Mapping[str, Any]) -> dict[str, Any]:
    """Audit-log values (text, numbers) back to the column types, for writing."""
    result = {}
    for name, value in values.items():
        column = table.columns.get(name)
        if column is None:
            continue
        result[name] = None if value is None else coerce_value(column, str(value))
    return result


def revert_entry(
    records: RecordStore,
    catalog: Catalog,
    entry: AuditEntry,
    key: Sequence[Any],
    context: AuditContext,
) -> None:
    """Undo one change if the row still looks as the change left it; else RowConflict."""
    table = catalog.tables.get(entry.table_name)
    if table is None:
        raise NotFound(f"table {entry.table_name} is no longer served")
    before = {name: pair[0] for name, pair in entry.changes.items()}
    after = {name: pair[1] for name, pair in entry.changes.items()}
    if entry.action == "update":
        records.update(table, key, typed(table, before), expected=after, audit=context)
    elif entry.action == "delete":
        records.insert(table, typed(table, before), audit=context)
    elif entry.action == "create":
        records.delete_many(table, [key], audit=context, expected=after)
    else:
        raise InvalidInput(f"audit entry {entry.id} cannot be reverted")
