"""The import service the web pages and the CLI share: profiles, jobs, previews and commits.

A job is created with its uploaded file; each run (preview or commit) reads the file again from
the job, so nothing depends on the node or process that received the upload.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config, ImportProfile, ImportSettings
from datadesk.errors import (
    AccessDenied,
    DatadeskError,
    FileTooLarge,
    Interrupted,
    InvalidInput,
    NotFound,
    UnreadableFile,
)
from datadesk.importers.engine import ImportRun
from datadesk.importers.jobs import ERRORS, UPLOAD, Job, JobStore, this_runner
from datadesk.importers.readers import detect_format, open_profile_sheet
from datadesk.importers.report import ImportReport
from datadesk.importers.sheet import Heading
from datadesk.models.app_tables import AppTables
from datadesk.models.audit import AuditContext, AuditLog
from datadesk.models.catalog import Catalog
from datadesk.observability import metrics

logger = logging.getLogger("datadesk.imports")

PROGRESS_EVERY_SECONDS = 1.0
WriteListener = Callable[[str], None]


class ImportService:
    """Everything an import needs, built once per app (or CLI command)."""

    def __init__(
        self,
        engine: sa.Engine,
        catalog: Catalog,
        policy: RolePolicy,
        config: Config,
        tables: AppTables,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.policy = policy
        self.config = config
        self.settings: ImportSettings = config.import_settings
        self.jobs = JobStore(engine, tables)
        self.audit_log = AuditLog(tables)
        self.listeners: list[WriteListener] = []
        self._progress: dict[int, int] = {}
        self._running: set[int] = set()
        self._lock = threading.Lock()
        # Set on SIGTERM: a running import stops at its next batch and rolls back.
        self.stop = threading.Event()

    @property
    def max_upload_bytes(self) -> int:
        """The largest upload accepted."""
        return int(self.settings.max_upload_mb * 1024 * 1024)

    # --- profiles ------------------------------------------------------------------------------

    def profiles(self) -> dict[str, ImportProfile]:
        """Configured profiles, then those saved from the page (config names win)."""
        saved = self.jobs.saved_profiles()
        return {**saved, **self.config.imports}

    def profile(self, name: str) -> ImportProfile:
        """One profile by name; NotFound lists the known names."""
        profiles = self.profiles()
        if name in profiles:
            return profiles[name]
        known = ", ".join(sorted(profiles)) or "none"
        raise NotFound(f"no import profile named '{name[:60]}' (known: {known})")

    def profiles_for(self, actor: Actor, table_name: str) -> dict[str, ImportProfile]:
        """The profiles of one table, when the actor may import into it."""
        if not self.policy.access(actor, table_name).can("import"):
            return {}
        return {
            name: profile
            for name, profile in self.profiles().items()
            if profile.table.lower() == table_name.lower()
        }

    def save_profile(self, name: str, profile: ImportProfile, actor: Actor) -> None:
        """Keep a mapping made on the page; names of configured profiles are taken."""
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("a profile name needs 1 to 100 characters")
        if name in self.config.imports:
            raise InvalidInput(f"'{name}' is the name of a configured profile; choose another")
        self.policy.access(actor, profile.table).require("import")
        self.jobs.save_profile(name, profile, actor.username)

    # --- jobs ----------------------------------------------------------------------------------

    def start(
        self,
        *,
        actor: Actor,
        profile: ImportProfile,
        profile_name: str | None,
        file_name: str,
        content: bytes,
        channel: str,
    ) -> int:
        """Check and store an upload as a new job; its id."""
        self.policy.access(actor, profile.table).require("import")
        if len(content) > self.max_upload_bytes:
            raise FileTooLarge(
                f"{file_name} is {len(content) / 1048576:.1f} MB; "
                f"the limit is {self.settings.max_upload_mb:g} MB"
            )
        if not content:
            raise InvalidInput(f"{file_name or 'the file'} is empty")
        self.jobs.purge_files(self.settings.keep_days)
        with _materialized(content, file_name) as path:
            file_format = detect_format(path, file_name)
        table = self.catalog.get(profile.table)
        if table is None:
            raise NotFound(f"no such table: {profile.table}")
        return self.jobs.create(
            username=actor.username,
            channel=channel,
            table_name=table.name,
            profile_name=profile_name,
            profile=profile,
            file_name=Path(file_name).name or "upload",
            file_sha256=hashlib.sha256(content).hexdigest(),
            file_format=file_format,
            file_size=len(content),
            content=content,
        )

    def start_file(
        self,
        *,
        actor: Actor,
        profile: ImportProfile,
        profile_name: str | None,
        path: Path,
        channel: str = "cli",
    ) -> int:
        """Record a job for a file read where it lies (the CLI's big migrations): the file is
        hashed as a stream and not stored, so each run of the job is given its path."""
        self.policy.access(actor, profile.table).require("import")
        if path.stat().st_size == 0:
            raise InvalidInput(f"{path.name} is empty")
        file_format = detect_format(path, path.name)
        table = self.catalog.get(profile.table)
        if table is None:
            raise NotFound(f"no such table: {profile.table}")
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return self.jobs.create(
            username=actor.username,
            channel=channel,
            table_name=table.name,
            profile_name=profile_name,
            profile=profile,
            file_name=path.name,
            file_sha256=digest.hexdigest(),
            file_format=file_format,
            file_size=path.stat().st_size,
            content=None,
        )

    def job_for(self, job_id: int, actor: Actor) -> Job:
        """A job its owner (or an admin) may see; others get NotFound."""
        job = self.jobs.get(job_id)
        if job.username != actor.username and not actor.is_admin:
            raise NotFound(f"no import job {job_id}")
        return job

    def progress(self, job_id: int) -> int | None:
        """Rows read so far by a run in this process, else as last stored."""
        if job_id in self._progress:
            return self._progress[job_id]
        return self.jobs.get(job_id).progress_rows

    def run(
        self,
        job_id: int,
        actor: Actor,
        *,
        commit: bool,
        address: str | None = None,
        progress: Callable[[int], None] | None = None,
        path: Path | None = None,
        errors_out: Path | None = None,
    ) -> tuple[Job, ImportReport | None]:
        """Preview (``commit`` False) or commit a job; the updated job and the run's report.

        ``path``: the job's file where it lies (jobs made by ``start_file``); otherwise the
        stored upload is read. ``errors_out``: also write the error workbook there.
        """
        job = self.job_for(job_id, actor)
        if job.status == "committed":
            raise InvalidInput(f"import job {job_id} was committed already")
        if job.status == "running" and not job.is_interrupted and job.runner != this_runner():
            raise InvalidInput(f"import job {job_id} is running; wait for it to finish")
        with self._lock:
            if job_id in self._running:
                raise InvalidInput(f"import job {job_id} is running; wait for it to finish")
            self._running.add(job_id)
        started = time.perf_counter()
        outcome = "failed"
        try:
            done, report = self._run(
                job,
                actor,
                commit=commit,
                address=address,
                progress=progress,
                path=path,
                errors_out=errors_out,
            )
            outcome = done.status
            return done, report
        except Interrupted:
            outcome = "interrupted"
            raise
        finally:
            seconds = time.perf_counter() - started
            rows = self._progress.get(job_id, 0)
            metrics.record_import("commit" if commit else "preview", outcome, seconds, rows)
            with self._lock:
                self._running.discard(job_id)
                self._progress.pop(job_id, None)

    def _run(
        self,
        job: Job,
        actor: Actor,
        *,
        commit: bool,
        address: str | None,
        progress: Callable[[int], None] | None,
        path: Path | None,
        errors_out: Path | None,
    ) -> tuple[Job, ImportReport | None]:
        content = self.jobs.file(job.id, UPLOAD) if path is None else None
        if path is None and content is None:
            raise NotFound(f"the file of import job {job.id} is no longer kept; upload it again")
        profile = job.profile
        if not profile.key:
            earlier = self.jobs.committed_before(job.file_sha256, job.table_name)
            if earlier is not None:
                message = (
                    f"this file was imported already (job {earlier.id}); its profile has no key "
                    "to match rows, so importing it again would add every row a second time"
                )
                self.jobs.finish(job.id, status="failed", values={"message": message})
                return self.jobs.get(job.id), None
        self.jobs.mark_running(job.id)
        report: ImportReport | None = None
        try:
            audit = AuditContext(actor.username, "import", address=address, job_id=job.id)
            run = ImportRun(
                self.engine,
                self.catalog,
                self.policy,
                self.audit_log,
                profile=profile,
                actor=actor,
                audit=audit,
            )
            with _materialized(content, job.file_name, path) as source:
                sheet = open_profile_sheet(source, job.file_name, profile, self.settings)
                report = run.run(sheet, commit=commit, progress=self._reporter(job.id, progress))
                errors = self._error_workbook(job, source, report, errors_out)
            self.jobs.put_file(job.id, ERRORS, errors)
            status = "committed" if report.committed else ("previewed" if not commit else "failed")
            if commit and not report.committed and not report.message:
                report.message = (
                    f"nothing was imported: {report.error_rows} row(s) have problems; fix them "
                    "in the error workbook and upload it again"
                )
            self.jobs.finish(job.id, status=status, values=_counts(report))
        except Interrupted as exc:
            self.jobs.finish(job.id, status="interrupted", values={"message": exc.message})
            logger.warning("import job %s interrupted: %s", job.id, exc.message)
            raise
        except (DatadeskError, OSError) as exc:
            message = exc.message if isinstance(exc, DatadeskError) else f"cannot read file: {exc}"
            self.jobs.finish(
                job.id, status="failed", values={"message": message[:1000], "report": None}
            )
            if isinstance(exc, AccessDenied):
                raise
            logger.info("import job %s failed: %s", job.id, message)
        if report is not None and report.committed:
            for listener in self.listeners:
                listener(job.table_name)
            logger.info(
                "import job %s committed by %s: %s inserted, %s updated into %s",
                job.id,
                actor.username,
                report.inserted,
                report.updated,
                job.table_name,
            )
        return self.jobs.get(job.id), report

    def _reporter(self, job_id: int, outer: Callable[[int], None] | None) -> Callable[[int], None]:
        last = [0.0]
        store_progress = self.engine.dialect.name != "sqlite"  # SQLite: the import holds the lock

        def report(rows: int) -> None:
            if self.stop.is_set():
                raise Interrupted(
                    f"import job {job_id} was stopped after {rows} rows, before its commit: "
                    "nothing was written"
                )
            self._progress[job_id] = rows
            if outer is not None:
                outer(rows)
            now = time.monotonic()
            if store_progress and now - last[0] >= PROGRESS_EVERY_SECONDS:
                last[0] = now
                self.jobs.set_progress(job_id, rows)

        return report

    def _error_workbook(
        self, job: Job, source: Path, report: ImportReport, out: Path | None
    ) -> bytes | None:
        """The error workbook, written to ``out`` when given; its bytes to keep with the job,
        unless it is larger than an upload may be (a note then says so)."""
        if not report.problems:
            return None
        # openpyxl is loaded only when a run has problems to mark (it costs start-up time).
        from datadesk.importers.error_workbook import write_error_workbook

        suffix = ".xlsm" if job.file_format == "xlsm" else ".xlsx"
        with tempfile.TemporaryDirectory(prefix="datadesk-errors-") as folder:
            written = out or Path(folder) / f"errors{suffix}"
            write_error_workbook(
                source,
                job.file_format,  # type: ignore[arg-type]
                report.sheet_name,
                report.header_row,
                report.problems,
                written,
                **_csv_options(job),
            )
            size = written.stat().st_size
            if size > self.max_upload_bytes:
                report.notices.append(
                    f"the workbook with the problems marked ({size / 1048576:.1f} MB) is larger "
                    "than an upload may be and is not kept with the job"
                    + (f"; it was written to {out}" if out else "")
                )
                return None
            return written.read_bytes()

    def headings(self, job: Job) -> list[Heading]:
        """The headings of a job's sheet, read again from its stored file (for the mapping
        page); UnreadableFile when there are none."""
        content = self.jobs.file(job.id, UPLOAD)
        if content is None:
            raise NotFound(f"the file of import job {job.id} is no longer kept; upload it again")
        with _materialized(content, job.file_name) as path:
            sheet = open_profile_sheet(path, job.file_name, job.profile, self.settings)
            headings = list(sheet.headings)
            close = getattr(sheet.rows, "close", None)
            if close is not None:
                close()
        if not headings:
            raise UnreadableFile(f"no column headings found in {job.file_name}")
        return headings

    def error_workbook_name(self, job: Job) -> str:
        """The download name of a job's error workbook: the upload's name + '-errors'."""
        stem = Path(job.file_name).stem or "import"
        return f"{stem}-errors.{'xlsm' if job.file_format == 'xlsm' else 'xlsx'}"


def _csv_options(job: Job) -> dict[str, Any]:
    if job.file_format != "csv":
        return {}
    return {"encoding": job.profile.encoding, "delimiter": job.profile.delimiter}


def _counts(report: ImportReport) -> dict[str, Any]:
    return {
        "rows_read": report.rows_read,
        "progress_rows": report.rows_read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "error_rows": report.error_rows,
        "problem_count": report.problem_count,
        "duration_ms": report.duration_ms,
        "message": report.message[:1000] or None,
        "report": report.as_json(),
    }


class _materialized:
    """The file of a run: ``path`` when given, else the bytes of an upload as a temporary file
    with the upload's extension."""

    def __init__(self, content: bytes | None, file_name: str, path: Path | None = None) -> None:
        self.content = content
        self.path = path
        self.suffix = Path(file_name).suffix.lower()[:10]
        self.folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if self.path is not None:
            return self.path
        self.folder = tempfile.TemporaryDirectory(prefix="datadesk-import-")
        path = Path(self.folder.name) / f"upload{self.suffix}"
        path.write_bytes(self.content or b"")
        return path

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()
