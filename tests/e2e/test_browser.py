"""Chromium through Playwright: list -> edit -> save, with JavaScript on and off."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed (scripts/system-deps installs it)", pytrace=False)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def browser_sign_in(page: Any, served: str, target: str) -> None:
    """Open a page, get sent to the sign-in form, sign in, and land back on the page."""
    page.goto(f"{served}{target}")
    assert "/admin/login" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served}{target}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_list_edit_save_shows_the_change(browser: object, served: str, javascript: bool) -> None:
    context = browser.new_context(java_script_enabled=javascript)  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        browser_sign_in(page, served, "/admin/staff/list?sort=staff_id")
        assert page.locator("table.dd-grid tbody tr").count() == 50
        page.locator("table.dd-grid tbody tr").first.get_by_role("link", name="Edit").click()
        new_email = f"pw-{uuid.uuid4().hex[:8]}@example.org"
        page.fill("input[name=email]", new_email)
        with page.expect_navigation():
            page.click("input[type=submit][value=Save]")
        assert new_email in page.content()
        page.goto(f"{served}/admin/staff/list?" + f"search={new_email.split('@')[0]}")
        assert page.locator("table.dd-grid tbody tr").count() == 1
    finally:
        context.close()


def test_search_and_filter_forms_without_javascript(browser: object, served: str) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        browser_sign_in(page, served, "/admin/immunizations/list")
        page.select_option("select[name='f.verified']", "1")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply filters").click()
        assert "f.verified=1" in page.url
        with page.expect_navigation():
            page.get_by_role("link", name="Next ›").click()
        assert "page=2" in page.url
    finally:
        context.close()
