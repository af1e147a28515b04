"""Run an import: read rows, convert and check them, match existing rows, write, audit.

One function, ``run_import``, serves the preview (dry run) and the commit: both take the same
path through the real database, inside one transaction; the preview, and any run that found a
problem, rolls it back, so the database is either changed by every row or by none.

Rows stream through in batches of ``BATCH_ROWS``: each batch looks up its foreign keys and its
existing rows in a few queries, and is written with executemany inside a savepoint; when the
database refuses a batch, its rows are written one by one (each in its own savepoint) to tell
which rows it refuses and why. On SQLite the savepoints' journal is kept in memory for the
run (``savepoint_journal_in_memory``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy, TableAccess
from datadesk.config.roles_check import column_named
from datadesk.config.schema import ImportProfile
from datadesk.errors import AccessDenied, InvalidInput, NotFound
from datadesk.importers.lookups import BATCH_ROWS, Lookup
from datadesk.importers.matching import match_headings
from datadesk.importers.report import ImportReport
from datadesk.importers.row_checks import ImportRow, RowChecks, Target
from datadesk.importers.sheet import Heading, SheetData, SourceRow
from datadesk.importers.transforms import ValueProblem, make_converter
from datadesk.importers.writes import RowWriter
from datadesk.models.audit import AuditContext, AuditLog
from datadesk.models.catalog import Catalog, TableInfo
from datadesk.models.engine import savepoint_journal_in_memory
from datadesk.models.records import describe_db_error

MAX_PROBLEMS = 100_000  # problems kept for the error workbook; the rest are only counted

Progress = Callable[[int], None]


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
        with self.engine.connect() as conn, savepoint_journal_in_memory(conn):
            transaction = conn.begin()
            try:
                targets = self._targets(conn, match.found, sheet)
                checks = RowChecks(
                    self.table,
                    targets,
                    key_names=[column_named(self.table, k).name for k in self.profile.key],  # type: ignore[union-attr]
                    insert_only=self.profile.mode == "insert",
                    access=self.access,
                    conn=conn,
                    constants=_constants(targets),
                )
                writer = RowWriter(conn, checks, report, self.audit_log, self.audit)
                batch: list[SourceRow] = []
                for source in sheet.rows:
                    batch.append(source)
                    if len(batch) >= BATCH_ROWS:
                        _process(checks, writer, report, batch)
                        batch = []
                        if progress is not None:
                            progress(report.rows_read)
                if batch:
                    _process(checks, writer, report, batch)
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
    ) -> list[Target]:
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
            targets.append(Target(column, spec, heading, convert, lookup))
        return targets


def _process(
    checks: RowChecks, writer: RowWriter, report: ImportReport, batch: list[SourceRow]
) -> None:
    """Check, classify and write one batch of rows; count and keep its problems."""
    rows = checks.rows(batch)
    report.rows_read += len(rows)
    writer.write(rows)
    for row in rows:
        if row.problems:
            _add_problems(report, row)
        elif row.action == "unchanged":
            report.unchanged += 1


def _add_problems(report: ImportReport, row: ImportRow) -> None:
    report.error_rows += 1
    for problem in row.problems:
        report.problem_count += 1
        if len(report.problems) < MAX_PROBLEMS:
            report.problems.append(problem)


def _constants(targets: list[Target]) -> dict[str, Any]:
    """The converted value of each profile constant, by column name."""
    constants: dict[str, Any] = {}
    for target in targets:
        if target.spec.constant is not None:
            try:
                constants[target.column.name] = target.convert(target.spec.constant)
            except ValueProblem as problem:
                raise InvalidInput(
                    f"profile constant for {target.column.label}: {problem.message}"
                ) from None
    return constants


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
