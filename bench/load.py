"""The load benchmark: 80 signed-in users on a mixed workload, a graceful restart in the middle,
a 10x spike, and a check that no write was lost or duplicated.

``python -m bench.load`` builds the demo database, starts ``datadesk serve --workers 2`` on a
free 127.0.0.1 port (production mode), signs the demo users in through the login form, and runs:

1. **steady**: 80 users for 60 s, each doing one action and then thinking 1 to 3 s (list,
   search, detail, edit and save, audit log, export); SIGHUP half-way (every worker replaced);
2. **spike**: ten times the users for 10 s (the extra users are more tabs of the same
   sessions: signing 800 users in would measure password hashing, not the spike);
3. **recovery**: the 80 users go on for 20 s; latency per second shows how soon it is normal.

Afterwards every row edited is compared with the edits the users saw acknowledged, and with the
audit log: none may be missing, none written twice. Every step is bounded in time.

Exit status: 0 when it measured with no error and no lost or duplicated write, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.browser import Browser, LoadError, Recorder, edit_fields, sign_in
from bench.grid import bench_database, build_database
from bench.load_report import check_writes, report
from bench.servers import (
    BIN,
    PAGE_ROWS,
    BenchError,
    Server,
    ServerSpec,
    free_port,
    worker_pids,
)

ROLES = ["clerk", "clerk", "manager", "manager", "manager", "official", "official", "auditor"]
# What "export" downloads, per role: officials take the staff grid out to Excel (a few hundred
# typed rows, written in full before it is sent), auditors the audit log's CSV (streamed).
EXPORTS = {
    "auditor": "/admin/audit/export.csv?table=immunizations",
    "official": "/admin/staff/export?format=xlsx&sort=last_name",
}
SECRET_KEY = "bench-load-secret-key-0123456789abcdefghij"


@dataclass
class Targets:
    """Rows the users look at and the rows each editing user owns."""

    staff: list[int]
    clerk_staff: list[int]
    students: list[int]
    immunizations: list[int]
    surnames: list[str]
    edit_rows: list[int]
    list_pages: int  # grid pages users page through (at most 50)


@dataclass
class Edits:
    """The lot numbers each edited row was given: acknowledged, and sent without an answer."""

    acknowledged: dict[int, list[str]] = field(default_factory=dict)
    uncertain: dict[int, set[str]] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    """Options; the defaults are the run the SPEC states its targets for."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--database", help="a PostgreSQL server URL instead of SQLite")
    parser.add_argument("--immunizations", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=80)
    parser.add_argument("--seconds", type=float, default=60, help="steady phase (60)")
    parser.add_argument("--spike-factor", type=int, default=10)
    parser.add_argument("--spike-seconds", type=float, default=10)
    parser.add_argument("--recovery-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=32,
        help="DATADESK_MAX_CONCURRENCY: requests in progress per worker before page requests "
        "are shed with 503 (32, as in the container image; 0: no shedding)",
    )
    parser.add_argument("--no-restart", action="store_true", help="no SIGHUP in the steady phase")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser


def start_server(url: str, work_dir: Path, workers: int, max_concurrency: int) -> Server:
    """``datadesk serve --workers N`` in production mode, after ``datadesk db upgrade``."""
    port = free_port()
    env = {
        "DATADESK_DATABASE_URL": url,
        "DATADESK_VAR_DIR": str(work_dir),
        "DATADESK_PORT": str(port),
        "DATADESK_SECRET_KEY": SECRET_KEY,
        "DATADESK_ENV": "production",
        "DATADESK_ADMIN_PASSWORD": "Bench-Secret-passw0rd",
    }
    if max_concurrency:
        env["DATADESK_MAX_CONCURRENCY"] = str(max_concurrency)
    spec = ServerSpec(
        "datadesk",
        [str(BIN / "datadesk"), "serve", "--workers", str(workers)],
        env,
        "/healthz",
        "",
        ready_path="/readyz",
        prepare=[[str(BIN / "datadesk"), "db", "upgrade"]],
    )
    server = Server(spec, port, work_dir / "serve.log")
    server.start()
    return server


