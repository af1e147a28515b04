"""``datadesk serve`` as a real process: health, the admin, and clean errors over HTTP."""

from __future__ import annotations

import httpx2
import pytest

from tests.e2e.conftest import Session

pytestmark = pytest.mark.e2e


def test_serve_answers_health_and_admin(served: str, session: Session) -> None:
    assert httpx2.get(f"{served}/healthz").text == "ok"
    assert httpx2.get(f"{served}/readyz").json() == {"ready": True}
    assert httpx2.get(f"{served}/admin/immunizations/list").status_code == 302
    page = session.client.get("/admin/immunizations/list")
    assert page.status_code == 200
    assert "Immunizations" in page.text


def test_errors_are_pages_not_tracebacks(session: Session) -> None:
    page = session.client.get("/admin/staff/details/123456789")
    assert page.status_code == 404
    assert "Traceback" not in page.text
    assert "no row with key" in page.text
