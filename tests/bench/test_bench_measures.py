"""The grid benchmark reads wrk's report and computes percentiles correctly."""

from __future__ import annotations

import math

from bench.constant_load import percentile
from bench.wrk import parse_wrk

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