def prepare_users_and_targets(url: str, editors: int) -> Targets:
    """The demo users (password in the README) and the rows the load reads and edits."""

    from datadesk.auth.users import UserStore
    from datadesk.config.loader import load_config
    from datadesk.demo.users import ensure_demo_users
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import create_db_engine
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    engine = create_db_engine(url)
    try:
        ensure_demo_users(UserStore(engine, app_tables(config.app_tables.prefix), config.auth))
        with engine.connect() as conn:

            def ids(sql: str) -> list[int]:
                return [int(r[0]) for r in conn.exec_driver_sql(sql)]

            targets = Targets(
                staff=ids("SELECT staff_id FROM staff ORDER BY staff_id LIMIT 500"),
                clerk_staff=ids("SELECT staff_id FROM staff WHERE dept_id = 3"),
                students=ids("SELECT student_id FROM students ORDER BY student_id LIMIT 500"),
                immunizations=ids("SELECT imm_id FROM immunizations ORDER BY imm_id LIMIT 2000"),
                surnames=[
                    str(r[0])
                    for r in conn.exec_driver_sql("SELECT DISTINCT last_name FROM staff LIMIT 50")
                ],
                edit_rows=ids(
                    f"SELECT imm_id FROM immunizations ORDER BY imm_id DESC LIMIT {editors}"
                ),
                list_pages=max(
                    1, min(50, ids("SELECT count(*) FROM immunizations")[0] // PAGE_ROWS)
                ),
            )
    finally:
        engine.dispose()
    if len(targets.edit_rows) < editors or not targets.clerk_staff:
        raise BenchError("the demo database has too few rows for the load")
    return targets


class User:
    """One simulated user: a role, a browser session, its own row to edit (managers)."""

    def __init__(
        self, number: int, role: str, browser: Browser, targets: Targets, edits: Edits
    ) -> None:
        self.number, self.role, self.browser = number, role, browser
        self.targets, self.edits = targets, edits
        self.rng = random.Random(number)
        self.row = targets.edit_rows[number] if role == "manager" else None
        self.saves = 0

    async def run(self, until: float) -> None:
        """Act, think 1 to 3 s, act again, until the phase ends."""
        await asyncio.sleep(self.rng.uniform(0, 2))
        while time.perf_counter() < until:
            # A failure is recorded; a real user would try again after thinking.
            with contextlib.suppress(LoadError):
                await self.act()
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))

    async def act(self) -> None:
        """One action of the role's mix."""
        t, rng, b = self.targets, self.rng, self.browser
        roll = rng.random()
        if self.role == "clerk":
            if roll < 0.3:
                await b.request("list", "GET", "/admin/staff/list", 200)
            elif roll < 0.5:
                await b.request("search", "GET", "/admin/staff/list?search=a", 200)
            elif roll < 0.7:
                staff = rng.choice(t.clerk_staff)
                await b.request("detail", "GET", f"/admin/staff/details/{staff}", 200)
            else:
                await b.request("list", "GET", "/admin/immunizations/list", 200)
        elif self.role == "manager":
            if roll < 0.3:
                page = rng.randint(1, t.list_pages)
                await b.request("list", "GET", f"/admin/immunizations/list?page={page}", 200)
            elif roll < 0.45:
                name = rng.choice(t.surnames)
                await b.request("search", "GET", f"/admin/staff/list?search={name}", 200)
            elif roll < 0.65:
                imm = rng.choice(t.immunizations)
                await b.request("detail", "GET", f"/admin/immunizations/details/{imm}", 200)
            else:
                await self.edit()
        elif self.role == "official":
            if roll < 0.35:
                table = rng.choice(["staff", "students", "immunizations"])
                await b.request("list", "GET", f"/admin/{table}/list", 200)
            elif roll < 0.45:
                await b.request("export", "GET", EXPORTS[self.role], 200)
            elif roll < 0.7:
                name = rng.choice(t.surnames)
                await b.request("search", "GET", f"/admin/students/list?search={name}", 200)
            else:
                student = rng.choice(t.students)
                await b.request("detail", "GET", f"/admin/students/details/{student}", 200)
        elif roll < 0.5:
            await b.request("audit list", "GET", "/admin/audit", 200)
        elif roll < 0.8:
            await b.request("export", "GET", EXPORTS[self.role], 200)
        else:
            staff = rng.choice(t.staff)
            await b.request("detail", "GET", f"/admin/staff/details/{staff}", 200)

    async def edit(self) -> None:
        """Give the user's own immunization a new lot number through its edit form."""
        assert self.row is not None
        self.saves += 1
        lot = f"L{self.number:04d}-{self.saves:05d}"
        path = f"/admin/immunizations/edit/{self.row}"
        started = time.perf_counter()
        form = await self.browser.request("edit form", "GET", path, 200)
        try:
            fields = edit_fields(form.text, {"lot_number": lot})
        except LoadError as exc:
            self.browser.recorder.record("edit form", started, f"{path}: {exc}")
            raise
        # From here until the answer, the save may or may not have happened.
        self.edits.uncertain.setdefault(self.row, set()).add(lot)
        saved = await self.browser.request("edit save", "POST", path, 302, data=fields)
        self.edits.uncertain[self.row].discard(lot)
        self.edits.acknowledged.setdefault(self.row, []).append(lot)
        await self.browser.request("detail", "GET", saved.headers["location"], 200)


