"""Writing one checked batch of an import: new rows with the database's bulk insert, changed
rows with executemany, and an audit entry per written row, in a savepoint of the import's one
transaction. When the database refuses the batch, its rows are written one by one (each in its
own savepoint) to tell which rows it refuses and why; the others stay written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datadesk.importers.report import ImportReport, RowChange
from datadesk.importers.row_checks import ImportRow, RowChecks, key_text, same_value
from datadesk.models.audit import AuditContext, AuditLog, jsonable
from datadesk.models.bulk import BulkInsert
from datadesk.models.catalog import TableInfo
from datadesk.models.records import describe_db_error

MAX_SAMPLES = 200  # planned changes kept for the preview page


class RowWriter:
    """Writes the batches of one run and counts what it wrote in the report."""

    def __init__(
        self,
        conn: sa.Connection,
        checks: RowChecks,
        report: ImportReport,
        audit_log: AuditLog,
        audit: AuditContext,
    ) -> None:
        self.conn = conn
        self.checks = checks
        self.report = report
        self.audit_log = audit_log
        self.audit = audit
        self.table: TableInfo = checks.table
        self.t = checks.t
        self.mapped = checks.mapped
        self.update_names = checks.update_names
        self.labels = checks.labels
        self.primary_key = list(self.table.primary_key)
        # Blank values of columns with a database default are left out of the insert, so
        # that the default applies.
        self.defaulted = [
            n
            for n in self.mapped
            if self.t.c[self.table.columns[n].db_name].server_default is not None
        ]
        self.generated_key = any(n not in self.mapped for n in self.primary_key)
        # A row's values as a tuple in mapped order, and its primary key (C-level getters).
        self._mapped_of = _tuple_getter(self.mapped)
        self._key_of = _tuple_getter(self.primary_key)
        self._bulk: dict[tuple[str, ...], BulkInsert] = {}
        self._update_stmt: Any = None

    def write(self, rows: list[ImportRow]) -> None:
        """Write the rows without problems (inserts and updates) and their audit entries."""
        inserts = [r for r in rows if r.action == "insert" and not r.problems]
        updates = [r for r in rows if r.action == "update" and not r.problems]
        if not inserts and not updates:
            return
        try:
            with self.conn.begin_nested():
                self._write_all(inserts, updates)
        except sa_exc.DBAPIError:
            for row in inserts + updates:
                try:
                    with self.conn.begin_nested():
                        self._write_all(
                            [row] if row.action == "insert" else [],
                            [row] if row.action == "update" else [],
                        )
                except sa_exc.DBAPIError as exc:
                    row.problems.append(self.checks.row_problem(row, _db_message(exc, self.table)))
            inserts = [r for r in inserts if not r.problems]
            updates = [r for r in updates if not r.problems]
        self.report.inserted += len(inserts)
        self.report.updated += len(updates)

    def _write_all(self, inserts: list[ImportRow], updates: list[ImportRow]) -> None:
        if inserts:
            values = [row.values for row in inserts]
            after = list(map(self._mapped_of, values))  # tuples in mapped order
            keys = self._insert(values, after)
            created = list(zip(keys, after, strict=True))
            self.audit_log.record_created(self.conn, self.audit, self.table, self.mapped, created)
            for row, (key, values_after) in zip(inserts, created, strict=False):
                if len(self.report.samples) >= MAX_SAMPLES:
                    break
                self._sample(
                    row, "insert", key, None, dict(zip(self.mapped, values_after, strict=True))
                )
        if updates:
            self._update(updates)
            audit_rows: list[tuple[str, Sequence[Any], Mapping[str, Any], Mapping[str, Any]]] = []
            for row in updates:
                assert row.before is not None
                key = [row.before[n] for n in self.primary_key]
                after_row = {**row.before, **row.values}
                audit_rows.append(("update", key, row.before, after_row))
                self._sample(row, "update", key, row.before, after_row)
            self.audit_log.record_many(self.conn, self.audit, self.table, audit_rows)

    def _insert(
        self, values: list[dict[str, Any]], after: list[tuple[Any, ...]]
    ) -> list[Sequence[Any]]:
        """Insert rows (their values, and the same in mapped order); the primary key of each,
        in order. Rows are grouped by the defaulted columns they leave blank (one statement
        needs the same columns in every row)."""
        groups: dict[tuple[str, ...], list[int]] = {(): list(range(len(values)))}
        blank = [n for n in self.defaulted if None in map(itemgetter(n), values)]
        if blank:
            groups = {}
            for position, row in enumerate(values):
                left_out = tuple(n for n in blank if row[n] is None)
                groups.setdefault(left_out, []).append(position)
        keys: list[Sequence[Any]] = [()] * len(values)
        for left_out, positions in groups.items():
            if not left_out:
                rows = after if len(positions) == len(after) else [after[i] for i in positions]
                found = self._insert_group(rows, self.mapped)
            else:
                names = [n for n in self.mapped if n not in left_out]
                picked = [tuple(values[i][n] for n in names) for i in positions]
                found = self._insert_group(picked, names)
            if found is None:  # keys given in the file
                key_of = self._key_of
                found = [key_of(values[i]) for i in positions]
            for position, key in zip(positions, found, strict=True):
                keys[position] = key
        return keys

    def _insert_group(
        self, rows: list[tuple[Any, ...]], names: list[str]
    ) -> list[Sequence[Any]] | None:
        """Insert rows (tuples in ``names`` order); the generated keys, None when the rows
        hold their keys."""
        if not self.generated_key:
            bulk = self._bulk.get(tuple(names))
            if bulk is None:
                db_names = [self.table.columns[n].db_name for n in names]
                bulk = self._bulk[tuple(names)] = BulkInsert(self.t, db_names, self.conn.dialect)
            bulk.write(self.conn, rows)
            return None
        pk = [self.t.c[self.table.columns[n].db_name] for n in self.primary_key]
        db_names = [self.table.columns[n].db_name for n in names]
        params = [dict(zip(db_names, row, strict=True)) for row in rows]
        result = self.conn.execute(
            self.t.insert().returning(*pk, sort_by_parameter_order=True), params
        )
        return [list(record) for record in result]

    def _update(self, rows: list[ImportRow]) -> None:
        """Update rows by primary key with executemany (every mapped non-key column)."""
        if not self.update_names:
            return
        if self._update_stmt is None:
            where = sa.and_(
                *(
                    self.t.c[self.table.columns[n].db_name] == sa.bindparam(f"k_{i}")
                    for i, n in enumerate(self.primary_key)
                )
            )
            values: dict[str, Any] = {
                self.table.columns[n].db_name: sa.bindparam(f"v_{i}")
                for i, n in enumerate(self.update_names)
            }
            self._update_stmt = self.t.update().where(where).values(values)
        params = []
        for row in rows:
            assert row.before is not None
            item = {f"k_{i}": row.before[n] for i, n in enumerate(self.primary_key)}
            item.update({f"v_{i}": row.values.get(n) for i, n in enumerate(self.update_names)})
            params.append(item)
        self.conn.execute(self._update_stmt, params)

    def _sample(
        self,
        row: ImportRow,
        action: str,
        key: Sequence[Any],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any],
    ) -> None:
        if len(self.report.samples) >= MAX_SAMPLES:
            return
        changes = {
            self.labels[n]: [jsonable((before or {}).get(n)), jsonable(after.get(n))]
            for n in self.mapped
            if before is None or not same_value(before.get(n), after.get(n))
        }
        self.report.samples.append(RowChange(row.source.number, action, key_text(key), changes))


def _tuple_getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function giving the values of ``names`` of a row dict as a tuple."""
    if len(names) == 1:
        name = names[0]
        return lambda values: (values[name],)
    if not names:
        return lambda values: ()
    return itemgetter(*names)


def _db_message(exc: sa_exc.DBAPIError, table: TableInfo) -> str:
    message = describe_db_error(exc, table)
    prefix = f"{table.label}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
