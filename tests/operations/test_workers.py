"""Metrics of several worker processes: a real uvicorn with two workers sharing one folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from datadesk.observability.metrics import mark_process_dead
from tests.e2e.conftest import free_port
from tests.operations.test_metrics import sample

pytestmark = pytest.mark.e2e
REQUESTS = 24
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "datadesk.app:create_app"]


def test_two_workers_report_one_sum(small_db: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    config = tmp_path / "datadesk.yaml"
    config.write_text("app:\n  title: Records\n", encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "DATADESK_DATABASE_URL": small_db,
        "DATADESK_CONFIG": str(config),
        "DATADESK_VAR_DIR": str(tmp_path / "var"),
        "DATADESK_SECRET_KEY": "k" * 40,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [*UVICORN, "--workers", "2", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_workers(base, metrics_dir, server, tmp_path / "server.log")
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them
            assert httpx2.get(f"{base}/healthz", timeout=10).status_code == 200
        text = httpx2.get(f"{base}/metrics", timeout=10).text
        labels = {"route": "/healthz", "method": "GET", "status": "200"}
        assert sample(text, "datadesk_http_requests_total", **labels) >= REQUESTS
        assert sample(text, "datadesk_db_pool_size") == 10  # 5 per worker, both live
        pids = _worker_pids(metrics_dir)
        assert len(pids) == 2
        mark_process_dead(pids[0], str(metrics_dir))
        after = httpx2.get(f"{base}/metrics", timeout=10).text
        assert sample(after, "datadesk_db_pool_size") == 5  # the dead worker's gauge is gone
        assert sample(after, "datadesk_http_requests_total", **labels) >= REQUESTS  # counts stay
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _worker_pids(folder: Path) -> list[int]:
    found = {int(m[1]) for p in folder.iterdir() if (m := re.match(r"gauge_livesum_(\d+)", p.name))}
    return sorted(found)


def _wait_for_workers(base: str, folder: Path, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        if len(_worker_pids(folder)) == 2:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f"workers did not start: {log.read_text()[-3000:]}")
