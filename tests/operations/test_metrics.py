"""/metrics through the real app: who may read it, and what it counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from tests.admin.conftest import SignedInClient


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_for_loopback_or_the_token_only(make_app: Callable[..., Any]) -> None:
    app = make_app(metrics_token="s3cret-token-for-scraper")
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 200
        forwarded = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 403  # relayed by a proxy nobody configured
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics").status_code == 403
        wrong = remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = remote.get("/metrics", headers={"Authorization": "Bearer s3cret-token-for-scraper"})
        assert right.status_code == 200 and "datadesk_http_requests_total" in right.text


def test_metrics_count_routes_logins_and_the_pool(
    make_app: Callable[..., Any], signed_in: Callable[..., SignedInClient]
) -> None:
    app = make_app()
    with TestClient(app, client=("127.0.0.1", 40000)) as scraper:
        before = scraper.get("/metrics").text
        client = signed_in(app, client=("127.0.0.1", 40001))
        for _ in range(3):
            assert client.get("/admin/things/list").status_code == 200
        assert client.get("/admin/things/details/1").status_code == 200
        refused = TestClient(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', refused.get("/admin/login").text)
        assert token is not None
        bad = refused.post(
            "/admin/login",
            data={"username": "admin", "password": "wrong-password!", "csrf_token": token[1]},
        )
        assert bad.status_code == 401
        after = scraper.get("/metrics").text
    route = "/admin/{identity}/list"
    labels = {"route": route, "method": "GET", "status": "200"}
    counted = sample(after, "datadesk_http_requests_total", **labels)
    assert counted - sample(before, "datadesk_http_requests_total", **labels) == 3
    assert sample(after, "datadesk_http_request_duration_seconds_count", route=route) >= 3
    assert "/admin/things/list" not in after  # templates, never raw paths
    failures = sample(after, "datadesk_login_failures_total", reason="invalid")
    assert failures - sample(before, "datadesk_login_failures_total", reason="invalid") == 1
    assert sample(after, "datadesk_db_pool_size") == 5
    assert "datadesk_db_pool_checked_out" in after


def test_metrics_count_exports_by_format_and_outcome(
    make_app: Callable[..., Any], signed_in: Callable[..., SignedInClient]
) -> None:
    app = make_app()
    with TestClient(app, client=("127.0.0.1", 40000)) as scraper:
        before = scraper.get("/metrics").text
        client = signed_in(app, client=("127.0.0.1", 40001))
        for file_format in ("xlsx", "csv", "csv"):
            response = client.get("/admin/things/export", params={"format": file_format})
            assert response.status_code == 200, response.text[:200]
        after = scraper.get("/metrics").text
    for kind, expected in (("xlsx", 1), ("csv", 2)):
        labels = {"kind": kind, "outcome": "done"}
        done = sample(after, "datadesk_export_jobs_total", **labels)
        assert done - sample(before, "datadesk_export_jobs_total", **labels) == expected
    assert sample(after, "datadesk_export_job_duration_seconds_count", kind="csv") >= 2