async def run_phases(
    server: Server, args: argparse.Namespace, targets: Targets
) -> tuple[Recorder, Edits, dict[str, object]]:
    """Sign in, then run the steady, spike and recovery phases; what happened."""
    recorder, edits = Recorder(), Edits()
    events: dict[str, object] = {}
    browsers: list[Browser] = []
    gate = asyncio.Semaphore(4)  # sign-ins hash passwords: a few at a time

    async def signed(number: int) -> Browser:
        async with gate:
            return await sign_in(server.base, ROLES[number % len(ROLES)], recorder)

    browsers = list(await asyncio.gather(*(signed(i) for i in range(args.users))))
    users = [User(i, ROLES[i % len(ROLES)], browsers[i], targets, edits) for i in range(args.users)]
    crowd = users + [
        User(i, ROLES[i % len(ROLES)], browsers[i % args.users], targets, edits)
        for i in range(args.users, args.users * args.spike_factor)
    ]
    lag_watch = asyncio.create_task(watch_lag(recorder, events))
    try:
        recorder.phase = "steady"
        start = time.perf_counter()
        until = start + args.seconds
        restart = (
            None
            if args.no_restart
            else asyncio.create_task(sighup_midway(server, start + args.seconds / 2, events))
        )
        await asyncio.gather(*(u.run(until) for u in users))
        if restart is not None:
            await restart
        # The spike: the same users go on, and nine times as many join for spike_seconds; the
        # phase is "recovery" from the moment the extra users stop sending.
        recorder.phase = "spike"
        spike_start = time.perf_counter()
        spike_end = spike_start + args.spike_seconds
        events["spike_start"], events["spike_end"] = spike_start, spike_end

        async def recovery_from(moment: float) -> None:
            await asyncio.sleep(max(0.0, moment - time.perf_counter()))
            recorder.phase = "recovery"

        await asyncio.gather(
            recovery_from(spike_end),
            *(u.run(spike_end + args.recovery_seconds) for u in users),
            *(u.run(spike_end) for u in crowd[args.users :]),
        )
    finally:
        lag_watch.cancel()
        await asyncio.gather(*(b.client.aclose() for b in browsers))
    return recorder, edits, events


async def watch_lag(recorder: Recorder, events: dict[str, object]) -> None:
    """How late the generator's own event loop wakes up, per phase (p99 in ms): latencies it
    measures include that much of its own delay."""
    lags: dict[str, list[float]] = {}
    events["generator_lag_p99_ms"] = lags_p99 = {}
    while True:
        due = time.perf_counter() + 0.05
        await asyncio.sleep(0.05)
        lag = (time.perf_counter() - due) * 1000
        values = lags.setdefault(recorder.phase, [])
        values.append(lag)
        lags_p99[recorder.phase] = round(sorted(values)[int(0.99 * (len(values) - 1))], 1)


async def sighup_midway(server: Server, at: float, events: dict[str, object]) -> None:
    """SIGHUP the supervisor at ``at``; note how long until every worker was replaced."""
    assert server.process is not None
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    old = worker_pids(server.process.pid)
    sent = time.perf_counter()
    os.kill(server.process.pid, signal.SIGHUP)
    events["restart_sent"] = sent
    events["restart_workers_before"] = sorted(old)
    deadline = sent + 120
    while time.perf_counter() < deadline:
        now = worker_pids(server.process.pid)
        if not now & old and len(now) == len(old):
            events["restart_seconds"] = round(time.perf_counter() - sent, 2)
            events["restart_workers_after"] = sorted(now)
            return
        await asyncio.sleep(0.1)
    events["restart_seconds"] = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it measured no error and no lost or duplicated write."""
    args = build_parser().parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="datadesk-load-"))
    server: Server | None = None
    try:
        with bench_database(args.database, work_dir) as url:
            backend = make_url(url).get_backend_name()
            build_database(url, args.immunizations)
            editors = args.users * args.spike_factor
            server = start_server(url, work_dir, args.workers, args.max_concurrency)
            targets = prepare_users_and_targets(url, editors)
            say(f"datadesk serve --workers {args.workers} answers at {server.base} ({backend})")
            cpu = time.process_time()
            recorder, edits, events = asyncio.run(run_phases(server, args, targets))
            events["generator_cpu_seconds"] = round(time.process_time() - cpu, 1)
            if server.process is None or server.process.poll() is not None:
                raise BenchError(f"the server died:\n{server.log_tail()}")
            writes = check_writes(url, edits)
            server.stop()
    except BenchError as exc:
        print(f"bench.load: broken: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    lines, summary = report(recorder, events, writes, args, backend)
    print("\n".join(lines), flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


def say(text: str) -> None:
    print(f"bench.load: {text}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
