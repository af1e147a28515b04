"""The import benchmark's plumbing: child processes measured one by one (wall time, peak RSS),
the demo database prepared and restored between measurements, the generated workbook."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.import_children import RESULT_MARK

WORKBOOK_VERSION = 1  # bump when the generated rows change, to skip stale cached workbooks
CACHE_DIR = Path(tempfile.gettempdir()) / "datadesk-bench-import"


class BenchError(Exception):
    """The benchmark broke: a child failed or the result is not what was imported."""


# --- the parent side: child processes, measured -----------------------------------------------


@dataclasses.dataclass
class ProcessRun:
    """One finished child process: wall seconds, peak RSS and what it printed."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system time of the process (not waiting for a CPU)


def run_process(
    argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float
) -> ProcessRun:
    """Run a command to its end; wall time and peak RSS (``ru_maxrss``) of that process.

    Killed after ``timeout`` seconds (BenchError)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode == -9 and seconds >= timeout:
        raise BenchError(f"{' '.join(argv[:4])}... took longer than {timeout:.0f} s; killed")
    return ProcessRun(
        seconds,
        usage.ru_maxrss / 1024,
        proc.returncode,
        stdout,
        stderr,
        usage.ru_utime + usage.ru_stime,
    )


def run_child(
    kind: str, spec: dict[str, Any], *, timeout: float, module: str = "bench.import_children"
) -> tuple[dict[str, Any], ProcessRun]:
    """Run one child function of ``module`` in a fresh interpreter; its result and run."""
    argv = [sys.executable, "-m", module, kind, json.dumps(spec)]
    run = run_process(argv, env=child_env(), timeout=timeout)
    if run.returncode != 0:
        raise BenchError(f"child '{kind}' failed (exit {run.returncode}):\n{tail(run.stderr)}")
    for line in reversed(run.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :]), run
    raise BenchError(f"child '{kind}' printed no result:\n{tail(run.stdout + run.stderr)}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def timeout_for(rows: int) -> float:
    """Generous per-child limit: 2 minutes plus 2 ms a row (100k rows: 5.3 min)."""
    return 120 + rows * 0.002


# --- the database under test --------------------------------------------------------------------


@dataclasses.dataclass
class BenchDatabase:
    """A demo database prepared for the benchmark, and how to bring it back to that state."""

    url: str
    var_dir: Path
    config_path: str
    base_imm_id: int  # the largest IMM_ID before any import: new rows get ids above it
    staff_ids: list[int]
    vaccine_codes: list[str]
    snapshot: Path | None = None  # SQLite: a copy of the prepared file
    server: PgServer | None = None  # PostgreSQL created by the benchmark: cloned from a template

    def restore(self) -> None:
        """Back to the prepared state: SQLite copies the file back; a PostgreSQL database of
        the benchmark's own is created again from the prepared one kept as a template; any
        other PostgreSQL database gets what an import added deleted (rows above the base id,
        import audit entries, jobs), then VACUUM ANALYZE."""
        if self.snapshot is not None:
            _copy_sqlite(self.snapshot, sqlite_path(self.url))
            return
        if self.server is not None:
            self.server.clone()
            return
        run_child(
            "restore", {"url": self.url, "base": self.base_imm_id}, timeout=timeout_for(1_000_000)
        )


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a closed SQLite database: the file and its write-ahead log, if one is left."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    wal = Path(f"{source}-wal")
    if wal.is_file():
        shutil.copyfile(wal, f"{target}-wal")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL."""
    if not url.startswith("sqlite") or "///" not in url:
        raise BenchError(f"not a SQLite file URL: {url}")
    return Path(url.split("///", 1)[1].split("?", 1)[0])


def compile_bytecode() -> None:
    """Byte-compile datadesk and the benchmark once, as an installed datadesk is (pip compiles
    the modules it installs, the Docker image included). An editable install run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every datadesk module from source in
    each child, about 0.15 s of every ``datadesk import`` measured (existing bytecode is still
    read with that variable set)."""
    root = Path(__file__).resolve().parent.parent
    argv = [sys.executable, "-m", "compileall", "-q", str(root / "datadesk"), str(root / "bench")]
    run = run_process(argv, timeout=300)
    if run.returncode != 0:
        raise BenchError(f"compiling the modules failed:\n{tail(run.stdout + run.stderr)}")


