"""Import jobs as stored in datadesk's own tables: one row per import, its files beside it.

Files (the upload and its error workbook) live in the database, not on a node's disk, so that
a preview made on one app node can be committed on another.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datadesk.config.schema import ImportProfile
from datadesk.errors import InvalidInput, NotFound
from datadesk.models.app_tables import AppTables, from_db_time, to_db_time

UPLOAD = "upload"
ERRORS = "errors"


@dataclass(frozen=True)
class Job:
    """One import job as the pages and the CLI show it."""

    id: int
    username: str
    channel: str
    table_name: str
    profile_name: str | None
    profile: ImportProfile
    file_name: str
    file_sha256: str
    file_size: int
    file_format: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_ms: int | None
    rows_read: int | None
    progress_rows: int | None
    inserted: int | None
    updated: int | None
    unchanged: int | None
    error_rows: int | None
    problem_count: int | None
    message: str | None
    report: dict[str, Any]
    runner: str | None = None

    @property
    def can_commit(self) -> bool:
        """Previewed without problems and not committed yet."""
        return self.status == "previewed" and not self.problem_count and not self.message

    @property
    def is_interrupted(self) -> bool:
        """Left 'running' by a process that is gone (killed, crashed): its transaction never
        committed, so nothing of it was written. Known for processes of this host only."""
        return self.status == "running" and not runner_is_alive(self.runner)

    @property
    def shown_status(self) -> str:
        """The status as pages and the CLI show it ('interrupted' for a dead run)."""
        return "interrupted" if self.is_interrupted else self.status


def this_runner() -> str:
    """This process as an import job's runner: host, process id and start time."""
    pid = os.getpid()
    return f"{socket.gethostname()[:120]}:{pid}:{_start_time(pid)}"


def runner_is_alive(runner: str | None) -> bool:
    """Whether the process named by ``runner`` still runs; True when it cannot be known (another
    host, or no runner recorded)."""
    if not runner:
        return True
    parts = runner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:120]:
        return True
    try:
        pid = int(parts[1])
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a process of another user runs under that id
    return _start_time(pid) == parts[2]  # a new process that got the same id is not the runner


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), '' elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _now() -> dt.datetime:
    return to_db_time(dt.datetime.now(dt.UTC))


