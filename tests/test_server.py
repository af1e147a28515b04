"""The server runner's pieces that need no running server: the metrics folder of each start, the
metrics module's reaper, and the serve command's options."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from datadesk.cli import build_parser
from datadesk.errors import ConfigError
from datadesk.observability import metrics
from datadesk.server import metrics_directory, metrics_reaper
from datadesk.settings import Settings


def dead_pid() -> int:
    """The id of a process that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_each_start_gets_a_fresh_folder_and_stale_ones_go(tmp_path: Path) -> None:
    run = tmp_path / "run"
    host = socket.gethostname()
    stale = run / f"metrics-{host}-{dead_pid()}-abc"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"x")
    alive = run / f"metrics-{host}-{os.getppid()}-def"  # another server still running
    alive.mkdir()
    elsewhere = run / f"metrics-othercontainer-{os.getpid()}-ghi"  # same pid, other host
    elsewhere.mkdir()
    with metrics_directory(tmp_path) as folder:
        assert folder.parent == run
        assert folder.name.startswith(f"metrics-{host}-{os.getpid()}-")
        assert list(folder.iterdir()) == []
        assert not stale.exists()
        assert alive.exists() and elsewhere.exists()
    assert not folder.exists()


def test_the_reaper_is_the_metrics_modules() -> None:
    assert metrics_reaper() is metrics.mark_process_dead


def test_workers_and_graceful_timeout_from_options_or_environment() -> None:
    args = build_parser().parse_args(["serve", "--workers", "3", "--graceful-timeout", "5"])
    assert (args.workers, args.graceful_timeout) == (3, 5)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--workers", "0"])
    env = {"DATADESK_WORKERS": "4", "DATADESK_MAX_CONCURRENCY": "32"}
    settings = Settings.from_environ(env)
    assert (settings.workers, settings.graceful_timeout, settings.max_concurrency) == (4, 60, 32)
    assert Settings.from_environ({}).workers is None
    with pytest.raises(ConfigError, match="DATADESK_GRACEFUL_TIMEOUT"):
        Settings.from_environ({"DATADESK_GRACEFUL_TIMEOUT": "soon"})
