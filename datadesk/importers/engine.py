"""Run an import: read rows, convert and check them, match existing rows, write, audit.

One function, ``run_import``, serves the preview (dry run) and the commit: both take the same
path through the real database, inside one transaction; the preview, and any run that found a
problem, rolls it back, so the database is either changed by every row or by none.

Rows stream through in batches of ``BATCH_ROWS``: each batch looks up its foreign keys and its
existing rows in a few queries, and is written with executemany inside a savepoint; when the
database refuses a batch, its rows are written one by one (each in its own savepoint) to tell
which rows it refuses and why.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy, TableAccess
from datadesk.config.roles_check import column_named
from datadesk.config.schema import ImportColumn, ImportProfile
from datadesk.errors import AccessDenied, InvalidInput, NotFound
from datadesk.importers.lookups import BATCH_ROWS, Lookup
from datadesk.importers.matching import match_headings
from datadesk.importers.report import ImportReport, RowChange
from datadesk.importers.sheet import CellProblem, Heading, SheetData, SourceRow
from datadesk.importers.transforms import ValueProblem, make_converter
from datadesk.models.audit import AuditContext, AuditLog, jsonable
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.records import describe_db_error

MAX_PROBLEMS = 100_000  # problems kept for the error workbook; the rest are only counted
MAX_SAMPLES = 200  # planned changes kept for the preview page

Progress = Callable[[int], None]


@dataclass
class _Target:
    """One mapped target column: where its value comes from and how it is converted."""

    column: ColumnInfo
    spec: ImportColumn
    heading: Heading | None
    convert: Callable[[Any], Any]
    lookup: Lookup | None = None


@dataclass
class _Row:
    """One source row on its way: converted values, problems, and what will happen to it."""

    source: SourceRow
    values: dict[str, Any]
    problems: list[CellProblem]
    key: tuple[Any, ...] | None = None
    action: str = ""  # insert, update, unchanged, or '' while undecided / with problems
    before: dict[str, Any] | None = None


class ImportRun:
    """One run of a profile over one sheet, as one actor; ``run`` does the work."""

    def __init__(
        self,
        engine: sa.Engine,
        catalog: Catalog,
        policy: RolePolicy,
        audit_log: AuditLog,
        *,
        profile: ImportProfile,
        actor: Actor,
        audit: AuditContext,
    ) -> None:
        table = catalog.get(profile.table)
        if table is None:
            raise NotFound(f"the import profile names an unknown table: {profile.table}")
        self.engine = engine
        self.catalog = catalog
        self.table = table
        self.profile = profile
        self.actor = actor
        self.audit = audit
        self.audit_log = audit_log
        self.access: TableAccess = policy.access(actor, table.name)
        self.access.require("import")
        self._check_columns()

    def _check_columns(self) -> None:
        """Every mapped column exists and the actor may write it by import."""
        writable = set(self.access.writable_columns(self.table.columns, "import"))
        for name in self.profile.columns:
            column = column_named(self.table, name)
            if column is None or column.name in self.access.hidden:
                raise InvalidInput(f"{self.table.label} has no column {name}")
            if column.name not in writable:
                raise AccessDenied(f"you may not set {column.label} of {self.table.label}")

    def run(
        self, sheet: SheetData, *, commit: bool, progress: Progress | None = None
    ) -> ImportReport:
        """Import the sheet's rows; committed only when ``commit`` and nothing went wrong."""
        started = time.perf_counter()
        match = match_headings(sheet.headings, self.profile)
        report = ImportReport(
            table=self.table.name,
            sheet_name=sheet.sheet_name,
            header_row=sheet.header_row,
            headings=[h.text for h in sheet.headings],
            mapping={name: h.text for name, h in match.found.items()},
        )
        if match.missing:
            report.message = _missing_message(self.table, self.profile, match.missing, sheet)
            report.notices = list(sheet.notices)
            return report
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                targets = self._targets(conn, match.found, sheet)
                writer = _Writer(self, conn, targets, report)
                batch: list[SourceRow] = []
                for source in sheet.rows:
                    batch.append(source)
                    if len(batch) >= BATCH_ROWS:
                        writer.process(batch)
                        batch = []
                        if progress is not None:
                            progress(report.rows_read)
                if batch:
                    writer.process(batch)
                if progress is not None:
                    progress(report.rows_read)
                report.notices = list(sheet.notices)
                if report.rows_read == 0 and not report.message:
                    report.message = (
                        f"sheet '{sheet.sheet_name}' has no data rows below the headings"
                    )
                if commit and report.ok:
                    transaction.commit()
                    report.committed = True
                else:
                    transaction.rollback()
            except sa_exc.DBAPIError as exc:
                transaction.rollback()
                report.message = "nothing was imported: " + describe_db_error(exc, self.table)
                report.committed = False
            finally:
                if transaction.is_active:
                    transaction.rollback()
        report.duration_ms = int((time.perf_counter() - started) * 1000)
        return report

    def _targets(
        self, conn: sa.Connection, found: Mapping[str, Heading], sheet: SheetData
    ) -> list[_Target]:
        epoch_1904 = {"auto": sheet.epoch_1904, "1904": True, "1900": False}[
            self.profile.date_system
        ]
        targets = []
        for name, spec in self.profile.columns.items():
            column = column_named(self.table, name)
            assert column is not None  # checked in __init__
            lookup = None
            converts_to = column
            if spec.lookup is not None:
                target_table = self.catalog.get(spec.lookup.table)
                if target_table is None:
                    raise InvalidInput(f"lookup of {column.label}: no table {spec.lookup.table}")
                lookup = Lookup.configured(
                    conn, self.catalog, target_table, spec, column, self.actor.attributes
                )
                converts_to = lookup.by
            else:
                lookup = Lookup.reference_check(conn, self.catalog, column)
            convert = make_converter(converts_to, spec, epoch_1904=epoch_1904)
            heading = found.get(name)
            targets.append(_Target(column, spec, heading, convert, lookup))
        return targets


