"""The import benchmark: ``datadesk import`` against the floor of reading and inserting the rows.

``python -m bench.imports`` builds a small demo database (1,000 immunizations) with datadesk's
own tables, writes a workbook of 100,000 new ``IMMUNIZATIONS`` rows (8 columns, real Excel
dates), and measures in the same run, each in its own child process (wall time and that
process's peak RSS):

- **floor**: python-calamine reads the sheet, each row becomes a dict, and SQLAlchemy Core
  inserts them (``conn.execute(table.insert(), rows)``, executemany, batches of 1,000) in one
  transaction, on the engine datadesk uses (same connection settings);
- **floor + audit** (a reference): the floor also writing one audit entry per row (the JSON of
  the row's values) in the same transaction, the database work datadesk's audit log adds;
- **calamine read**: the floor's reading alone (no database), to tell the reader's memory from
  the rest;
- **openpyxl read-only**: ``load_workbook(read_only=True)`` iterating the values, a reference
  for what parsing costs with the other common reader;
- **datadesk read**: datadesk's own reader (``datadesk.importers.readers.open_sheet``) alone;
- **datadesk import**: ``datadesk import PROFILE FILE`` (the CLI, commit) with a saved profile
  (mode insert, key ``imm_id``, columns by heading); afterwards the benchmark checks that every
  row was inserted and that every row has its audit entry with source ``import``.

The database is restored between measurements (SQLite: the file copied back; PostgreSQL: the
database created again from the prepared one, kept as a template), so each starts from the
same state. The ratios datadesk / floor (target at most 2x) and openpyxl / floor are printed.

``--memory-rows 1000000`` measures the same at a second size and prints the peak memory of
both sizes side by side: whether memory stays flat as the rows grow, and which part grows.

The benchmark process itself imports only the standard library: a child process's peak RSS
as the kernel reports it (``os.wait4``) can be no lower than its parent's peak at the moment
it was started, so the parent stays small and the database and workbook are built in children
too. Exit status 0 when it measured (target met or not), 1 when the benchmark broke (a child
failed, or the rows or audit entries are not all there).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

TARGET_VS_FLOOR = 2.0
DEFAULT_ROWS = 100_000
DEFAULT_IMMUNIZATIONS = 1_000
FLOOR_BATCH = 1_000
PROFILE_NAME = "bench_immunizations"
ACTOR = "bench"
HEADINGS = (
    "imm_id",
    "staff_id",
    "student_id",
    "vaccine_code",
    "dose_no",
    "admin_date",
    "lot_number",
    "verified",
)
WORKBOOK_VERSION = 1  # bump when the generated rows change, to skip stale cached workbooks
RESULT_MARK = "BENCH-RESULT "
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
    return ProcessRun(seconds, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)


def run_child(
    kind: str, spec: dict[str, Any], *, timeout: float
) -> tuple[dict[str, Any], ProcessRun]:
    """Run one of this module's child functions in a fresh interpreter; its result and run."""
    argv = [sys.executable, "-m", "bench.imports", "--child", kind, json.dumps(spec)]
    run = run_process(argv, env=_child_env(), timeout=timeout)
    if run.returncode != 0:
        raise BenchError(f"child '{kind}' failed (exit {run.returncode}):\n{_tail(run.stderr)}")
    for line in reversed(run.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :]), run
    raise BenchError(f"child '{kind}' printed no result:\n{_tail(run.stdout + run.stderr)}")


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _timeout(rows: int) -> float:
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
            "restore", {"url": self.url, "base": self.base_imm_id}, timeout=_timeout(1_000_000)
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
        timeout=_timeout(immunizations),
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


