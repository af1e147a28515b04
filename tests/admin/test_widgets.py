"""Form widgets chosen from column types, CHECK constraints and ``columns.<c>.widget``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from datadesk.settings import DEMO_CONFIG
from tests.admin.conftest import sign_in


def test_check_constraint_values_become_a_drop_down(client: TestClient) -> None:
    form = client.get("/admin/access_requests/create")
    assert form.status_code == 200
    select = re.search(r'<select[^>]*name="status".*?</select>', form.text, re.S)
    assert select is not None
    assert all(v in select.group(0) for v in ("PENDING", "APPROVED", "REJECTED"))
    listing = client.get("/admin/access_requests/list", params={"f.status": "PENDING"})
    assert listing.status_code == 200
    assert "APPROVED" not in listing.text.split("<tbody>")[1]


def test_small_reference_is_a_drop_down_of_labels(client: TestClient) -> None:
    form = client.get("/admin/staff/create")
    select = re.search(r'<select[^>]*name="dept_id".*?</select>', form.text, re.S)
    assert select is not None
    assert "Internal Medicine" in select.group(0) or "Medicine" in select.group(0)


@pytest.fixture
def configured_client(app_factory: Any, tmp_path: Path) -> Iterator[TestClient]:
    """The demo with widgets overridden in the config, admin signed in."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    staff = data["tables"].setdefault("staff", {})
    staff.setdefault("columns", {})
    staff["columns"]["dept_id"] = {"widget": "lookup"}
    staff["columns"]["email"] = {"widget": "textarea"}
    staff["columns"]["notes"] = {"widget": "text"}
    config = tmp_path / "datadesk.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with TestClient(app_factory(config), follow_redirects=False) as test_client:
        sign_in(test_client, "admin")
        yield test_client


def test_configured_widgets_are_used(configured_client: TestClient) -> None:
    form = configured_client.get("/admin/staff/create").text
    assert re.search(r'<input[^>]*name="dept_id"', form)
    assert not re.search(r'<select[^>]*name="dept_id"', form)
    assert re.search(r'<textarea[^>]*name="email"', form)
    assert re.search(r'<input[^>]*name="notes"', form)
