"""The HTTP server: one process for development, or N worker processes for production.

``datadesk serve --workers N`` runs uvicorn's multiprocess supervisor: the parent binds the
socket once and starts N worker processes (each a fresh interpreter, so each imports the code
installed *now*) that accept on it. SIGHUP replaces the workers one at a time, each replacement
serving before its predecessor is retired and drained: a new version or a changed
``datadesk.yaml`` is taken up without a failed request. SIGTERM stops accepting at once and
lets requests in flight finish (up to the graceful timeout).

Without ``--workers`` it is one process serving the app directly, as ``make run`` does.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from datadesk.observability.logs import configure_logging
from datadesk.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

WORKER_FACTORY = "datadesk.server:worker_app"
METRICS_MODULE = "datadesk.observability.metrics"
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PREFIX = "metrics-"
# A replacement worker must answer within this many seconds during a restart, or the restart
# is abandoned and the old workers keep serving; reflection comes from the on-disk cache.
WORKER_START_SECONDS = 30
# How long a draining worker keeps an idle connection open for a request already on its way.
DRAIN_IDLE_SECONDS = 1.0
logger = logging.getLogger("datadesk.server")


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve, from the command line over the settings."""

    host: str
    port: int
    workers: int | None  # None: one process, no supervisor
    graceful_timeout: int


def worker_app() -> Starlette:
    """The app one worker process serves: settings from the environment (the supervisor's
    environment, inherited), the database schema checked before the first request."""
    from datadesk.app import create_app
    from datadesk.models.schema_version import require_current_schema
    from datadesk.runtime import open_runtime

    runtime = open_runtime(Settings.from_environ())
    require_current_schema(runtime.engine, runtime.config.app_tables)
    return create_app(runtime=runtime)


def serve_single(app: Starlette, options: ServeOptions) -> None:
    """Serve an already built app in this process until SIGINT/SIGTERM."""
    uvicorn.run(app, **_uvicorn_options(options))


def serve_workers(settings: Settings, options: ServeOptions) -> None:
    """Run the supervisor with ``options.workers`` worker processes until SIGINT/SIGTERM."""
    assert options.workers is not None and options.workers >= 1
    with metrics_directory(settings.var_dir) as folder:
        os.environ[METRICS_ENV] = str(folder)
        config = uvicorn.Config(
            WORKER_FACTORY,
            factory=True,
            workers=options.workers,
            timeout_worker_healthcheck=WORKER_START_SECONDS,
            **_uvicorn_options(options),
        )
        # uvicorn.Config installed its own log format; the supervisor's lines (workers started,
        # restarted, stopped) go out in datadesk's, like the workers' own.
        configure_logging(settings.log_format, settings.log_level)
        sock = config.bind_socket()
        Supervisor(config, [sock], on_worker_exit=metrics_reaper()).run()


def _uvicorn_options(options: ServeOptions) -> dict[str, Any]:
    return {
        "host": options.host,
        "port": options.port,
        "timeout_graceful_shutdown": options.graceful_timeout,
        # Forwarded headers are honoured by the session gate, from auth.trusted_proxies only;
        # uvicorn's own handling would trust 127.0.0.1 whatever the configuration says.
        "proxy_headers": False,
        "http": DrainingHttpProtocol,
        "server_header": False,
        "access_log": False,
        "log_level": "info",
    }


class DrainingHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, except that a draining server does not cut connections
    that have no request under way at once.

    uvicorn closes them immediately; a request the client sent a moment before (on a kept-alive
    connection, or on a connection accepted but not yet read) then meets a reset and fails. Here
    such a connection stays open for DRAIN_IDLE_SECONDS: a request that arrives is answered
    with ``Connection: close``, so the client's next request opens a connection to a worker
    that is staying."""

    draining = False

    def shutdown(self) -> None:
        """Start draining this connection (called by the server on shutdown)."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            return
        self.draining = True
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
        self.timeout_keep_alive_task = self.loop.call_later(
            DRAIN_IDLE_SECONDS, self.timeout_keep_alive_handler
        )

    def on_headers_complete(self) -> None:
        """Answer a request that arrives while draining, then close the connection."""
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor that reports every worker process that is gone, and that
    closes its listening socket as soon as it is told to stop."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        *,
        on_worker_exit: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(config, sockets)
        self.on_worker_exit = on_worker_exit

    def _reporting(self, action: Callable[[], None]) -> None:
        """Run a supervisor step; report the workers it ended or found dead."""
        before = {p.pid for p in self.processes if p.pid is not None}
        action()
        alive = {p.pid for p in self.processes if p.pid is not None and p.exitcode is None}
        if self.on_worker_exit is not None:
            for pid in sorted(before - alive):
                self.on_worker_exit(pid)

    def restart_all(self) -> None:
        """Replace the workers one at a time (SIGHUP)."""
        self._reporting(super().restart_all)

    def keep_subprocess_alive(self) -> None:
        """Replace workers that died or hang."""
        self._reporting(super().keep_subprocess_alive)

    def handle_ttou(self) -> None:
        """One worker fewer (SIGTTOU)."""
        self._reporting(super().handle_ttou)

    def terminate_all(self) -> None:
        """Stop accepting, then ask every worker to finish its requests and exit."""
        # The workers close their copies of the socket when they start draining; closing ours
        # too means new connections are refused at once (a proxy then tries another node)
        # instead of waiting in the backlog of a server that is going away.
        for sock in self.sockets:
            sock.close()
        super().terminate_all()

    def join_all(self) -> None:
        """Wait for every worker to exit."""
        self._reporting(super().join_all)


def metrics_reaper() -> Callable[[int], None] | None:
    """``mark_process_dead`` of datadesk's metrics module, when the installed version has one
    (prometheus-client then drops the live gauges of the exited worker)."""
    if importlib.util.find_spec(METRICS_MODULE) is None:
        return None
    module = importlib.import_module(METRICS_MODULE)
    reaper: Callable[[int], None] | None = getattr(module, "mark_process_dead", None)
    return reaper


@contextlib.contextmanager
def metrics_directory(var_dir: Path) -> Iterator[Path]:
    """A fresh empty folder for this server start's per-process metric files (removed after);
    folders this host's servers left behind when they stopped without cleaning up go first.

    Folders are named after the host and the supervisor's process id: containers sharing one
    volume each run as process 1, and must not take each other's folder for a stale one."""
    run_dir = var_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    mine = f"{METRICS_PREFIX}{socket.gethostname()}-"
    for stale in run_dir.glob(f"{mine}*"):
        owner = stale.name[len(mine) :].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or not _is_running(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{mine}{os.getpid()}-", dir=run_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