def prepare_database(
    url: str, work_dir: Path, immunizations: int, server: PgServer | None = None
) -> BenchDatabase:
    """Build the demo schema with few immunizations, migrate datadesk's tables, save the
    benchmark's import profile and warm the reflection cache (all in a child process).

    With ``server`` (the PostgreSQL database the benchmark created), the prepared database
    becomes the template every measurement's database is cloned from."""
    var_dir = work_dir / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    result, run = run_child(
        "prepare",
        {"url": url, "var_dir": str(var_dir), "immunizations": immunizations},
        timeout=timeout_for(immunizations),
    )
    say(f"demo database built with {immunizations:,} immunizations ({run.seconds:.1f} s)")
    db = BenchDatabase(
        url=url,
        var_dir=var_dir,
        config_path=result["config_path"],
        base_imm_id=result["base_imm_id"],
        staff_ids=result["staff_ids"],
        vaccine_codes=result["vaccine_codes"],
    )
    if url.startswith("sqlite"):
        db.snapshot = work_dir / "prepared.sqlite3"
        _copy_sqlite(sqlite_path(url), db.snapshot)
    elif server is not None:
        server.keep_as_template()
        db.server = server
    return db


@dataclasses.dataclass
class PgServer:
    """A fresh PostgreSQL database on a server; ``drop`` drops it and its template."""

    server_url: str
    name: str = ""
    url: str = ""
    template: str = ""

    def create(self) -> str:
        name = f"datadesk_bench_{uuid.uuid4().hex[:10]}"
        result, _ = run_child("pg", {"server": self.server_url, "create": name}, timeout=60)
        self.name, self.url = name, result["url"]
        return self.url

    def keep_as_template(self) -> None:
        """Rename the prepared database to the template, and clone it under its name."""
        self.template = f"{self.name}_tmpl"
        self._run({"rename": [self.name, self.template]})
        self.clone()

    def clone(self) -> None:
        """The database afresh, as a copy of the template."""
        self._run({"drop": self.name})
        self._run({"create": self.name, "template": self.template})

    def drop(self) -> None:
        for name in (self.name, self.template):
            if name:
                self._run({"drop": name})
        self.name = self.template = ""

    def _run(self, spec: dict[str, Any]) -> None:
        run_child("pg", {"server": self.server_url, **spec}, timeout=120)


# --- the workbook -------------------------------------------------------------------------------


def write_workbook(db: BenchDatabase, rows: int, cache_dir: Path = CACHE_DIR) -> Path:
    """The workbook of ``rows`` new immunizations (ids above the database's), cached by its
    contents' inputs: the same database and size reuse the file."""
    inputs = json.dumps(
        [WORKBOOK_VERSION, rows, db.base_imm_id, db.staff_ids, db.vaccine_codes]
    ).encode()
    digest = hashlib.sha256(inputs).hexdigest()[:12]
    path = cache_dir / f"immunizations-{rows}-{digest}.xlsx"
    if path.is_file():
        say(f"workbook of {rows:,} rows: {path} (cached, {path.stat().st_size / 1e6:.1f} MB)")
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    _, run = run_child(
        "workbook",
        {
            "path": str(path),
            "rows": rows,
            "base": db.base_imm_id,
            "staff_ids": db.staff_ids,
            "vaccine_codes": db.vaccine_codes,
        },
        timeout=120 + rows * 0.005,
    )
    say(
        f"workbook of {rows:,} rows written with openpyxl write_only in {run.seconds:.1f} s: "
        f"{path} ({path.stat().st_size / 1e6:.1f} MB)"
    )
    return path


# --- the measurements ---------------------------------------------------------------------------


def say(text: str) -> None:
    print(f"bench.imports: {text}", flush=True)