@dataclasses.dataclass
class Sample:
    """One measurement: one child process over ``rows`` rows."""

    name: str
    rows: int
    seconds: float  # wall time of the child process, start-up included
    peak_rss_mb: float  # ru_maxrss of the child process
    work_seconds: float | None = None  # the work alone, as timed inside the process
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def measure_floor(db: BenchDatabase, path: Path, rows: int, *, audit: bool = False) -> Sample:
    """calamine + Core executemany in one transaction; checks the rows, then restores.

    With ``audit`` (a reference, not the target's baseline), one audit entry per row is
    written as well, in the same transaction: the database work datadesk's audit adds."""
    name = "floor + audit" if audit else "floor"
    result, run = run_child(
        "floor",
        {"url": db.url, "path": str(path), "base": db.base_imm_id, "audit": audit},
        timeout=_timeout(rows),
    )
    try:
        if result["inserted"] != rows or (audit and result["audit_rows"] != rows):
            raise BenchError(
                f"{name}: {result['inserted']:,} rows and {result['audit_rows']} audit entries "
                f"written, expected {rows:,}"
            )
    finally:
        db.restore()
    return Sample(name, rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result)


def measure_calamine(path: Path, rows: int) -> Sample:
    """The floor's reading alone: python-calamine, rows to dicts, no database."""
    result, run = run_child("calamine", {"path": str(path)}, timeout=_timeout(rows))
    _check_read("calamine read", result["rows"], rows)
    return Sample(
        "calamine read", rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result
    )


def measure_openpyxl(path: Path, rows: int) -> Sample:
    """openpyxl read-only: load_workbook(read_only=True), iterate the values."""
    result, run = run_child("openpyxl", {"path": str(path)}, timeout=_timeout(rows) * 3)
    _check_read("openpyxl read", result["rows"], rows)
    return Sample(
        "openpyxl read", rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result
    )


def measure_datadesk_reader(path: Path, rows: int) -> Sample:
    """datadesk's reader alone (open_sheet as the import service calls it), rows iterated."""
    result, run = run_child("datadesk-read", {"path": str(path)}, timeout=_timeout(rows))
    _check_read("datadesk read", result["rows"], rows)
    return Sample(
        "datadesk read", rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result
    )


def measure_datadesk(db: BenchDatabase, path: Path, rows: int) -> Sample:
    """``datadesk import PROFILE FILE`` as a child process; checks rows and audit, restores."""
    datadesk = Path(sys.executable).with_name("datadesk")
    if not datadesk.is_file():
        raise BenchError(f"{datadesk} not found: install the project (make install)")
    env = _child_env(
        {
            "DATADESK_DATABASE_URL": db.url,
            "DATADESK_CONFIG": db.config_path,
            "DATADESK_VAR_DIR": str(db.var_dir),
        }
    )
    run = run_process(
        [str(datadesk), "import", PROFILE_NAME, str(path)], env=env, timeout=_timeout(rows) * 3
    )
    try:
        if run.returncode != 0:
            raise BenchError(
                f"datadesk import failed (exit {run.returncode}):\n{_tail(run.stdout + run.stderr)}"
            )
        check, _ = run_child("check", {"url": db.url, "base": db.base_imm_id}, timeout=120)
        _check_import("datadesk import", check, rows)
    finally:
        db.restore()
    work = check["job_duration_ms"] / 1000 if check.get("job_duration_ms") is not None else None
    return Sample(
        "datadesk import",
        rows,
        run.seconds,
        run.peak_rss_mb,
        work,
        {**check, "output": run.stdout.strip()},
    )


def profile_datadesk(db: BenchDatabase, path: Path, rows: int, out: Path) -> Sample:
    """The import service run in-process under cProfile (start + commit), stats to ``out``."""
    result, run = run_child(
        "inprocess",
        {
            "url": db.url,
            "var_dir": str(db.var_dir),
            "config_path": db.config_path,
            "path": str(path),
            "profile_out": str(out),
        },
        timeout=_timeout(rows) * 6,
    )
    try:
        check, _ = run_child("check", {"url": db.url, "base": db.base_imm_id}, timeout=120)
        _check_import("datadesk in-process (cProfile)", check, rows)
    finally:
        db.restore()
    return Sample(
        "datadesk cProfile", rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result
    )


def _check_read(name: str, got: int, rows: int) -> None:
    if got != rows:
        raise BenchError(f"{name}: {got:,} data rows read, the workbook has {rows:,}")


