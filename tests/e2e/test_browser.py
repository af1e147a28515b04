"""Chromium through Playwright: list -> edit -> save, with JavaScript on and off."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, Session
from tests.e2e.test_text_browser import assert_saved_by_grid

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


def test_grid_editing_with_javascript_saves_without_a_reload(
    browser: object, served: str, session: Session
) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        target = "/admin/immunizations/grid?sort=imm_id&page_size=25"
        browser_sign_in(page, served, target)
        status = page.locator(".dd-edit-status")
        assert status.text_content() == "No unsaved changes"
        lot = "PW" + uuid.uuid4().hex[:6].upper()
        first = page.locator("input[name='r1-lot_number']")
        first.fill(lot)
        assert "dd-changed" in (first.locator("xpath=..").get_attribute("class") or "")
        assert status.text_content() == "1 unsaved change"
        # Keyboard: Enter goes down a row, the arrows go back up and across, Tab onwards.
        first.press("Enter")
        assert focused(page) == "r2-lot_number"
        page.keyboard.press("ArrowUp")
        assert focused(page) == "r1-lot_number"
        page.keyboard.press("End")
        page.keyboard.press("ArrowRight")
        assert focused(page) == "r1-verified"
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Tab")
        assert focused(page) == "r1-verified"
        page.keyboard.press("Space")
        assert status.text_content() == "2 unsaved changes"
        page.keyboard.press("Space")  # ticked back: no longer a change
        assert status.text_content() == "1 unsaved change"
        # Leaving with unsaved changes asks first; staying keeps the changes.
        asked: list[str] = []

        def stay(dialog: Any) -> None:
            asked.append(dialog.type)
            dialog.dismiss()

        page.on("dialog", stay)
        page.get_by_role("link", name="Back to the list").click()
        assert asked == ["beforeunload"] and "/grid" in page.url
        page.remove_listener("dialog", stay)
        # A value the edit form would refuse is marked on its cell; nothing is saved.
        staff = page.locator("input[name='r2-staff_id']")
        staff.fill("99999999")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Save changes").click()
        assert posted.value.status == 400
        error = page.locator("td.dd-error .dd-cell-error")
        error.wait_for()
        assert "No Staff member with Staff ID 99999999" in (error.text_content() or "")
        assert lot not in session.client.get("/admin/immunizations/details/2").text
        # Fixed, saved in the background: the page is not reloaded.
        staff.fill(staff.locator("xpath=../input[@type='hidden']").get_attribute("value") or "")
        page.evaluate("window.notReloaded = true")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Save changes").click()
        assert posted.value.status == 200
        page.locator(".dd-edit-message.alert-success").wait_for()
        assert page.evaluate("window.notReloaded") is True
        assert status.text_content() == "No unsaved changes"
        assert page.locator("tr.dd-row-saved").count() == 1
    finally:
        context.close()
    assert_saved_by_grid(session, 2, lot)


def focused(page: Any) -> str:
    """The name of the input that has the keyboard focus."""
    return str(page.evaluate("document.activeElement && document.activeElement.name"))
