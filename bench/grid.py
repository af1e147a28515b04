"""The grid benchmark: datadesk's list page against plain sqladmin and a hand-written page.

``python -m bench.grid`` builds the demo database (100,000 immunizations), starts the three
servers as separate single-worker uvicorn processes over it, checks they show the same 50 rows,
then measures each with wrk (closed loop, 80 connections) and with an open-loop constant load
(80 users, one request every 2 s), and prints a table and the ratios against the targets.

datadesk is measured signed in, as its users see it: before each of its measurements the
benchmark signs in as admin through the login form, checks that the page answers 200 with the
50 rows (not a redirect to the sign-in page), and sends the session cookie with every request.

Exit status: 0 when the measurement ran (targets missed or not), 1 when the benchmark broke
(a server did not start, answered wrongly or produced errors under load).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.constant_load import LoadResult, run_constant_load
from bench.servers import BenchError, Server, grid_servers
from bench.wrk import WrkResult, run_wrk

# Under load the mean response must be at least this share of the checked page's size: wrk
# counts redirects as successes, and a page without its rows is a fraction of the size.
MIN_SIZE_SHARE = 0.9

TARGET_VS_SQLADMIN = 10.0
TARGET_VS_HANDWRITTEN = 0.5
TARGET_P99_MS = 100.0


@dataclasses.dataclass
class Round:
    """One closed-loop run of one server."""

    wrk: WrkResult
    cpu_ms_per_request: float


@dataclasses.dataclass
class Measurement:
    """The results of one server: the median closed-loop round and the constant load."""

    server: str
    wrk: WrkResult
    cpu_ms_per_request: float
    load: LoadResult | None
    round_rates: list[float]


def build_parser() -> argparse.ArgumentParser:
    """Options; the defaults are the measurement the SPEC's targets are stated for."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.grid", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--database",
        help="a PostgreSQL server URL to use instead of SQLite "
        "(a fresh database is created on it and dropped afterwards)",
    )
    parser.add_argument("--immunizations", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=80, help="wrk connections (80)")
    parser.add_argument("--seconds", type=float, default=15, help="wrk duration (15)")
    parser.add_argument("--warmup", type=float, default=3, help="wrk warm-up seconds (3)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="closed-loop rounds, servers interleaved; the median round is reported (1)",
    )
    parser.add_argument("--users", type=int, default=80, help="constant-load users (80)")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between one user's requests (2)"
    )
    parser.add_argument("--load-seconds", type=float, default=20, help="constant-load run (20)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (database, server logs)"
    )
    return parser