def _check_import(name: str, check: dict[str, Any], rows: int) -> None:
    problems = []
    if check["inserted"] != rows:
        problems.append(f"{check['inserted']:,} rows in the table above the base id")
    if check["audit_rows"] != rows:
        problems.append(f"{check['audit_rows']:,} audit entries with source 'import'")
    if check["job_status"] != "committed" or check["job_inserted"] != rows:
        problems.append(f"job {check['job_status']} with {check['job_inserted']} inserted")
    if problems:
        raise BenchError(f"{name}: expected {rows:,} rows: " + "; ".join(problems))


# --- the run ------------------------------------------------------------------------------------


@dataclasses.dataclass
class SizeResults:
    """Every measurement at one number of rows (medians over rounds for floor and datadesk)."""

    rows: int
    file_mb: float
    samples: dict[str, Sample]
    rounds: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def ratio(self, name: str, base: str = "floor") -> float:
        return self.samples[name].seconds / self.samples[base].seconds


def measure_size(db: BenchDatabase, rows: int, rounds: int, cache_dir: Path) -> SizeResults:
    """Write (or reuse) the workbook and take every measurement at one size."""
    path = write_workbook(db, rows, cache_dir)
    samples: dict[str, Sample] = {}
    for measure in (measure_calamine, measure_openpyxl, measure_datadesk_reader):
        sample = measure(path, rows)
        samples[sample.name] = sample
        say(_line(sample))
    runs: dict[str, list[Sample]] = {"floor": [], "floor + audit": [], "datadesk import": []}
    for _ in range(rounds):  # interleaved, so that drift on a shared machine hits all three
        for sample in (
            measure_floor(db, path, rows),
            measure_floor(db, path, rows, audit=True),
            measure_datadesk(db, path, rows),
        ):
            runs[sample.name].append(sample)
            say(_line(sample))
    for name, taken in runs.items():
        samples[name] = sorted(taken, key=lambda s: s.seconds)[len(taken) // 2]
    return SizeResults(
        rows,
        path.stat().st_size / 1e6,
        samples,
        {name: [s.seconds for s in taken] for name, taken in runs.items()},
    )


ORDER = (
    "floor",
    "datadesk import",
    "floor + audit",
    "calamine read",
    "datadesk read",
    "openpyxl read",
)


def report(sizes: list[SizeResults], backend: str) -> list[str]:
    """The table per size, the ratios, and the memory side by side when there are two sizes."""
    lines: list[str] = []
    for size in sizes:
        lines += [
            "",
            f"Import of {size.rows:,} rows x {len(HEADINGS)} columns "
            f"({size.file_mb:.1f} MB xlsx) into IMMUNIZATIONS on {backend}",
            f"{'measurement':<18}{'seconds':>9}{'rows/s':>10}{'peak RSS MB':>13}"
            f"{'work s':>9}{'/ floor':>9}",
        ]
        for name in ORDER:
            s = size.samples[name]
            work = f"{s.work_seconds:9.2f}" if s.work_seconds is not None else f"{'':>9}"
            lines.append(
                f"{name:<18}{s.seconds:>9.2f}{s.rows_per_second:>10,.0f}{s.peak_rss_mb:>13.0f}"
                f"{work}{size.ratio(name):>8.2f}x"
            )
        for name, seconds in size.rounds.items():
            if len(seconds) > 1:
                lines.append(f"  {name} rounds: " + ", ".join(f"{v:.2f}" for v in seconds) + " s")
        dd = size.samples["datadesk import"]
        lines += [
            "",
            f"datadesk / floor   {size.ratio('datadesk import'):6.2f}x   target <= "
            f"{TARGET_VS_FLOOR:g}x   "
            f"{'PASS' if size.ratio('datadesk import') <= TARGET_VS_FLOOR else 'FAIL'}",
            f"openpyxl / floor   {size.ratio('openpyxl read'):6.2f}x   (parsing alone, reference)",
            f"datadesk / (floor + audit) {size.ratio('datadesk import', 'floor + audit'):6.2f}x"
            "   (reference: the floor writing audit entries too)",
            f"checked: {dd.detail['inserted']:,} rows inserted, {dd.detail['audit_rows']:,} audit "
            f"entries with source 'import' (job {dd.detail['job_id']}: {dd.detail['job_status']})",
        ]
    if len(sizes) == 2:
        small, big = sizes
        lines += [
            "",
            f"Peak RSS MB by size ({small.rows:,} -> {big.rows:,} rows)",
            f"{'measurement':<18}{small.rows:>12,}{big.rows:>12,}{'growth':>10}{'MB per 100k':>13}",
        ]
        for name in ORDER:
            a, b = small.samples[name].peak_rss_mb, big.samples[name].peak_rss_mb
            per = (b - a) / max(1, big.rows - small.rows) * 100_000
            lines.append(f"{name:<18}{a:>12.0f}{b:>12.0f}{b / a:>9.2f}x{per:>13.1f}")
    lines += [
        "",
        "seconds: wall time of the child process (interpreter start-up and imports included);",
        "work s: inside the process (datadesk: the import job's duration_ms, reading and writing);",
        f"peak RSS: ru_maxrss of that process only (this process's own: {_own_rss_mb():.0f} MB, "
        "a lower bound of every child's figure)",
    ]
    if backend == "postgresql":
        lines.append("on PostgreSQL the server's own memory and CPU are not in these figures")
    return lines


def _own_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _line(s: Sample) -> str:
    work = f", work {s.work_seconds:.2f} s" if s.work_seconds is not None else ""
    return (
        f"{s.name}: {s.rows:,} rows in {s.seconds:.2f} s ({s.rows_per_second:,.0f} rows/s{work}), "
        f"peak RSS {s.peak_rss_mb:.0f} MB"
    )


def say(text: str) -> None:
    print(f"bench.imports: {text}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.imports", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL to use instead of SQLite "
        "(a fresh database is created on it and dropped afterwards)",
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows to import (100000)")
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=0,
        help="also measure this many rows (e.g. 1000000) and compare peak memory (0: skip)",
    )
    parser.add_argument(
        "--immunizations",
        type=int,
        default=DEFAULT_IMMUNIZATIONS,
        help="immunizations in the demo database before the import (1000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="floor and datadesk runs, interleaved; median (1)"
    )
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also run the import service in-process under cProfile and print the top costs",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=CACHE_DIR, help=f"generated workbooks ({CACHE_DIR})"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(*args.child)
    if args.rows < 1 or args.memory_rows < 0 or args.rounds < 1:
        print("bench.imports: --rows and --rounds must be positive", file=sys.stderr)
        return 2
    work_dir = Path(tempfile.mkdtemp(prefix="datadesk-bench-import-"))
    server = PgServer(args.database_url) if args.database_url else None
    sizes: list[SizeResults] = []
    profile_lines: list[str] = []
    try:
        url = server.create() if server else f"sqlite:///{work_dir / 'bench.sqlite3'}"
        db = prepare_database(url, work_dir, args.immunizations, server)
        for rows in [args.rows] + ([args.memory_rows] if args.memory_rows else []):
            sizes.append(measure_size(db, rows, args.rounds, args.cache_dir))
        if args.cprofile:
            stats = work_dir / "import.pstats"
            sample = profile_datadesk(
                db, write_workbook(db, args.rows, args.cache_dir), args.rows, stats
            )
            say(_line(sample))
            profile_lines = sample.detail["top"]
    except BenchError as exc:
        print(f"bench.imports: broken: {exc}", file=sys.stderr)
        return 1
    finally:
        if server:
            try:
                server.drop()
            except BenchError as exc:
                print(f"bench.imports: dropping the database failed: {exc}", file=sys.stderr)
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    lines = report(sizes, "PostgreSQL" if server else "SQLite")
    print("\n".join(lines), flush=True)
    if profile_lines:
        print("\ncProfile of the in-process import service (start + commit):")
        print("\n".join(profile_lines), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                    "backend": "postgresql" if server else "sqlite",
                    "argv": list(argv if argv is not None else sys.argv[1:]),
                    "sizes": [dataclasses.asdict(size) for size in sizes],
                },
                indent=2,
                default=str,
            )
        )
    return 0


