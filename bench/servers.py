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


class BenchError(Exception):
    """The benchmark itself broke: a server did not start or answered wrongly."""


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
            self.spec.command, env={**os.environ, **self.spec.env}, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
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
        raise BenchError(f"{self.spec.name} did not answer within {timeout:.0f} s:\n"
                         f"{self.log_tail()}")

    def fetch_keys(self) -> list[str]:
        """GET the page once; the keys of its rows, in order (BenchError unless 200)."""
        with urllib.request.urlopen(self.url, timeout=30) as response:
            if response.status != 200:
                raise BenchError(f"{self.spec.name}: {self.url} answered {response.status}")
            html = response.read().decode("utf-8")
        body = html[html.find("<tbody"):html.find("</tbody>")]
        if body.count("<tr") == 0:
            raise BenchError(f"{self.spec.name}: no table rows at {self.url}")
        keys = list(dict.fromkeys(re.findall(self.spec.detail_pattern, body)))
        if len(keys) != body.count("<tr"):
            raise BenchError(f"{self.spec.name}: {body.count('<tr')} rows but "
                             f"{len(keys)} row links at {self.url}")
        return keys

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
    return [str(BIN / "python"), "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]


def grid_servers(database_url: str, var_dir: Path) -> list[Server]:
    """datadesk, plain sqladmin and the hand-written page, each on its own free port."""
    servers = []
    port = free_port()
    datadesk_env = {"DATADESK_DATABASE_URL": database_url, "DATADESK_VAR_DIR": str(var_dir),
                    "DATADESK_PORT": str(port)}
    servers.append(Server(ServerSpec(
        "datadesk", [str(BIN / "datadesk"), "serve"], datadesk_env,
        "/admin/immunizations/list", r'href="/admin/immunizations/details/([^"]+)"',
    ), port, var_dir / "datadesk.log"))
    for name, module, path, pattern in (
        ("plain sqladmin", "plain_sqladmin", plain_sqladmin.LIST_PATH,
         r'/admin/immunization/details/([^"]+)"'),
        ("hand-written", "handwritten", handwritten.LIST_PATH,
         r'href="/admin/immunizations/details/([^"]+)"'),
    ):
        port = free_port()
        servers.append(Server(ServerSpec(
            name, uvicorn_command(f"bench.{module}:create_app", port),
            {"BENCH_DATABASE_URL": database_url, "PYTHONPATH": str(REPO)}, path, pattern,
        ), port, var_dir / f"{module}.log"))
    return servers
