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
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.import_children import HEADINGS, PROFILE_NAME
from bench.import_setup import (
    CACHE_DIR,
    BenchDatabase,
    BenchError,
    PgServer,
    child_env,
    compile_bytecode,
    prepare_database,
    run_child,
    run_process,
    say,
    tail,
    timeout_for,
    write_workbook,
)

TARGET_VS_FLOOR = 2.0
DEFAULT_ROWS = 100_000
DEFAULT_IMMUNIZATIONS = 1_000


@dataclasses.dataclass
class Sample:
    """One measurement: one child process over ``rows`` rows."""

    name: str
    rows: int
    seconds: float  # wall time of the child process, start-up included
    peak_rss_mb: float  # ru_maxrss of the child process
    work_seconds: float | None = None  # the work alone, as timed inside the process
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    cpu_seconds: float = 0.0  # user + system time of the child process

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
        timeout=timeout_for(rows),
    )
    try:
        if result["inserted"] != rows or (audit and result["audit_rows"] != rows):
            raise BenchError(
                f"{name}: {result['inserted']:,} rows and {result['audit_rows']} audit entries "
                f"written, expected {rows:,}"
            )
    finally:
        db.restore()
    return Sample(
        name, rows, run.seconds, run.peak_rss_mb, result["work_seconds"], result, run.cpu_seconds
    )


def measure_calamine(path: Path, rows: int) -> Sample:
    """The floor's reading alone: python-calamine, rows to dicts, no database."""
    result, run = run_child("calamine", {"path": str(path)}, timeout=timeout_for(rows))
    _check_read("calamine read", result["rows"], rows)
    return Sample(
        "calamine read",
        rows,
        run.seconds,
        run.peak_rss_mb,
        result["work_seconds"],
        result,
        run.cpu_seconds,
    )


def measure_openpyxl(path: Path, rows: int) -> Sample:
    """openpyxl read-only: load_workbook(read_only=True), iterate the values."""
    result, run = run_child("openpyxl", {"path": str(path)}, timeout=timeout_for(rows) * 3)
    _check_read("openpyxl read", result["rows"], rows)
    return Sample(
        "openpyxl read",
        rows,
        run.seconds,
        run.peak_rss_mb,
        result["work_seconds"],
        result,
        run.cpu_seconds,
    )


def measure_datadesk_reader(path: Path, rows: int) -> Sample:
    """datadesk's reader alone (open_sheet as the import service calls it), rows iterated."""
    result, run = run_child("datadesk-read", {"path": str(path)}, timeout=timeout_for(rows))
    _check_read("datadesk read", result["rows"], rows)
    return Sample(
        "datadesk read",
        rows,
        run.seconds,
        run.peak_rss_mb,
        result["work_seconds"],
        result,
        run.cpu_seconds,
    )


def measure_datadesk(db: BenchDatabase, path: Path, rows: int) -> Sample:
    """``datadesk import PROFILE FILE`` as a child process; checks rows and audit, restores."""
    datadesk = Path(sys.executable).with_name("datadesk")
    if not datadesk.is_file():
        raise BenchError(f"{datadesk} not found: install the project (make install)")
    env = child_env(
        {
            "DATADESK_DATABASE_URL": db.url,
            "DATADESK_CONFIG": db.config_path,
            "DATADESK_VAR_DIR": str(db.var_dir),
        }
    )
    run = run_process(
        [str(datadesk), "import", PROFILE_NAME, str(path)], env=env, timeout=timeout_for(rows) * 3
    )
    try:
        if run.returncode != 0:
            raise BenchError(
                f"datadesk import failed (exit {run.returncode}):\n{tail(run.stdout + run.stderr)}"
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
        run.cpu_seconds,
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
        timeout=timeout_for(rows) * 6,
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

    def cpu_ratio(self, name: str, base: str = "floor") -> float:
        base_cpu = self.samples[base].cpu_seconds
        return self.samples[name].cpu_seconds / base_cpu if base_cpu else float("nan")


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
            f"{'work s':>9}{'/ floor':>9}{'cpu s':>8}{'cpu / floor':>13}",
        ]
        for name in ORDER:
            s = size.samples[name]
            work = f"{s.work_seconds:9.2f}" if s.work_seconds is not None else f"{'':>9}"
            lines.append(
                f"{name:<18}{s.seconds:>9.2f}{s.rows_per_second:>10,.0f}{s.peak_rss_mb:>13.0f}"
                f"{work}{size.ratio(name):>8.2f}x{s.cpu_seconds:>8.2f}{size.cpu_ratio(name):>12.2f}x"
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
            f"datadesk / floor by CPU time {size.cpu_ratio('datadesk import'):6.2f}x   "
            "(user + system seconds: less moved by other work on the machine)",
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
        "cpu s: user + system CPU time of that process;",
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
        f"{s.name}: {s.rows:,} rows in {s.seconds:.2f} s ({s.rows_per_second:,.0f} rows/s{work}, "
        f"cpu {s.cpu_seconds:.2f} s), peak RSS {s.peak_rss_mb:.0f} MB"
    )


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rows < 1 or args.memory_rows < 0 or args.rounds < 1:
        print("bench.imports: --rows and --rounds must be positive", file=sys.stderr)
        return 2
    work_dir = Path(tempfile.mkdtemp(prefix="datadesk-bench-import-"))
    server = PgServer(args.database_url) if args.database_url else None
    sizes: list[SizeResults] = []
    profile_lines: list[str] = []
    try:
        compile_bytecode()
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


if __name__ == "__main__":
    raise SystemExit(main())
