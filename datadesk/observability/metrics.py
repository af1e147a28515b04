"""Prometheus metrics of one process, or of all worker processes of a server.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the production server runner sets it to a fresh folder
per start), prometheus-client keeps every worker's values in files there and ``render`` merges
them, so any worker answers /metrics for all; the runner calls ``mark_process_dead(pid)`` when
a worker exits.  Labels are bounded: route templates (never raw paths), methods, status codes,
outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "datadesk_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "datadesk_http_request_duration_seconds",
    "Time from request to the end of the response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
UNHANDLED_ERRORS = Counter(
    "datadesk_unhandled_errors",
    "Requests that ended in an unhandled error (kind: error or database_unavailable).",
    ["kind"],
)
POOL_CHECKED_OUT = Gauge(
    "datadesk_db_pool_checked_out",
    "Database connections in use (summed over live worker processes).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "datadesk_db_pool_size",
    "Configured database pool size (summed over live worker processes).",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "datadesk_db_pool_overflow",
    "Connections open beyond the pool size (summed over live worker processes).",
    multiprocess_mode="livesum",
)
IMPORT_JOBS = Counter(
    "datadesk_import_jobs",
    "Import runs, by mode (preview or commit) and outcome.",
    ["mode", "outcome"],
)
IMPORT_DURATION = Histogram(
    "datadesk_import_job_duration_seconds",
    "Duration of import runs, by mode.",
    ["mode"],
    buckets=JOB_BUCKETS,
)
IMPORT_ROWS = Counter("datadesk_import_rows", "Rows read by import runs, by mode.", ["mode"])
EXPORT_JOBS = Counter(
    "datadesk_export_jobs",
    "Exports and report downloads, by kind and outcome.",
    ["kind", "outcome"],
)
EXPORT_DURATION = Histogram(
    "datadesk_export_job_duration_seconds",
    "Duration of exports and report downloads, by kind.",
    ["kind"],
    buckets=JOB_BUCKETS,
)
LOGIN_FAILURES = Counter(
    "datadesk_login_failures",
    "Refused sign-ins, by reason (invalid, locked, disabled).",
    ["reason"],
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


def record_login_failure(reason: str) -> None:
    """Count a refused sign-in."""
    LOGIN_FAILURES.labels(reason).inc()


def record_import(mode: str, outcome: str, seconds: float, rows: int) -> None:
    """Count one import run (mode: preview or commit; outcome: committed, previewed, ...)."""
    IMPORT_JOBS.labels(mode, outcome).inc()
    IMPORT_DURATION.labels(mode).observe(seconds)
    IMPORT_ROWS.labels(mode).inc(rows)


@contextmanager
def export_observed(kind: str) -> Iterator[None]:
    """Count and time one export (kind: e.g. xlsx, csv, report, audit_csv); failed on raise."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "done"
    finally:
        EXPORT_JOBS.labels(kind, outcome).inc()
        EXPORT_DURATION.labels(kind).observe(time.perf_counter() - started)


def watch_pool(engine: sa.Engine) -> None:
    """Keep the pool gauges current as connections are checked out and returned."""
    pool = engine.pool
    if not hasattr(pool, "checkedout"):
        return

    def update(in_use_change: int) -> None:
        POOL_CHECKED_OUT.set(max(pool.checkedout() + in_use_change, 0))  # type: ignore[attr-defined]
        size = getattr(pool, "size", None)
        POOL_SIZE.set(size() if callable(size) else 0)
        overflow = getattr(pool, "overflow", None)
        POOL_OVERFLOW.set(max(overflow(), 0) if callable(overflow) else 0)

    def on_checkout(*_args: Any) -> None:
        update(0)

    def on_checkin(*_args: Any) -> None:
        update(-1)  # the event fires before the pool counts the connection as returned

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    update(0)


def render(metrics_dir: str = "") -> tuple[bytes, str]:
    """The exposition text of this process, or of every worker when ``metrics_dir`` is set."""
    if metrics_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Forget the live gauges of a worker that exited (called by the server runner)."""
    multiprocess.mark_process_dead(pid, path)
