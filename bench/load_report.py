"""What the load benchmark found: latencies by phase and page, the spike's recovery second by
second, and the edits checked against the database and the audit log."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.browser import Recorder
from bench.constant_load import percentile

RECOVERY_TARGET_SECONDS = 5.0
# "Normal" after the spike: a second whose p99 is within this factor of the steady phase's.
NORMAL_FACTOR = 2.0


@dataclass
class WriteCheck:
    """Edits acknowledged to users against what the database and the audit log hold."""

    rows: int = 0
    acknowledged: int = 0
    uncertain: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_final: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No acknowledged edit missing, none twice, nothing nobody sent, final values right."""
        return not (self.lost or self.duplicated or self.unexpected or self.wrong_final)


def check_writes(url: str, edits: Any) -> WriteCheck:
    """Compare every edited row and its audit entries with the users' acknowledged saves."""
    import sqlalchemy as sa

    from datadesk.models.engine import create_db_engine

    check = WriteCheck(rows=len(edits.acknowledged))
    rows = sorted(set(edits.acknowledged) | set(edits.uncertain))
    if not rows:
        return check
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            stored: dict[Any, Any] = dict(
                conn.execute(
                    sa.text(
                        "SELECT imm_id, lot_number FROM immunizations WHERE imm_id IN :ids"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": rows},
                ).all()
            )
            audited = conn.execute(
                sa.text(
                    "SELECT row_key, changes FROM datadesk_audit WHERE table_name = "
                    "'immunizations' AND action = 'update' ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    written: dict[int, list[str]] = {}
    for key, changes in audited:
        after = json.loads(changes).get("lot_number", [None, None])[1]
        if key.isdigit() and int(key) in rows and after is not None:
            written.setdefault(int(key), []).append(str(after))
    for row in rows:
        acknowledged = edits.acknowledged.get(row, [])
        uncertain = edits.uncertain.get(row, set())
        check.acknowledged += len(acknowledged)
        check.uncertain += len(uncertain)
        values = written.get(row, [])
        check.lost += [f"{row}: {v}" for v in acknowledged if v not in values]
        check.duplicated += [f"{row}: {v} x{n}" for v, n in Counter(values).items() if n > 1]
        check.unexpected += [
            f"{row}: {v}" for v in values if v not in acknowledged and v not in uncertain
        ]
        if values and stored.get(row) != values[-1]:
            check.wrong_final.append(f"{row}: stored {stored.get(row)!r}, last {values[-1]!r}")
    return check


def report(
    recorder: Recorder,
    events: dict[str, Any],
    writes: WriteCheck,
    args: argparse.Namespace,
    backend: str,
) -> tuple[list[str], dict[str, Any]]:
    """The printed report and a summary for --json."""
    lines = [
        "",
        f"## bench.load on {backend}: datadesk serve --workers {args.workers}, "
        f"DATADESK_MAX_CONCURRENCY={args.max_concurrency or 'unset'}, {args.users} users, "
        "think time 1-3 s",
        "",
    ]
    summary: dict[str, Any] = {"backend": backend, "phases": {}, "events": events}
    errors_by_phase: dict[str, int] = {}
    for phase, users, seconds in (
        ("steady", args.users, args.seconds),
        ("spike", args.users * args.spike_factor, args.spike_seconds),
        ("recovery", args.users, args.recovery_seconds),
    ):
        kinds = sorted(k for p, k in recorder.pages if p == phase)
        lines += [
            f"### {phase}: {users} users, {seconds:g} s",
            "",
            "| page | requests | errors | shed (503) | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        phase_summary = {}
        everything: list[float] = []
        errors = shed = 0
        for kind in kinds:
            stats = recorder.pages[(phase, kind)]
            values = sorted(stats.latencies)
            everything += values
            errors += len(stats.errors)
            shed += stats.shed
            row = _row(kind, values, len(stats.errors), stats.shed)
            lines.append(row)
            phase_summary[kind] = {
                "requests": len(values) + len(stats.errors) + stats.shed,
                "errors": len(stats.errors),
                "shed": stats.shed,
                "p50_ms": percentile(values, 0.5),
                "p99_ms": percentile(values, 0.99),
                "first_errors": stats.errors[:5],
            }
        everything.sort()
        lines.append(_row("**all pages**", everything, errors, shed))
        rate = len(everything) / seconds if seconds else 0
        lines += ["", f"{rate:.1f} answered requests/s", ""]
        errors_by_phase[phase] = errors
        summary["phases"][phase] = {"pages": phase_summary, "p99_ms": percentile(everything, 0.99)}
        for kind in kinds:
            for error in recorder.pages[(phase, kind)].errors[:3]:
                lines.append(f"- {phase} {kind} error: {error[:200]}")
    steady_p99 = _quiet_p99(recorder, events)
    timeline, recovered = _recovery(recorder, events, steady_p99)
    lines += ["### spike and recovery, second by second", ""]
    lines += ["| second | requests | p50 ms | p99 ms |", "|---:|---:|---:|---:|", *timeline]
    restart = events.get("restart_seconds")
    checks = {
        "steady: 0 errors": errors_by_phase["steady"] == 0,
        "restart: every worker replaced, 0 failed requests": args.no_restart
        or (restart is not None and errors_by_phase["steady"] == 0),
        "spike: no error other than deliberate 503s": errors_by_phase["spike"] == 0,
        f"recovery: normal p99 within {RECOVERY_TARGET_SECONDS:g} s": recovered is not None
        and recovered <= RECOVERY_TARGET_SECONDS,
        "writes: none lost, none duplicated": writes.ok,
    }
    lines += [
        "",
        f"SIGHUP in the steady phase: every worker replaced in {restart} s"
        if not args.no_restart
        else "no restart",
        f"recovery: p99 back within {NORMAL_FACTOR:g}x of the steady phase before the restart "
        f"({steady_p99:.0f} ms) "
        f"{'after ' + format(recovered, '.0f') + ' s' if recovered is not None else 'never'}",
        f"writes: {writes.acknowledged} acknowledged saves on {writes.rows} rows, "
        f"{writes.uncertain} without answer; lost {len(writes.lost)}, duplicated "
        f"{len(writes.duplicated)}, unexpected {len(writes.unexpected)}, wrong final value "
        f"{len(writes.wrong_final)}",
        f"load generator: {events.get('generator_cpu_seconds')} s CPU; its own event loop "
        f"woke late by (p99, ms, per phase) {events.get('generator_lag_p99_ms')}",
        "",
    ]
    lines += [f"{'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()]
    summary.update(checks=checks, writes=asdict(writes), recovered_seconds=recovered)
    summary["ok"] = all(checks.values())
    return lines, summary


def _row(kind: str, values: list[float], errors: int, shed: int) -> str:
    return (
        f"| {kind} | {len(values) + errors + shed} | {errors} | {shed} | "
        f"{_ms(percentile(values, 0.5))} | {_ms(percentile(values, 0.99))} | "
        f"{_ms(values[-1] if values else math.nan)} |"
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _quiet_p99(recorder: Recorder, events: dict[str, Any]) -> float:
    """p99 of the steady phase before the restart (all of it when there was none)."""
    until = events.get("restart_sent", math.inf)
    values = sorted(
        latency
        for (phase, _kind), stats in recorder.pages.items()
        if phase == "steady"
        for latency, ended in zip(stats.latencies, stats.ended, strict=True)
        if ended < until
    )
    return percentile(values, 0.99)


def _recovery(
    recorder: Recorder, events: dict[str, Any], steady_p99: float
) -> tuple[list[str], float | None]:
    """Per-second latencies from the spike's start; seconds after the spike's end until every
    later second's p99 stays within NORMAL_FACTOR of the quiet steady phase's."""
    start, end = events["spike_start"], events["spike_end"]
    buckets: dict[int, list[float]] = {}
    for (phase, _kind), stats in recorder.pages.items():
        if phase not in {"spike", "recovery"}:
            continue
        for latency, ended in zip(stats.latencies, stats.ended, strict=True):
            buckets.setdefault(int(ended - start), []).append(latency)
    lines = []
    normal_from: float | None = None
    for second in sorted(buckets):
        values = sorted(buckets[second])
        p99 = percentile(values, 0.99)
        lines.append(f"| {second} | {len(values)} | {_ms(percentile(values, 0.5))} | {_ms(p99)} |")
        is_normal = start + second >= end and p99 <= NORMAL_FACTOR * steady_p99
        if is_normal and normal_from is None:
            normal_from = max(0.0, start + second - end)
        elif not is_normal and start + second >= end:
            normal_from = None
    return lines, normal_from
