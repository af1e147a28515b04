"""Closed-loop load with wrk: run it and parse requests/s, percentiles and errors."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_BYTES = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    bytes_read: float  # as wrk reports it (two decimals in its unit)
    output: str

    @property
    def errors(self) -> int:
        """Failed requests: HTTP 4xx/5xx plus connect, read, write and timeout errors.

        wrk counts redirects (3xx) as successes: check ``bytes_per_request`` against the page."""
        return self.non_2xx + self.socket_errors

    @property
    def bytes_per_request(self) -> float:
        """Mean bytes read per response (headers included)."""
        return self.bytes_read / self.requests if self.requests else 0.0


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's ``--latency`` report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(
        r"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read", output
    )
    if rps is None or total is None:
        raise ValueError(f"unreadable wrk output:\n{output}")
    percentiles = {
        int(m.group(1)): _duration_ms(m.group(2))
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE)
    }
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_duration_ms(total.group(2) + total.group(3)) / 1000,
        requests_per_second=float(rps.group(1)),
        p50_ms=percentiles.get(50, float("nan")),
        p90_ms=percentiles.get(90, float("nan")),
        p99_ms=percentiles.get(99, float("nan")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in socket.groups()) if socket else 0,
        bytes_read=float(total.group(4)) * _BYTES[total.group(5)],
        output=output,
    )


def wrk_command(
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: float,
    timeout_seconds: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> list[str]:
    """The wrk command line; each header is sent with every request (``-H "Name: value"``)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={timeout_seconds:g}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


def run_wrk(
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: float,
    timeout_seconds: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> WrkResult:
    """Run wrk against one URL for a bounded time and parse its report.

    The per-request timeout is long so that a slow server is measured as slow (high latency,
    few requests/s) rather than reported as failing."""
    command = wrk_command(
        url,
        threads=threads,
        connections=connections,
        seconds=seconds,
        timeout_seconds=timeout_seconds,
        headers=headers,
    )
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + timeout_seconds + 30
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)