# --- the child side: each runs in a fresh interpreter, imports what it needs ------------------


def child_main(kind: str, spec_json: str) -> int:
    """Run one child function and print its result as one JSON line."""
    spec = json.loads(spec_json)
    result = CHILDREN[kind](spec)
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)
    return 0


def _bench_profile() -> Any:
    from datadesk.config.schema import ImportProfile

    return ImportProfile.model_validate(
        {
            "table": "immunizations",
            "label": "Benchmark: immunizations",
            "mode": "insert",
            "key": ["imm_id"],
            "header_row": 1,
            "columns": {name: {"from": name} for name in HEADINGS},
        }
    )


def _child_prepare(spec: dict[str, Any]) -> dict[str, Any]:
    import sqlalchemy as sa

    from datadesk.app import open_runtime
    from datadesk.config.loader import load_config
    from datadesk.demo.build import build_demo
    from datadesk.models.engine import create_db_engine
    from datadesk.models.migrations import upgrade_database
    from datadesk.settings import DEMO_CONFIG, Settings

    url = spec["url"]
    engine = create_db_engine(url)
    build_demo(engine, immunizations=spec["immunizations"])
    engine.dispose()
    config = load_config(DEMO_CONFIG)
    upgrade_database(url, config.app_tables)
    runtime = open_runtime(
        Settings(database_url=url, config_path=DEMO_CONFIG, var_dir=Path(spec["var_dir"]))
    )  # also writes the reflection cache the CLI will read
    try:
        runtime.imports.jobs.save_profile(PROFILE_NAME, _bench_profile(), ACTOR)
        with runtime.engine.connect() as conn:
            base = conn.execute(sa.text("SELECT max(IMM_ID) FROM IMMUNIZATIONS")).scalar()
            staff = conn.execute(sa.text("SELECT STAFF_ID FROM STAFF ORDER BY STAFF_ID")).scalars()
            staff_ids = [int(v) for v in staff]
            codes = conn.execute(
                sa.text("SELECT VACCINE_CODE FROM VACCINES ORDER BY VACCINE_CODE")
            ).scalars()
            vaccine_codes = [str(v) for v in codes]
    finally:
        runtime.engine.dispose()
    return {
        "config_path": str(DEMO_CONFIG),
        "base_imm_id": int(base or 0),
        "staff_ids": staff_ids,
        "vaccine_codes": vaccine_codes,
    }


