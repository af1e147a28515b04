"""The three servers of the grid benchmark, each one uvicorn worker in its own process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import handwritten, plain_sqladmin

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DATADESK_LIST_PATH = "/admin/immunizations/list"
DATADESK_DETAIL_PATTERN = r'href="/admin/immunizations/details/([^"]+)"'  # from the View link


class BenchError(Exception):
    """The benchmark itself broke: a server did not start or answered wrongly."""


def row_keys(html: str, detail_pattern: str) -> list[str]:
    """The keys of the rows of a page's table body, in order, from each row's details link;
    ValueError when there are no rows or a row has no such link."""
    start, end = html.find("<tbody"), html.find("</tbody>")
    body = html[start:end] if 0 <= start < end else ""
    rows = body.count("<tr")
    if rows == 0:
        raise ValueError("no table rows")
    keys = list(dict.fromkeys(re.findall(detail_pattern, body)))
    if len(keys) != rows:
        raise ValueError(f"{rows} rows but {len(keys)} row links")
    return keys


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerSpec:
    """How to start one server and which page of it to measure."""

    name: str
    command: list[str]
    env: dict[str, str]
    path: str
    detail_pattern: str  # regex with one group: the key of each row's details link


@dataclass
class Server:
    """A running server process (started by ``start``, stopped by ``stop``)."""

    spec: ServerSpec
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Absolute URL of the measured page."""
        return f"http://127.0.0.1:{self.port}{self.spec.path}"

    def start(self, timeout: float = 90.0) -> None:
        """Start the process and wait until the page answers 200."""
        log = self.log_path.open("wb")
        self._log = log
        self.process = subprocess.Popen(
            self.spec.command,
            env=self._environment(),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.spec.name} exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise BenchError(
            f"{self.spec.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def _environment(self) -> dict[str, str]:
        # The caller's DATADESK_* settings (a config file, debug) must not change what runs.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
        return {**inherited, **self.spec.env}

    def fetch_keys(self) -> list[str]:
        """GET the page once; the keys of its rows, in order (BenchError unless 200)."""
        with urllib.request.urlopen(self.url, timeout=30) as response:
            if response.status != 200:
                raise BenchError(f"{self.spec.name}: {self.url} answered {response.status}")
            html = response.read().decode("utf-8")
        try:
            return row_keys(html, self.spec.detail_pattern)
        except ValueError as exc:
            raise BenchError(f"{self.spec.name} at {self.url}: {exc}") from None

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the process (kill it if it does not stop within 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None


def uvicorn_command(factory: str, port: int) -> list[str]:
    """One uvicorn worker serving an app factory on 127.0.0.1 (access log off, as datadesk)."""
    return [
        str(BIN / "python"),
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def grid_servers(database_url: str, var_dir: Path) -> list[Server]:
    """datadesk, plain sqladmin and the hand-written page, each on its own free port."""
    servers = []
    port = free_port()
    datadesk_env = {
        "DATADESK_DATABASE_URL": database_url,
        "DATADESK_VAR_DIR": str(var_dir),
        "DATADESK_PORT": str(port),
    }
    servers.append(
        Server(
            ServerSpec(
                "datadesk",
                [str(BIN / "datadesk"), "serve"],
                datadesk_env,
                DATADESK_LIST_PATH,
                DATADESK_DETAIL_PATTERN,
            ),
            port,
            var_dir / "datadesk.log",
        )
    )
    for name, module in (("plain sqladmin", plain_sqladmin), ("hand-written", handwritten)):
        port = free_port()
        short = module.__name__.rsplit(".", 1)[1]
        servers.append(
            Server(
                ServerSpec(
                    name,
                    uvicorn_command(f"{module.__name__}:create_app", port),
                    {"BENCH_DATABASE_URL": database_url, "PYTHONPATH": str(REPO)},
                    module.LIST_PATH,
                    module.DETAIL_PATTERN,
                ),
                port,
                var_dir / f"{short}.log",
            )
        )
    return servers
