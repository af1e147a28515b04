"""The grid benchmark reads wrk's report, computes percentiles correctly and sends its headers."""

from __future__ import annotations

import math

import pytest

from bench.constant_load import build_request, percentile
from bench.wrk import parse_wrk, wrk_command

WRK_REPORT = """\
Running 15s test @ http://127.0.0.1:8000/admin/immunizations/list
  2 threads and 80 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   285.10ms   80.20ms   1.42s    88.00%
    Req/Sec   148.20     40.10   250.00     70.00%
  Latency Distribution
     50%  277.10ms
     75%  300.00ms
     90%  350.50ms
     99%    1.42s
  4430 requests in 15.03s, 150.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    294.75
Transfer/sec:      9.98MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    result = parse_wrk(WRK_REPORT)
    assert result.requests == 4430
    assert result.seconds == 15.03
    assert result.requests_per_second == 294.75
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (277.1, 350.5, 1420.0)
    assert (result.non_2xx, result.socket_errors, result.errors) == (4, 3, 7)
    assert result.bytes_read == 150.01 * 2**20
    assert result.bytes_per_request == pytest.approx(150.01 * 2**20 / 4430)


def test_parse_wrk_reads_small_transfers() -> None:
    small = WRK_REPORT.replace("150.01MB read", "512.00KB read")
    assert parse_wrk(small).bytes_read == 512 * 1024


def test_parse_wrk_without_error_lines_counts_no_errors() -> None:
    clean = "\n".join(
        line for line in WRK_REPORT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    assert parse_wrk(clean).errors == 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))


def test_wrk_sends_each_header_with_every_request() -> None:
    command = wrk_command(
        "http://127.0.0.1:8000/admin/x/list",
        threads=2,
        connections=80,
        seconds=15,
        headers={"Cookie": "datadesk_session=abc.def"},
    )
    assert command[0] == "wrk" and command[-1] == "http://127.0.0.1:8000/admin/x/list"
    assert command[command.index("-H") + 1] == "Cookie: datadesk_session=abc.def"
    assert "-H" not in wrk_command("http://127.0.0.1:1/", threads=1, connections=1, seconds=1)


def test_constant_load_request_carries_the_headers() -> None:
    request = build_request(
        "http://127.0.0.1:8000/admin/x/list?page=2", {"Cookie": "datadesk_session=abc"}
    )
    head = request.decode("latin-1")
    assert head.startswith("GET /admin/x/list?page=2 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert "\r\nCookie: datadesk_session=abc\r\n" in head
    assert head.endswith("\r\n\r\n") and head.count("\r\n\r\n") == 1
    assert "Cookie" not in build_request("http://127.0.0.1:8000/").decode()
    with pytest.raises(ValueError):
        build_request("http://127.0.0.1:8000/", {"Cookie": "a\r\nX-Evil: 1"})