@contextlib.contextmanager
def bench_database(server_url: str | None, work_dir: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database dropped after."""
    if not server_url:
        yield f"sqlite:///{work_dir / 'bench.sqlite3'}"
        return
    server = make_url(server_url)
    if server.get_backend_name() != "postgresql":
        raise BenchError("--database must be a PostgreSQL server URL")
    name = f"datadesk_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def build_database(url: str, immunizations: int) -> None:
    """The demo schema and data, as ``datadesk demo`` builds them."""
    from datadesk.demo.build import build_demo
    from datadesk.models.engine import create_db_engine

    started = time.perf_counter()
    engine = create_db_engine(url)
    try:
        build_demo(engine, immunizations=immunizations)
    finally:
        engine.dispose()
    say(
        f"demo database built with {immunizations:,} immunizations "
        f"({time.perf_counter() - started:.1f} s)"
    )


def check_same_rows(servers: Sequence[Server]) -> int:
    """Every server shows the same rows in the same order (signed in where the server needs
    it); the number of rows."""
    reference: list[str] | None = None
    for server in servers:
        keys = server.fetch_keys()
        if reference is None:
            reference = keys
        elif keys != reference:
            raise BenchError(
                f"{server.spec.name} shows rows {keys[:5]}... but "
                f"{servers[0].spec.name} shows {reference[:5]}..."
            )
    assert reference is not None
    return len(reference)


def fresh_session(server: Server) -> None:
    """Sign in anew (servers that need it) and check the page is the grid with that cookie.

    A session per measurement keeps the cookie younger than the minute after which datadesk
    re-issues it on every response to a client that never stores it (wrk, the load client)."""
    server.sign_in()
    server.fetch_keys()


def check_page_size(server: Server, wrk: WrkResult) -> None:
    """BenchError when the answers under load were smaller than the page: redirects or errors
    that wrk counted as successes (e.g. a session that stopped being accepted)."""
    if wrk.requests and wrk.bytes_per_request < MIN_SIZE_SHARE * server.page_bytes:
        raise BenchError(
            f"{server.spec.name}: answers under load averaged {wrk.bytes_per_request:,.0f} bytes "
            f"but the page is {server.page_bytes:,} bytes: not the page (redirected?)"
        )


def closed_loop(server: Server, args: argparse.Namespace, *, warm_up: bool) -> Round:
    """One wrk run against one server (after a warm-up at the same concurrency)."""
    fresh_session(server)
    if warm_up and args.warmup > 0:
        run_wrk(
            server.url,
            threads=args.threads,
            connections=args.connections,
            seconds=args.warmup,
            headers=server.headers,
        )
    cpu_before = server.cpu_seconds()
    wrk = run_wrk(
        server.url,
        threads=args.threads,
        connections=args.connections,
        seconds=args.seconds,
        headers=server.headers,
    )
    cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(1, wrk.requests)
    say(
        f"{server.spec.name}: {wrk.requests_per_second:,.1f} req/s, p50 {wrk.p50_ms:.1f} ms, "
        f"p99 {wrk.p99_ms:.1f} ms, {wrk.errors} errors, {cpu_ms:.2f} CPU ms/req"
    )
    check_alive(server)
    check_page_size(server, wrk)
    server.fetch_keys()  # the session is still accepted after the run
    return Round(wrk, cpu_ms)


def constant_load(server: Server, args: argparse.Namespace) -> LoadResult:
    """The open-loop constant load against one server."""
    fresh_session(server)
    time.sleep(1)
    load = run_constant_load(
        server.url,
        users=args.users,
        interval=args.interval,
        seconds=args.load_seconds,
        headers=server.headers,
    )
    say(
        f"{server.spec.name}: constant {args.users / args.interval:g} req/s: "
        f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.errors} errors"
    )
    check_alive(server)
    server.fetch_keys()
    return load


def check_alive(server: Server) -> None:
    """BenchError when the server process has exited."""
    if server.process is None or server.process.poll() is not None:
        raise BenchError(f"{server.spec.name} died during the run:\n{server.log_tail()}")


def measure_all(servers: Sequence[Server], args: argparse.Namespace) -> list[Measurement]:
    """Closed-loop rounds (servers interleaved within each round), then the constant load."""
    rounds: dict[str, list[Round]] = {s.spec.name: [] for s in servers}
    for number in range(args.rounds):
        for server in servers:
            rounds[server.spec.name].append(closed_loop(server, args, warm_up=number == 0))
    results = []
    for server in servers:
        runs = sorted(rounds[server.spec.name], key=lambda r: r.wrk.requests_per_second)
        median = runs[len(runs) // 2]
        results.append(
            Measurement(
                server.spec.name,
                median.wrk,
                median.cpu_ms_per_request,
                constant_load(server, args),
                [r.wrk.requests_per_second for r in rounds[server.spec.name]],
            )
        )
    return results


def ratio(ours: WrkResult, theirs: WrkResult) -> float:
    """Requests/s of ours over theirs (infinite when theirs completed nothing)."""
    if theirs.requests_per_second <= 0:
        return float("inf")
    return ours.requests_per_second / theirs.requests_per_second


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    results: list[Measurement], args: argparse.Namespace, backend: str, rows: int
) -> list[str]:
    """The table and the ratio lines."""
    rate = args.users / args.interval
    lines = [
        "",
        f"Grid list page: {rows} rows of {args.immunizations:,} immunizations on {backend}, "
        "one uvicorn worker per server",
        f"closed loop: wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s --latency"
        + (f", median of {args.rounds} interleaved rounds" if args.rounds > 1 else "")
        + f"; constant load: {args.users} users x 1 request / {args.interval:g} s = {rate:g} req/s"
        f" for {args.load_seconds:g} s (open loop)",
        f"{os.cpu_count()} CPUs, shared by the server under test and the load generator",
        "datadesk signed in as admin: every request carries its session cookie",
        "",
        f"{'server':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms/req':>12}"
        f"  |{'const p50':>10}{'const p99':>10}{'errors':>8}",
    ]
    for m in results:
        load = m.load
        lines.append(
            f"{m.server:<16}{m.wrk.requests_per_second:>10,.1f}{m.wrk.p50_ms:>9.1f}"
            f"{m.wrk.p99_ms:>9.1f}{m.wrk.errors:>8}{m.cpu_ms_per_request:>12.2f}  |"
            + (f"{load.p50_ms:>10.1f}{load.p99_ms:>10.1f}{load.errors:>8}" if load else "")
        )
    if args.rounds > 1:
        lines.append("")
        lines += [
            f"{m.server:<16}rounds: " + ", ".join(f"{r:,.1f}" for r in m.round_rates) + " req/s"
            for m in results
        ]
    lags = [f"{m.server} {m.load.generator_lag_p99_ms:.1f} ms" for m in results if m.load]
    if lags:
        lines.append("constant-load generator's own lateness at p99: " + ", ".join(lags))
    by_name = {m.server: m for m in results}
    dd = by_name["datadesk"]
    vs_sqladmin = ratio(dd.wrk, by_name["plain sqladmin"].wrk)
    vs_hand = ratio(dd.wrk, by_name["hand-written"].wrk)
    p99 = dd.load.p99_ms if dd.load else float("nan")
    lines += [
        "",
        f"datadesk / plain sqladmin req/s  {vs_sqladmin:8.2f}x   target >= "
        f"{TARGET_VS_SQLADMIN:g}x    {verdict(vs_sqladmin >= TARGET_VS_SQLADMIN)}",
        f"datadesk / hand-written req/s    {vs_hand:8.3f}x   target >= "
        f"{TARGET_VS_HANDWRITTEN:g}x   {verdict(vs_hand >= TARGET_VS_HANDWRITTEN)}",
        f"datadesk p99 at {rate:g} req/s        {p99:8.1f} ms  target < {TARGET_P99_MS:g} ms "
        f" {verdict(p99 < TARGET_P99_MS)}",
    ]
    errors = sum(m.wrk.errors + (m.load.errors if m.load else 0) for m in results)
    lines.append(
        f"errors in responses                {errors:8d}     target 0         "
        f"{verdict(errors == 0)}"
    )
    return lines


def say(text: str) -> None:
    print(f"bench.grid: {text}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it measured, 1 when it broke."""
    args = build_parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.grid: wrk is not installed (bash scripts/system-deps)", file=sys.stderr)
        return 1
    work_dir = Path(tempfile.mkdtemp(prefix="datadesk-bench-"))
    servers: list[Server] = []
    try:
        with bench_database(args.database, work_dir) as url:
            backend = make_url(url).get_backend_name()
            build_database(url, args.immunizations)
            servers = grid_servers(url, work_dir)
            for server in servers:
                server.start()
                server.sign_in()
                say(
                    f"{server.spec.name} answers at {server.url}"
                    + (" (signed in)" if server.cookie else "")
                )
            rows = check_same_rows(servers)
            say(f"all three show the same {rows} rows")
            results = measure_all(servers, args)
            check_same_rows(servers)
            for server in servers:
                server.stop()
    except BenchError as exc:
        print(f"bench.grid: broken: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print("\n".join(report(results, args, backend, rows)), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                    "backend": backend,
                    "argv": list(argv if argv is not None else sys.argv[1:]),
                    "results": [
                        {
                            **dataclasses.asdict(m),
                            "wrk": {
                                k: v for k, v in dataclasses.asdict(m.wrk).items() if k != "output"
                            },
                        }
                        for m in results
                    ],
                },
                indent=2,
            )
        )
    errors = sum(m.wrk.errors + (m.load.errors if m.load else 0) for m in results)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