def _child_workbook(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the rows with openpyxl's write_only mode (streamed to the file)."""
    import random

    from openpyxl import Workbook

    path = Path(spec["path"])
    rows, base = spec["rows"], spec["base"]
    staff_ids, codes = spec["staff_ids"], spec["vaccine_codes"]
    rng = random.Random(rows)
    first_day = dt.date(2015, 1, 1).toordinal()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Immunizations")
    sheet.append(list(HEADINGS))
    for number in range(rows):
        sheet.append(
            [
                base + 1 + number,
                rng.choice(staff_ids),
                None,  # student_id: blank (the row is a staff member's)
                rng.choice(codes),
                rng.randint(1, 3),
                dt.date.fromordinal(first_day + rng.randrange(3650)),
                f"L{rng.randrange(10_000_000):07d}",
                "Y" if rng.random() < 0.7 else "N",
            ]
        )
    partial = path.with_suffix(".part")
    workbook.save(partial)
    partial.replace(path)
    return {"bytes": path.stat().st_size}


def _calamine_dicts(path: str, names: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the first sheet as dicts by heading (or by ``names`` in sheet order); '' -> None."""
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    headings = [str(h) for h in next(rows)]
    keys = list(names) if names is not None else headings
    for row in rows:
        yield {k: (None if v == "" else v) for k, v in zip(keys, row, strict=True)}


def _child_calamine(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    count = sum(1 for _ in _calamine_dicts(spec["path"]))
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor; with ``audit``, also one audit entry per row in the same transaction."""
    import sqlalchemy as sa

    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(spec["url"])
    audit = _audit_table() if spec.get("audit") else None
    try:
        table = sa.Table("immunizations", sa.MetaData(), autoload_with=engine)
        by_lower = {c.name.lower(): c.name for c in table.columns}
        names = [by_lower[h] for h in HEADINGS]
        started = time.perf_counter()
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in _calamine_dicts(spec["path"], names):
                batch.append(row)
                if len(batch) >= FLOOR_BATCH:
                    _floor_write(conn, table, audit, batch)
                    batch = []
            if batch:
                _floor_write(conn, table, audit, batch)
        work = time.perf_counter() - started
        with engine.connect() as conn:
            inserted = conn.execute(
                sa.select(sa.func.count()).where(table.c[names[0]] > spec["base"])
            ).scalar_one()
            audit_rows = (
                conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()
                if audit is not None
                else None
            )
    finally:
        engine.dispose()
    return {"inserted": inserted, "audit_rows": audit_rows, "work_seconds": work}


def _audit_table() -> Any:
    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    return app_tables(config.app_tables.prefix, config.app_tables.schema_name).audit


def _floor_write(conn: Any, table: Any, audit: Any, batch: list[dict[str, Any]]) -> None:
    """One executemany of the rows; with ``audit``, one of their audit entries too (the JSON
    of every non-blank value, as a hand-written import that keeps history would write)."""
    conn.execute(table.insert(), batch)
    if audit is None:
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    key = next(iter(batch[0]))
    entries = [
        {
            "occurred_at": now,
            "username": ACTOR,
            "source": "import",
            "table_name": "immunizations",
            "row_key": str(int(row[key])),
            "action": "create",
            "changes": json.dumps(
                {k.lower(): [None, v] for k, v in row.items() if v is not None},
                default=str,
                sort_keys=True,
            ),
        }
        for row in batch
    ]
    conn.execute(audit.insert(), entries)


def _child_openpyxl(spec: dict[str, Any]) -> dict[str, Any]:
    from openpyxl import load_workbook

    started = time.perf_counter()
    workbook = load_workbook(spec["path"], read_only=True)
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    next(rows)
    count = sum(1 for _ in rows)
    workbook.close()
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_datadesk_read(spec: dict[str, Any]) -> dict[str, Any]:
    from datadesk.config.schema import ImportSettings
    from datadesk.importers.readers import open_sheet

    profile = _bench_profile()
    settings = ImportSettings()
    path = Path(spec["path"])
    started = time.perf_counter()
    sheet = open_sheet(
        path,
        file_name=path.name,
        sheet=profile.sheet,
        header_row=profile.header_row,
        expected_headings=[h for c in profile.columns.values() for h in c.source],
        skip_blank_rows=profile.skip_blank_rows,
        skip_rows_matching=profile.skip_rows_matching,
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        max_rows=settings.max_rows,
        max_expansion=settings.max_expansion,
    )
    count = sum(1 for _ in sheet.rows)
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_inprocess(spec: dict[str, Any]) -> dict[str, Any]:
    """The import service in this process (what the CLI does), optionally under cProfile."""
    import cProfile
    import io
    import pstats

    from datadesk.app import open_runtime
    from datadesk.auth.actor import Actor
    from datadesk.settings import Settings

    runtime = open_runtime(
        Settings(
            database_url=spec["url"],
            config_path=Path(spec["config_path"]),
            var_dir=Path(spec["var_dir"]),
        )
    )
    actor = Actor(ACTOR, frozenset({"admin"}))
    path = Path(spec["path"])
    service = runtime.imports
    profiler = cProfile.Profile() if spec.get("profile_out") else None
    try:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        job_id = service.start(
            actor=actor,
            profile=service.profile(PROFILE_NAME),
            profile_name=PROFILE_NAME,
            file_name=path.name,
            content=path.read_bytes(),
            channel="cli",
        )
        job, report = service.run(job_id, actor, commit=True)
        if profiler is not None:
            profiler.disable()
        work = time.perf_counter() - started
    finally:
        runtime.engine.dispose()
    top: list[str] = []
    if profiler is not None:
        profiler.dump_stats(spec["profile_out"])
        for key in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(25)
            top += [f"--- by {key} ---", *_pstats_table(text.getvalue())]
    return {
        "work_seconds": work,
        "job_id": job.id,
        "status": job.status,
        "inserted": report.inserted if report else None,
        "top": top,
    }


def _pstats_table(text: str) -> list[str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("ncalls"):
            return [row for row in lines[index:] if row.strip()]
    return lines


def _child_check(spec: dict[str, Any]) -> dict[str, Any]:
    """Rows above the base id, audit entries of the last job, and that job's figures."""
    import sqlalchemy as sa

    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import create_db_engine
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    engine = create_db_engine(spec["url"])
    try:
        with engine.connect() as conn:
            inserted = conn.execute(
                sa.text("SELECT count(*) FROM IMMUNIZATIONS WHERE IMM_ID > :base"),
                {"base": spec["base"]},
            ).scalar_one()
            jobs = tables.import_jobs
            job = conn.execute(
                sa.select(jobs.c.id, jobs.c.status, jobs.c.inserted, jobs.c.duration_ms)
                .order_by(jobs.c.id.desc())
                .limit(1)
            ).first()
            audit = tables.audit
            audit_rows = conn.execute(
                sa.select(sa.func.count()).where(
                    audit.c.source == "import",
                    audit.c.action == "create",
                    audit.c.job_id == (job.id if job else None),
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "inserted": inserted,
        "audit_rows": audit_rows,
        "job_id": job.id if job else None,
        "job_status": job.status if job else None,
        "job_inserted": job.inserted if job else None,
        "job_duration_ms": job.duration_ms if job else None,
    }


def _child_restore(spec: dict[str, Any]) -> dict[str, Any]:
    """Delete what imports added (rows above the base id, import audit entries, jobs)."""
    import sqlalchemy as sa

    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import create_db_engine
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    engine = create_db_engine(spec["url"])
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM IMMUNIZATIONS WHERE IMM_ID > :base"), {"base": spec["base"]}
            )
            conn.execute(sa.delete(tables.audit).where(tables.audit.c.source == "import"))
            conn.execute(sa.delete(tables.import_files))
            conn.execute(sa.delete(tables.import_jobs))
        vacuum = [tables.audit, tables.import_jobs, tables.import_files]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("VACUUM ANALYZE IMMUNIZATIONS")
                for table in vacuum:
                    conn.exec_driver_sql(f"VACUUM ANALYZE {table.fullname}")
    finally:
        engine.dispose()
    return {}


def _child_pg(spec: dict[str, Any]) -> dict[str, Any]:
    """CREATE (optionally from a template), rename or DROP a database on the server."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = make_url(spec["server"])
    if server.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a PostgreSQL server URL")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")

    def disconnect(conn: sa.Connection, name: str) -> None:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )

    result: dict[str, Any] = {}
    try:
        with admin.connect() as conn:
            if "drop" in spec:
                disconnect(conn, spec["drop"])
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{spec["drop"]}"')
            if "rename" in spec:
                old, new = spec["rename"]
                disconnect(conn, old)
                conn.exec_driver_sql(f'ALTER DATABASE "{old}" RENAME TO "{new}"')
            if "create" in spec:
                name = spec["create"]
                template = f' TEMPLATE "{spec["template"]}"' if spec.get("template") else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{template}')
                result["url"] = server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
    return result


CHILDREN = {
    "prepare": _child_prepare,
    "workbook": _child_workbook,
    "calamine": _child_calamine,
    "floor": _child_floor,
    "openpyxl": _child_openpyxl,
    "datadesk-read": _child_datadesk_read,
    "inprocess": _child_inprocess,
    "check": _child_check,
    "restore": _child_restore,
    "pg": _child_pg,
}


if __name__ == "__main__":
    raise SystemExit(main())
