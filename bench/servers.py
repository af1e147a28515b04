"""The three servers of the grid benchmark, each one uvicorn worker in its own process.

datadesk's admin requires signing in: its database is upgraded first (``datadesk db upgrade``,
which creates user admin with DATADESK_ADMIN_PASSWORD), the benchmark signs in through the
login form, and every request to the measured page carries the session cookie."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from bench import handwritten, plain_sqladmin

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DATADESK_LIST_PATH = "/admin/immunizations/list"
DATADESK_DETAIL_PATTERN = r'href="/admin/immunizations/details/([^"]+)"'  # from the View link
DATADESK_LOGIN_PATH = "/admin/login"
DATADESK_SESSION_COOKIE = "datadesk_session"
# user admin is created by `datadesk db upgrade` with this password (DATADESK_ADMIN_PASSWORD)
BENCH_ADMIN_USER = "admin"
BENCH_ADMIN_PASSWORD = "Bench-Secret-passw0rd"
PAGE_ROWS = 50
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


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
    ready_path: str | None = None  # answers 200 once the server is up (default: path)
    prepare: list[list[str]] = field(default_factory=list)  # run once before the server starts
    credentials: tuple[str, str] | None = None  # user name and password to sign in with


@dataclass
class Server:
    """A running server process (started by ``start``, stopped by ``stop``)."""

    spec: ServerSpec
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    cookie: str | None = None  # "name=value" of the signed-in session, sent with every request
    page_bytes: int = 0  # size of the page (body) at the last check
    _log: object = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Absolute URL of the measured page."""
        return self.base + self.spec.path

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request to the measured page carries (the session cookie, if any)."""
        return {"Cookie": self.cookie} if self.cookie else {}

    def start(self, timeout: float = 90.0) -> None:
        """Run the preparation commands, start the process and wait until it answers 200."""
        for command in self.spec.prepare:
            self._prepare(command)
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
        ready = self.base + (self.spec.ready_path or self.spec.path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.spec.name} exited at start:\n{self.log_tail()}")
            try:
                if httpx2.get(ready, timeout=5, follow_redirects=False).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise BenchError(
            f"{self.spec.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def _environment(self) -> dict[str, str]:
        # The caller's DATADESK_* settings (a config file, debug) must not change what runs.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
        return {**inherited, **self.spec.env}

    def _prepare(self, command: list[str]) -> None:
        done = subprocess.run(
            command,
            env=self._environment(),
            cwd=REPO,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(
                f"{self.spec.name}: {' '.join(command[-2:])} failed ({done.returncode}):\n"
                f"{(done.stdout + done.stderr)[-3000:]}"
            )

    def sign_in(self) -> None:
        """Sign in through the server's own login form (a no-op for servers without
        credentials) and keep the session cookie for every later request."""
        if self.spec.credentials is None:
            return
        username, password = self.spec.credentials
        try:
            with httpx2.Client(base_url=self.base, follow_redirects=False, timeout=30) as client:
                form = client.get(DATADESK_LOGIN_PATH)
                match = CSRF_RE.search(form.text)
                if form.status_code != 200 or match is None:
                    raise BenchError(
                        f"{self.spec.name}: {DATADESK_LOGIN_PATH} answered {form.status_code} "
                        "without a csrf_token field"
                    )
                answer = client.post(
                    DATADESK_LOGIN_PATH,
                    data={
                        "username": username,
                        "password": password,
                        "csrf_token": match.group(1),
                        "next": "/admin/",
                    },
                )
                value = client.cookies.get(DATADESK_SESSION_COOKIE)
        except httpx2.HTTPError as exc:
            raise BenchError(f"{self.spec.name}: sign-in failed: {exc!r}") from None
        if answer.status_code != 303 or not value:
            raise BenchError(
                f"{self.spec.name}: sign-in as {username} answered {answer.status_code} "
                f"(expected 303 and a {DATADESK_SESSION_COOKIE} cookie):\n{answer.text[:500]}"
            )
        self.cookie = f"{DATADESK_SESSION_COOKIE}={value}"

    def fetch_page(self) -> str:
        """GET the measured page once with the session cookie, without following redirects;
        its HTML (BenchError unless 200: a redirect means the request was not signed in)."""
        try:
            response = httpx2.get(
                self.url, headers=self.headers, timeout=30, follow_redirects=False
            )
        except httpx2.HTTPError as exc:
            raise BenchError(f"{self.spec.name}: {self.url} failed: {exc!r}") from None
        if response.is_redirect:
            raise BenchError(
                f"{self.spec.name}: {self.url} answered {response.status_code} to "
                f"{response.headers.get('location')!r} instead of the page "
                f"({'with' if self.cookie else 'without'} a session cookie): not signed in"
            )
        if response.status_code != 200:
            raise BenchError(f"{self.spec.name}: {self.url} answered {response.status_code}")
        self.page_bytes = len(response.content)
        return response.text

    def fetch_keys(self) -> list[str]:
        """GET the page once; the keys of its rows, in order (BenchError unless it is the
        grid: 200 with PAGE_ROWS rows)."""
        html = self.fetch_page()
        try:
            keys = row_keys(html, self.spec.detail_pattern)
        except ValueError as exc:
            raise BenchError(f"{self.spec.name} at {self.url}: {exc}") from None
        if len(keys) != PAGE_ROWS:
            raise BenchError(
                f"{self.spec.name} at {self.url}: {len(keys)} rows, expected {PAGE_ROWS}"
            )
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
        "DATADESK_ADMIN_PASSWORD": BENCH_ADMIN_PASSWORD,
    }
    servers.append(
        Server(
            ServerSpec(
                "datadesk",
                [str(BIN / "datadesk"), "serve"],
                datadesk_env,
                DATADESK_LIST_PATH,
                DATADESK_DETAIL_PATTERN,
                ready_path="/readyz",
                prepare=[[str(BIN / "datadesk"), "db", "upgrade"]],
                credentials=(BENCH_ADMIN_USER, BENCH_ADMIN_PASSWORD),
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


def worker_pids(supervisor_pid: int) -> set[int]:
    """The worker processes of a ``datadesk serve --workers N`` supervisor (its spawned
    children, not multiprocessing's helper process)."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children")
    pids = set()
    for pid in children.read_text().split():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            pids.add(int(pid))
    return pids
