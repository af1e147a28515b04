"""Open-loop constant load: N users, each sending one request every T seconds at fixed times.

Every send time is fixed before the run (user i starts at i*T/N, then every T seconds) and
each latency is measured from that scheduled time to the last byte of the response.  A
server that falls behind therefore shows its queueing delay in full: a user whose previous
page is still loading sends late, and the wait counts (no coordinated omission).  Each user
keeps one keep-alive connection, like a browser tab; connections are opened before the clock
starts.  The client is raw HTTP/1.1 over asyncio streams, so the generator stays cheap.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

REQUEST_TIMEOUT_SECONDS = 10.0
READ_LIMIT = 1 << 20


@dataclass(frozen=True)
class LoadResult:
    """What one constant-load run measured; latencies in milliseconds."""

    scheduled: int
    completed: int
    errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    generator_lag_p99_ms: float  # how late the generator itself sent, when the user was free

    @property
    def rate(self) -> float:
        """Responses per second over the run."""
        return self.completed / self.seconds if self.seconds else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when empty)."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


class _Connection:
    """One keep-alive HTTP/1.1 connection that reconnects after a failure."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=READ_LIMIT
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self) -> int:
        """Send the request and read the whole response; its status code."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.read()
            self.close()
        if headers.get("connection") == "close":
            self.close()
        return status


def build_request(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    """The raw HTTP/1.1 GET every user sends, with the extra headers (e.g. a session cookie)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "User-Agent: datadesk-bench",
        "Accept: text/html",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(f"line break in request header {line[:40]!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _run(
    url: str, users: int, interval: float, seconds: float, headers: Mapping[str, str] | None
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = build_request(url, headers)
    connections = [_Connection(host, port, request) for _ in range(users)]
    await asyncio.gather(*(c.open() for c in connections))
    # perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
    clock = time.perf_counter
    start = clock() + 0.5
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    scheduled = 0

    async def user(index: int, connection: _Connection) -> None:
        nonlocal errors, scheduled
        due = start + index * interval / users
        free_at = 0.0
        while due < start + seconds:
            scheduled += 1
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = clock()
            if free_at <= due:
                lags.append(sent - due)
            try:
                status = await asyncio.wait_for(connection.get(), REQUEST_TIMEOUT_SECONDS)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                ValueError,
                IndexError,
            ):
                connection.close()
                errors += 1
            else:
                if 200 <= status < 300:
                    latencies.append((clock() - due) * 1000)
                else:
                    errors += 1
            free_at = clock()
            due += interval

    try:
        await asyncio.wait_for(
            asyncio.gather(*(user(i, c) for i, c in enumerate(connections))),
            seconds + REQUEST_TIMEOUT_SECONDS + 30,
        )
    finally:
        for c in connections:
            c.close()
    elapsed = clock() - start
    latencies.sort()
    lags.sort()
    return LoadResult(
        scheduled=scheduled,
        completed=len(latencies),
        errors=errors,
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50),
        p90_ms=percentile(latencies, 0.90),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else math.nan,
        generator_lag_p99_ms=percentile(lags, 0.99) * 1000,
    )


def run_constant_load(
    url: str,
    *,
    users: int = 80,
    interval: float = 2.0,
    seconds: float = 20.0,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """Run the open-loop load against one URL; bounded to seconds + 40 s at most.

    ``headers`` go with every request (e.g. ``{"Cookie": "session=..."}``); only 2xx answers
    count as completed, so a redirect to a sign-in page counts as an error."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(url, users, interval, seconds, headers))
