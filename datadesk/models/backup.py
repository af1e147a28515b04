"""Backups: the embedded SQLite database copied online, or datadesk's own tables exported.

Both write to a temporary file beside the destination and rename it only when complete, so a
full disk or a crash never leaves something that looks like a backup.

SQLite: SQLite's online backup API copies the database in one step inside one read
transaction; with write-ahead logging the app keeps writing meanwhile and the copy is the
database as it was at one instant.

Server databases (PostgreSQL, Oracle) are backed up with their own tools; ``export_app_tables``
writes datadesk's own tables to a zip file (format in docs/operations.md): ``manifest.json``
and one JSON-lines file per table, read in one snapshot transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import errno
import json
import os
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import datadesk
from datadesk.errors import BackupFailed, InvalidInput
from datadesk.models.app_tables import AppTables
from datadesk.models.engine import describe_url, parse_database_url
from datadesk.models.schema_version import stored_revision

EXPORT_FORMAT = 1
TABLE_FILES = (
    "users",
    "user_roles",
    "user_attributes",
    "login_attempts",
    "audit",
    "import_jobs",
    "import_files",
    "import_profiles",
)
SNAPSHOT_ISOLATION = {"postgresql": "REPEATABLE READ", "oracle": "SERIALIZABLE"}
FETCH_ROWS = 1000


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote."""

    path: Path
    size: int
    seconds: float
    rows: dict[str, int] | None = None


def backup_path(dest: Path, suffix: str, now: dt.datetime | None = None) -> Path:
    """DEST itself, or a time-stamped file inside DEST when it is a folder; never overwrites."""
    dest = Path(dest)
    if dest.is_dir():
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        dest = dest / f"datadesk-{stamp}{suffix}"
    if dest.exists():
        raise InvalidInput(f"{dest} exists already; choose another name or remove it first")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent}: no such folder")
    return dest


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database (or an in-memory one)."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in {"", ":memory:"} or database.startswith("file:"):
        return None
    return Path(database)


def backup_sqlite(source: Path, dest: Path) -> BackupResult:
    """A consistent copy of a live SQLite database at ``dest`` (a new file)."""
    started = time.perf_counter()
    if not source.is_file():
        raise BackupFailed(f"{source}: no such database file")
    with _atomic_file(dest) as temp:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(temp)
            try:
                src.backup(dst)
                check = dst.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise BackupFailed(f"the copy of {source} failed its check: {check}")
            finally:
                dst.close()
        finally:
            src.close()
    return BackupResult(dest, dest.stat().st_size, time.perf_counter() - started)


def export_app_tables(engine: sa.Engine, tables: AppTables, dest: Path) -> BackupResult:
    """datadesk's own tables, read in one snapshot, as a zip of JSON lines at ``dest``."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    isolation = SNAPSHOT_ISOLATION.get(engine.dialect.name)
    with _atomic_file(dest) as temp, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        with engine.connect() as conn:
            if isolation:
                conn = conn.execution_options(isolation_level=isolation)
            with conn.begin():
                for name in TABLE_FILES:
                    table: sa.Table = getattr(tables, name)
                    counts[name] = _write_table(conn, table, archive, f"{name}.jsonl")
                revision = _revision(conn, tables)
        manifest = {
            "format": EXPORT_FORMAT,
            "datadesk": datadesk.__version__,
            "revision": revision,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": describe_url(engine.url),
            "prefix": tables.prefix,
            "tables": {
                name: {"file": f"{name}.jsonl", "table": getattr(tables, name).name, "rows": n}
                for name, n in counts.items()
            },
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return BackupResult(dest, dest.stat().st_size, time.perf_counter() - started, counts)


def _write_table(conn: sa.Connection, table: sa.Table, archive: zipfile.ZipFile, name: str) -> int:
    """Stream one table into the archive, one JSON object per row; the row count."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(yield_per=FETCH_ROWS).execute(sa.select(table).order_by(*order))
    count = 0
    with archive.open(name, "w", force_zip64=True) as out:
        for row in result.mappings():
            line = json.dumps({k: _jsonable(v) for k, v in row.items()}, ensure_ascii=False)
            out.write(line.encode("utf-8") + b"\n")
            count += 1
    return count


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _revision(conn: sa.Connection, tables: AppTables) -> str | None:
    """The migration revision of the app tables, read in the same snapshot."""
    return stored_revision(conn, tables.version_table, tables.schema)


@contextmanager
def _atomic_file(dest: Path) -> Iterator[str]:
    """A temporary file beside ``dest``, renamed to it when the block succeeds, else removed."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    except OSError as exc:
        raise BackupFailed(_disk_message(dest, exc)) from exc
    os.close(fd)
    try:
        yield temp
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, dest)
        _sync_folder(dest.parent)
    except BackupFailed:
        _remove(temp)
        raise
    except (OSError, sqlite3.Error) as exc:
        _remove(temp)
        raise BackupFailed(_disk_message(dest, exc)) from exc
    except BaseException:
        _remove(temp)
        raise


def _disk_message(dest: Path, exc: BaseException) -> str:
    text = str(exc).lower()
    if getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in text or "no space" in text:
        return (
            f"no space left on the disk of {dest.parent}: the backup was not written "
            "(no partial file is left); free space or choose another destination"
        )
    return f"cannot write the backup to {dest}: {exc}; no partial file is left"


def _remove(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (not supported everywhere; best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