class _Writer:
    """Processes batches of source rows for one run."""

    def __init__(
        self, run: ImportRun, conn: sa.Connection, targets: list[_Target], report: ImportReport
    ) -> None:
        self.run = run
        self.conn = conn
        self.targets = targets
        self.report = report
        self.table = run.table
        self.t = run.table.table
        self.key_names = [column_named(self.table, k).name for k in run.profile.key]  # type: ignore[union-attr]
        self.seen_keys: dict[tuple[Any, ...], int] = {}
        self.needs_db_scope = run.access.needs_database
        self.required = [
            c.name
            for c in self.table.columns.values()
            if not c.nullable and not c.is_generated and not _has_default(self.t.c[c.db_name])
        ]
        self.constant_values: dict[str, Any] = {}
        for target in targets:
            if target.spec.constant is not None:
                try:
                    self.constant_values[target.column.name] = target.convert(target.spec.constant)
                except ValueProblem as problem:
                    raise InvalidInput(
                        f"profile constant for {target.column.label}: {problem.message}"
                    ) from None
        # A column whose optional heading is absent is not written (the database default
        # applies to new rows, existing rows keep their value), unless it has a default.
        self.sources = [
            t
            for t in targets
            if t.spec.constant is None and (t.heading is not None or t.spec.default is not None)
        ]
        self.mapped = [
            t.column.name for t in targets if t in self.sources or t.spec.constant is not None
        ]
        self.update_names = [n for n in self.mapped if n not in self.key_names]
        self.labels = {c.name: c.label for c in self.table.columns.values()}
        self.defaulted = [
            n
            for n in self.mapped
            if self.t.c[self.table.columns[n].db_name].server_default is not None
        ]
        self._update_stmt: Any = None

    # --- per batch -----------------------------------------------------------------------------

    def process(self, batch: list[SourceRow]) -> None:
        """Convert, check, classify and write one batch of rows."""
        rows = [self._convert(source) for source in batch]
        self.report.rows_read += len(rows)
        self._resolve_lookups(rows)
        self._check_keys(rows)
        self._classify(rows)
        self._check_scope(rows)
        good = [r for r in rows if not r.problems]
        self._write(good)
        for row in rows:
            if row.problems:
                self._add_problems(row)
            elif row.action == "unchanged":
                self.report.unchanged += 1

    def _convert(self, source: SourceRow) -> _Row:
        values = dict(self.constant_values)
        problems: list[CellProblem] = []
        for target in self.sources:
            heading = target.heading
            raw = source.value(heading.index) if heading is not None else None
            try:
                values[target.column.name] = target.convert(raw)
            except ValueProblem as problem:
                problems.append(self._cell_problem(source, target, raw, problem.message))
        return _Row(source, values, problems)

    def _cell_problem(
        self, source: SourceRow, target: _Target, raw: Any, message: str
    ) -> CellProblem:
        heading = target.heading
        return CellProblem(
            row=source.number,
            column=heading.letter if heading is not None else None,
            heading=heading.text if heading is not None else target.column.label,
            value=raw,
            message=f"{target.column.label}: {message}",
        )

    def _resolve_lookups(self, rows: list[_Row]) -> None:
        for target in self.targets:
            lookup = target.lookup
            if lookup is None:
                continue
            name = target.column.name
            lookup.resolve(row.values.get(name) for row in rows)
            for row in rows:
                natural = row.values.get(name)
                if natural is None:
                    continue
                try:
                    row.values[name] = lookup.key_of(natural)
                except ValueProblem as problem:
                    raw = row.source.value(target.heading.index) if target.heading else natural
                    row.problems.append(
                        self._cell_problem(row.source, target, raw, problem.message)
                    )
                    row.values[name] = None

    def _check_keys(self, rows: list[_Row]) -> None:
        """Key values present and not repeated within the file."""
        if not self.key_names:
            return
        for row in rows:
            if row.problems:
                continue
            key = tuple(jsonable(row.values.get(n)) for n in self.key_names)
            if any(part is None for part in key):
                row.problems.append(
                    self._row_problem(row, "a key column is blank: " + self._key_labels())
                )
                continue
            first = self.seen_keys.get(key)
            if first is not None:
                row.problems.append(
                    self._row_problem(
                        row, f"same {self._key_labels()} as row {first} ({_key_text(key)})"
                    )
                )
                continue
            self.seen_keys[key] = row.source.number
            row.key = tuple(row.values.get(n) for n in self.key_names)

    def _classify(self, rows: list[_Row]) -> None:
        """insert, update or unchanged, against the rows the database holds now (locked)."""
        keyed = [r for r in rows if r.key is not None and not r.problems]
        existing = self._existing([r.key for r in keyed]) if keyed else {}
        insert_only = self.run.profile.mode == "insert"
        for row in rows:
            if row.problems:
                continue
            before = existing.get(_match_key(row.key)) if row.key is not None else None
            if before is None:
                row.action = "insert"
                missing = [n for n in self.required if row.values.get(n) is None]
                if missing:
                    labels = ", ".join(self.labels[n] for n in missing)
                    row.problems.append(self._row_problem(row, f"a value is required: {labels}"))
                continue
            row.before = before
            changed = {
                n for n in self.update_names if not same_value(before.get(n), row.values.get(n))
            }
            blanked = [n for n in changed if n in self.required and row.values.get(n) is None]
            if not changed:
                row.action = "unchanged"
            elif insert_only:
                row.problems.append(
                    self._row_problem(
                        row,
                        f"{_key_text(row.key)} exists already with other values, and this "
                        "profile only inserts new rows",
                    )
                )
            elif blanked:
                labels = ", ".join(self.labels[n] for n in blanked)
                row.problems.append(self._row_problem(row, f"a value is required: {labels}"))
            else:
                row.action = "update"

    def _check_scope(self, rows: list[_Row]) -> None:
        """Rows outside the actor's row filter (before or after the change) are errors."""
        access = self.run.access
        connection = self.conn if self.needs_db_scope else None
        for row in rows:
            if row.problems or row.action not in ("insert", "update"):
                continue
            if row.action == "update":
                assert row.before is not None
                after = {**row.before, **row.values}
                inside = access.row_matches(row.before, action="import", connection=connection)
                inside = inside and access.row_matches(
                    after, action="import", connection=connection
                )
            else:
                after = {n: row.values.get(n) for n in self.table.columns}
                inside = access.row_matches(after, action="import", connection=connection)
            if not inside:
                row.problems.append(
                    self._row_problem(row, "this row is outside the rows you may change")
                )

    def _existing(
        self, keys: Sequence[tuple[Any, ...] | None]
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The current rows for these keys, by key, locked for this transaction."""
        columns = [self.t.c[c.db_name] for c in self.table.columns.values()]
        key_columns = [self.t.c[self.table.columns[n].db_name] for n in self.key_names]
        if len(key_columns) == 1:
            condition = key_columns[0].in_([k[0] for k in keys if k is not None])
        else:
            condition = sa.tuple_(*key_columns).in_([k for k in keys if k is not None])
        stmt = sa.select(*columns).where(condition)
        if self.conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        names = list(self.table.columns)
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for record in self.conn.execute(stmt):
            values = dict(zip(names, record, strict=True))
            found[_match_key(tuple(values[n] for n in self.key_names))] = values
        return found

    # --- writing -------------------------------------------------------------------------------

    def _write(self, rows: list[_Row]) -> None:
        inserts = [r for r in rows if r.action == "insert"]
        updates = [r for r in rows if r.action == "update"]
        if not inserts and not updates:
            return
        try:
            with self.conn.begin_nested():
                self._write_all(inserts, updates)
        except sa_exc.DBAPIError:
            # Find the refused rows one by one; the others are written.
            for row in inserts + updates:
                try:
                    with self.conn.begin_nested():
                        self._write_all(
                            [row] if row.action == "insert" else [],
                            [row] if row.action == "update" else [],
                        )
                except sa_exc.DBAPIError as exc:
                    row.problems.append(self._row_problem(row, _db_message(exc, self.table)))
            inserts = [r for r in inserts if not r.problems]
            updates = [r for r in updates if not r.problems]
        self.report.inserted += len(inserts)
        self.report.updated += len(updates)

    def _write_all(self, inserts: list[_Row], updates: list[_Row]) -> None:
        audit_rows: list[
            tuple[str, Sequence[Any], Mapping[str, Any] | None, Mapping[str, Any]]
        ] = []
        if inserts:
            keys = self._insert(inserts)
            for row, key in zip(inserts, keys, strict=True):
                after = {n: row.values.get(n) for n in self.mapped}
                audit_rows.append(("create", key, None, after))
                self._sample(row, "insert", key, None, after)
        if updates:
            self._update(updates)
            for row in updates:
                assert row.before is not None
                key = [row.before[n] for n in self.table.primary_key]
                after = {**row.before, **row.values}
                audit_rows.append(("update", key, row.before, after))
                self._sample(row, "update", key, row.before, after)
        self.run.audit_log.record_many(self.conn, self.run.audit, self.table, audit_rows)

    def _insert(self, rows: list[_Row]) -> list[Sequence[Any]]:
        """Insert rows with executemany; the primary key of each, in order.

        A blank value of a column with a database default is left out, so the default applies;
        rows are grouped by the columns they leave out (executemany needs the same columns).
        """
        groups: dict[tuple[str, ...], list[int]] = {}
        for position, row in enumerate(rows):
            left_out = tuple(n for n in self.defaulted if row.values.get(n) is None)
            groups.setdefault(left_out, []).append(position)
        keys: list[Sequence[Any]] = [()] * len(rows)
        for left_out, positions in groups.items():
            names = [n for n in self.mapped if n not in left_out]
            found = self._insert_group([rows[i] for i in positions], names)
            for position, key in zip(positions, found, strict=True):
                keys[position] = key
        return keys

    def _insert_group(self, rows: list[_Row], names: list[str]) -> list[Sequence[Any]]:
        pk = [self.t.c[self.table.columns[n].db_name] for n in self.table.primary_key]
        params = [{self.table.columns[n].db_name: row.values.get(n) for n in names} for row in rows]
        generated = any(
            self.table.columns[n].name not in self.mapped for n in self.table.primary_key
        )
        if not generated:
            self.conn.execute(self.t.insert(), params)
            return [[row.values.get(n) for n in self.table.primary_key] for row in rows]
        result = self.conn.execute(
            self.t.insert().returning(*pk, sort_by_parameter_order=True), params
        )
        return [list(record) for record in result]

    def _update(self, rows: list[_Row]) -> None:
        """Update rows by primary key with executemany (every mapped non-key column)."""
        if self._update_stmt is None:
            where = sa.and_(
                *(
                    self.t.c[self.table.columns[n].db_name] == sa.bindparam(f"k_{i}")
                    for i, n in enumerate(self.table.primary_key)
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
            item = {f"k_{i}": row.before[n] for i, n in enumerate(self.table.primary_key)}
            item.update({f"v_{i}": row.values.get(n) for i, n in enumerate(self.update_names)})
            params.append(item)
        if self.update_names:
            self.conn.execute(self._update_stmt, params)

    # --- reporting -----------------------------------------------------------------------------

    def _sample(
        self,
        row: _Row,
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
        self.report.samples.append(RowChange(row.source.number, action, _key_text(key), changes))

    def _row_problem(self, row: _Row, message: str) -> CellProblem:
        return CellProblem(
            row=row.source.number, column=None, heading=None, value=None, message=message
        )

    def _add_problems(self, row: _Row) -> None:
        self.report.error_rows += 1
        for problem in row.problems:
            self.report.problem_count += 1
            if len(self.report.problems) < MAX_PROBLEMS:
                self.report.problems.append(problem)

    def _key_labels(self) -> str:
        return ", ".join(self.labels[n] for n in self.key_names)


def same_value(stored: Any, new: Any) -> bool:
    """Whether a value read from the file equals the stored one (1.50 == 1.5, 3 == 3.0)."""
    if stored is None or new is None:
        return stored is None and new is None
    if isinstance(stored, (int, float, Decimal)) and isinstance(new, (int, float, Decimal)):
        if isinstance(stored, bool) or isinstance(new, bool):
            return stored is new
        return _decimal(stored) == _decimal(new)
    if type(stored) is dt.datetime and type(new) is dt.date:
        return stored == dt.datetime(new.year, new.month, new.day)
    if type(stored) is dt.date and type(new) is dt.datetime:
        return dt.datetime(stored.year, stored.month, stored.day) == new
    return bool(stored == new)


def _decimal(value: int | float | Decimal) -> Decimal:
    return (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else value)
    )


def _has_default(column: sa.Column[Any]) -> bool:
    return (
        column.server_default is not None
        or column.default is not None
        or bool(column.autoincrement is True)
    )


def _match_key(key: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """A key as compared between the file and the database (types normalized)."""
    return tuple(jsonable(part) for part in key or ())


def _key_text(key: Sequence[Any] | None) -> str:
    return ", ".join("" if part is None else str(jsonable(part)) for part in key or ())


def _db_message(exc: sa_exc.DBAPIError, table: TableInfo) -> str:
    message = describe_db_error(exc, table)
    prefix = f"{table.label}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _missing_message(
    table: TableInfo, profile: ImportProfile, missing: Sequence[str], sheet: SheetData
) -> str:
    parts = []
    for name in missing:
        column = column_named(table, name)
        label = column.label if column is not None else name
        wanted = " or ".join(f"'{h}'" for h in profile.columns[name].source)
        parts.append(f"{label} (heading {wanted})")
    found = ", ".join(f"'{h.text}'" for h in sheet.headings[:30]) or "none"
    return (
        f"required column(s) missing from sheet '{sheet.sheet_name}' row {sheet.header_row}: "
        + "; ".join(parts)
        + f". Headings found: {found}"
    )