class JobStore:
    """Creates, updates and reads import jobs, their files and saved profiles."""

    def __init__(self, engine: sa.Engine, tables: AppTables) -> None:
        self.engine = engine
        self.jobs = tables.import_jobs
        self.files = tables.import_files
        self.profiles = tables.import_profiles

    def create(
        self,
        *,
        username: str,
        channel: str,
        table_name: str,
        profile_name: str | None,
        profile: ImportProfile,
        file_name: str,
        file_sha256: str,
        file_format: str,
        file_size: int,
        content: bytes | None,
    ) -> int:
        """Record a new job, with its uploaded file unless ``content`` is None (the CLI reads
        the file where it is); its id."""
        with self.engine.begin() as conn:
            job_id = conn.execute(
                sa.insert(self.jobs)
                .values(
                    username=username,
                    channel=channel,
                    table_name=table_name,
                    profile_name=profile_name,
                    profile=_profile_json(profile),
                    file_name=file_name[:255],
                    file_sha256=file_sha256,
                    file_size=file_size,
                    file_format=file_format,
                    status="uploaded",
                    created_at=_now(),
                )
                .returning(self.jobs.c.id)
            ).scalar_one()
            if content is not None:
                conn.execute(
                    sa.insert(self.files).values(job_id=job_id, kind=UPLOAD, content=content)
                )
        return int(job_id)

    def set_profile(self, job_id: int, profile: ImportProfile, profile_name: str | None) -> None:
        """Change the mapping a job uses (made on the mapping page)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.jobs)
                .where(self.jobs.c.id == job_id)
                .values(profile=_profile_json(profile), profile_name=profile_name)
            )

    def mark_running(self, job_id: int) -> None:
        """The job's run has started, in this process."""
        self._set(
            job_id,
            status="running",
            started_at=_now(),
            progress_rows=0,
            message=None,
            runner=this_runner(),
        )

    def set_progress(self, job_id: int, rows: int) -> None:
        """Rows read so far, for progress displays (on any node)."""
        self._set(job_id, progress_rows=rows)

    def finish(self, job_id: int, *, status: str, values: dict[str, Any]) -> None:
        """The run ended: status and counts."""
        self._set(job_id, status=status, finished_at=_now(), **values)

    def _set(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(self.jobs).where(self.jobs.c.id == job_id).values(**values))

    def put_file(self, job_id: int, kind: str, content: bytes | None) -> None:
        """Store (or, with None, remove) one of the job's files."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(self.files).where(
                    self.files.c.job_id == job_id, self.files.c.kind == kind
                )
            )
            if content is not None:
                conn.execute(
                    sa.insert(self.files).values(job_id=job_id, kind=kind, content=content)
                )

    def file(self, job_id: int, kind: str) -> bytes | None:
        """One of the job's files, or None when it is not (or no longer) kept."""
        with self.engine.connect() as conn:
            content = conn.execute(
                sa.select(self.files.c.content).where(
                    self.files.c.job_id == job_id, self.files.c.kind == kind
                )
            ).scalar()
        return bytes(content) if content is not None else None

    def get(self, job_id: int) -> Job:
        """One job; NotFound when there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.jobs).where(self.jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no import job {job_id}")
        return _job(row)

    def recent(self, *, username: str | None, table_name: str | None, limit: int = 50) -> list[Job]:
        """Newest jobs first, of one user (None: everybody's) and one table (None: all)."""
        stmt = sa.select(self.jobs).order_by(self.jobs.c.id.desc()).limit(limit)
        if username is not None:
            stmt = stmt.where(self.jobs.c.username == username)
        if table_name is not None:
            stmt = stmt.where(self.jobs.c.table_name == table_name)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(stmt)]

    def committed_before(self, file_sha256: str, table_name: str) -> Job | None:
        """The last committed job that imported the same file into the same table."""
        stmt = (
            sa.select(self.jobs)
            .where(
                self.jobs.c.file_sha256 == file_sha256,
                self.jobs.c.table_name == table_name,
                self.jobs.c.status == "committed",
            )
            .order_by(self.jobs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return _job(row) if row is not None else None

    def purge_files(self, keep_days: int) -> int:
        """Delete files of jobs older than ``keep_days`` (job records stay); how many."""
        cutoff = _now() - dt.timedelta(days=keep_days)
        old = sa.select(self.jobs.c.id).where(self.jobs.c.created_at < cutoff)
        with self.engine.begin() as conn:
            result = conn.execute(sa.delete(self.files).where(self.files.c.job_id.in_(old)))
        return result.rowcount or 0

    # --- saved profiles ------------------------------------------------------------------------

    def save_profile(self, name: str, profile: ImportProfile, username: str) -> None:
        """Keep a mapping made on the page under a new name."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                sa.select(self.profiles.c.id).where(self.profiles.c.name == name)
            ).first()
            if exists is not None:
                raise InvalidInput(f"an import profile named '{name}' exists already")
            conn.execute(
                sa.insert(self.profiles).values(
                    name=name,
                    table_name=profile.table.lower(),
                    definition=_profile_json(profile),
                    created_by=username,
                    created_at=_now(),
                )
            )

    def saved_profiles(self) -> dict[str, ImportProfile]:
        """Every profile saved from the page, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(self.profiles.c.name, self.profiles.c.definition).order_by(
                    self.profiles.c.name
                )
            ).all()
        return {name: ImportProfile.model_validate_json(text) for name, text in rows}


def _profile_json(profile: ImportProfile) -> str:
    return profile.model_dump_json(by_alias=True, exclude_defaults=True)


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        username=m["username"],
        channel=m["channel"],
        table_name=m["table_name"],
        profile_name=m["profile_name"],
        profile=ImportProfile.model_validate_json(m["profile"]),
        file_name=m["file_name"],
        file_sha256=m["file_sha256"],
        file_size=m["file_size"],
        file_format=m["file_format"],
        status=m["status"],
        created_at=from_db_time(m["created_at"]),  # type: ignore[arg-type]
        started_at=from_db_time(m["started_at"]),
        finished_at=from_db_time(m["finished_at"]),
        duration_ms=m["duration_ms"],
        rows_read=m["rows_read"],
        progress_rows=m["progress_rows"],
        inserted=m["inserted"],
        updated=m["updated"],
        unchanged=m["unchanged"],
        error_rows=m["error_rows"],
        problem_count=m["problem_count"],
        message=m["message"],
        report=json.loads(m["report"]) if m["report"] else {},
        runner=m["runner"],
    )
