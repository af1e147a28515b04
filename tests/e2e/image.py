"""The container's start command, read from the Dockerfile and run directly (no Docker engine
here): the final stage's ENV, CMD and HEALTHCHECK, with only what ``docker run -e`` would set
replaced (loopback address, port, folders, database, secret key)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx2

from bench.servers import worker_pids

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE_VENV_BIN = "/opt/datadesk/bin"  # where the Dockerfile installs datadesk
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmnop"


@dataclass(frozen=True)
class Image:
    """What the final stage of the Dockerfile runs: its environment and commands."""

    env: dict[str, str]
    cmd: list[str]
    healthcheck: list[str]


def logical_lines(text: str) -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def read_image(path: Path = REPO / "Dockerfile") -> Image:
    """The final stage's ENV, CMD (exec form) and HEALTHCHECK CMD (exec form)."""
    stages: list[list[str]] = []
    for line in logical_lines(path.read_text(encoding="utf-8")):
        if line.upper().startswith("FROM "):
            stages.append([])
        elif stages:
            stages[-1].append(line)
    env: dict[str, str] = {}
    cmd: list[str] = []
    healthcheck: list[str] = []
    for line in stages[-1]:
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
        elif keyword.upper() == "CMD":
            cmd = json.loads(rest)
        elif keyword.upper() == "HEALTHCHECK":
            healthcheck = json.loads(rest[rest.index(" CMD ") + len(" CMD ") :])
    return Image(env, cmd, healthcheck)


def image_environment(image: Image, overrides: dict[str, str]) -> dict[str, str]:
    """The process environment the image gives its command, with ``docker run -e`` style
    overrides; the image's virtualenv is this test run's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
    for name, value in image.env.items():
        value = value.replace("$PATH", env.get("PATH", ""))
        env[name] = value.replace(IMAGE_VENV_BIN, str(BIN))
    env.update(overrides)
    return env


@dataclass
class Served:
    """A running image command: its base URL, process and log."""

    base: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    _log: IO[bytes] | None = field(default=None, repr=False)

    def log(self) -> str:
        """What the server wrote so far."""
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """The worker processes of the supervisor."""
        return worker_pids(self.process.pid)

    def stop(self) -> int | None:
        """SIGTERM, then wait (kill after 30 s); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode


def resolve(command: list[str], env: dict[str, str]) -> list[str]:
    """An exec-form command with its program found on the environment's PATH, as Docker does."""
    program = shutil.which(command[0], path=env["PATH"])
    if program is None:
        raise RuntimeError(f"{command[0]} is not on PATH {env['PATH']}")
    return [program, *command[1:]]


def start_image(image: Image, env: dict[str, str], log_path: Path) -> Served:
    """Run the image's CMD with ``env`` and wait until /healthz answers (60 s at most)."""
    command = resolve(image.cmd, env)
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, env=env, cwd=env["DATADESK_VAR_DIR"], stdout=log, stderr=subprocess.STDOUT
    )
    served = Served(f"http://127.0.0.1:{env['DATADESK_PORT']}", process, log_path, env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            served.stop()
            raise RuntimeError(f"{shlex.join(command)} exited: {served.log()[-3000:]}")
        try:
            if httpx2.get(f"{served.base}/healthz", timeout=1).status_code == 200:
                return served
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"{shlex.join(command)} did not answer: {served.log()[-3000:]}")
