"""The export benchmark: datadesk's .xlsx export against three ways of writing the same cells.

``python -m bench.export`` (``make bench-export``) builds the demo in a temporary SQLite file
with 100,000 ``IMMUNIZATIONS`` rows and measures, each in its own child process (wall time of
the work as timed inside the child, and the child's peak RSS):

- **datadesk export**: ``GridExporter.write`` as the Export link and ``datadesk export`` run
  it: capped count, the grid's SELECT streamed with ``yield_per``, labels of the references,
  the streaming writer (XlsxWriter constant-memory underneath);
- the same rows fetched into a list first (the export's own SELECT and labels, so every writer
  gets the same cells: 11 columns, the grid's 8 plus the label of each of 3 references), then
  written, timing the write alone, by
  - **datadesk writer**: ``XlsxWorkbook`` / ``XlsxSheet.write_rows``;
  - **XlsxWriter constant memory**: typed ``write_number``/``write_datetime``/``write_string``/
    ``write_boolean`` calls with the same number formats, bold frozen header, autofilter;
  - **openpyxl write-only**: ``WriteOnlyCell`` for formatted cells, plain values otherwise;
  - **pandas**: ``DataFrame.to_excel`` (default engine, date formats, frozen header).

Targets: datadesk's writer faster than pandas and within 1.5x of XlsxWriter constant memory.
With ``--memory-rows 1000000`` (the default) a second database with that many rows is built
and the datadesk export runs over it too: its peak memory should stay flat.

The benchmark process imports only the standard library (a child's ``ru_maxrss`` can be no
lower than its parent's peak when it started). Exit status 0 when it measured, whether the
targets were met or not; 1 when it broke.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.import_setup import BenchError, run_child

WRITERS = ("xlsxwriter", "datadesk_writer", "openpyxl", "pandas")
NAMES = {
    "datadesk": "datadesk export (fetch + write)",
    "datadesk_writer": "datadesk writer",
    "xlsxwriter": "XlsxWriter constant memory",
    "openpyxl": "openpyxl write-only",
    "pandas": "pandas DataFrame.to_excel",
}
TARGET_VS_XLSXWRITER = 1.5


def say(text: str) -> None:
    """Progress on standard error."""
    print(f"bench.export: {text}", file=sys.stderr, flush=True)


def child(kind: str, spec: dict[str, Any], timeout: float) -> tuple[dict[str, Any], float]:
    """Run one child; its JSON result and its peak RSS in MB."""
    result, run = run_child(kind, spec, timeout=timeout, module="bench.export_children")
    return result, run.peak_rss_mb


def prepare(work: Path, rows: int) -> dict[str, Any]:
    """A demo database with ``rows`` immunizations; the spec the measuring children take."""
    folder = work / f"rows-{rows}"
    folder.mkdir()
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    say(f"building the demo with {rows:,} immunizations ...")
    child("prepare", {"url": url, "rows": rows}, timeout=120 + rows * 0.003)
    return {"url": url, "var": str(folder), "out": str(folder / "out.xlsx")}


def measure(kind: str, spec: dict[str, Any], rows: int) -> dict[str, Any]:
    """One measurement; checks that every row was written."""
    result, peak = child(kind, spec, timeout=120 + rows * 0.01)
    if result["rows"] != rows:
        raise BenchError(f"{kind} wrote {result['rows']} rows, not {rows}")
    Path(spec["out"]).unlink()
    seconds = result.get("write_seconds", result.get("seconds"))
    say(f"  {NAMES[kind]:<32} {seconds:7.2f} s  cpu {result['cpu']:6.2f} s  peak {peak:5.0f} MB")
    return {**result, "seconds": seconds, "peak_rss_mb": peak}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures and ratios."""
    parser = argparse.ArgumentParser(prog="bench.export", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to export")
    parser.add_argument(
        "--memory-rows", type=int, default=1_000_000, help="second size for memory (0: skip)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="median of this many rounds")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="datadesk-bench-export-"))
    try:
        figures = run(args, work)
    except BenchError as exc:
        print(f"bench.export: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    spec = prepare(work, args.rows)
    engine, _ = child("pandas_engine", {}, timeout=120)
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in ("datadesk", *WRITERS)}
    for number in range(args.rounds):
        say(f"round {number + 1} of {args.rounds}, {args.rows:,} rows:")
        for kind in ("datadesk", *WRITERS):
            samples[kind].append(measure(kind, spec, args.rows))
    figures: dict[str, Any] = {"rows": args.rows, "pandas_info": engine, "rounds": args.rounds}
    figures["load_before"] = os.getloadavg()[0]
    for kind, runs in samples.items():
        figures[kind] = {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "fetch_seconds": statistics.median(r.get("fetch_seconds", 0.0) for r in runs),
            "columns": runs[0].get("columns"),
        }
    figures["load_after"] = os.getloadavg()[0]
    if args.memory_rows:
        big = prepare(work, args.memory_rows)
        say(f"{args.memory_rows:,} rows:")
        figures["memory"] = {
            "rows": args.memory_rows,
            **measure("datadesk", big, args.memory_rows),
        }
    return figures


def report(figures: dict[str, Any]) -> None:
    rows = figures["rows"]
    print()
    print(f"Export of {rows:,} IMMUNIZATIONS rows x {figures['datadesk']['columns']} columns,")
    info = figures["pandas_info"]
    print(
        f"median of {figures['rounds']} round(s); pandas {info['version']} (engine "
        f"{info['engine']}); load average {figures['load_before']:.1f} before, "
        f"{figures['load_after']:.1f} after:"
    )
    print(f"  {'':<32} {'wall s':>8} {'cpu s':>8} {'cpu vs datadesk writer':>23} {'peak MB':>8}")
    mine = figures["datadesk_writer"]
    for kind in ("datadesk", *WRITERS):
        f = figures[kind]
        print(
            f"  {NAMES[kind]:<32} {f['seconds']:8.2f} {f['cpu']:8.2f}"
            f" {f['cpu'] / mine['cpu']:22.2f}x {f['peak_rss_mb']:8.0f}"
        )
    fetch = figures["xlsxwriter"]["fetch_seconds"]
    print(f"  (the writers got the rows in a list, fetched beforehand in {fetch:.2f} s)")
    for measure, key in (("wall time", "seconds"), ("CPU time", "cpu")):
        vs_xlsx = mine[key] / figures["xlsxwriter"][key]
        vs_pandas = mine[key] / figures["pandas"][key]
        ok_x = "met" if vs_xlsx <= TARGET_VS_XLSXWRITER else "MISSED"
        ok_p = "met" if vs_pandas < 1 else "MISSED"
        print(
            f"{measure}: datadesk writer / XlsxWriter constant memory {vs_xlsx:.2f}x "
            f"(target <= 1.5: {ok_x}); / pandas {vs_pandas:.2f}x (target < 1: {ok_p})"
        )
    memory = figures.get("memory")
    if memory:
        small = figures["datadesk"]["peak_rss_mb"]
        print(
            f"datadesk export peak memory: {small:.0f} MB at {rows:,} rows, "
            f"{memory['peak_rss_mb']:.0f} MB at {memory['rows']:,} rows "
            f"({memory['peak_rss_mb'] / small:.2f}x for {memory['rows'] / rows:.0f}x the rows; "
            f"{memory['seconds']:.1f} s wall, {memory['cpu']:.1f} s cpu)"
        )


if __name__ == "__main__":
    sys.exit(main())
