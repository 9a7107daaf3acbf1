"""The portal in a real browser: sign in, dashboard, a list page; screenshots for the docs."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Account
from bss.setup.seed import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STYLES_LOADED = """() => {
    const sheets = Array.from(document.styleSheets);
    return sheets.length >= 3
        && sheets.every((sheet) => sheet.cssRules.length > 0)
        && document.fonts.check('16px bootstrap-icons');
}"""


def assert_styled(page: Any) -> None:
    """Bootstrap, its icon font and bss.css were served and applied."""
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")
    assert page.evaluate(STYLES_LOADED) is True


def test_admin_signs_in_and_opens_dashboard_and_accounts(
    live_server: Any, page: Any, screenshot_dir: Path
) -> None:
    # given
    call_command("seed_demo", stdout=io.StringIO())
    visible_rows = min(Account.objects.count(), settings.LIST_PAGE_SIZE)

    # when
    page.goto(f"{live_server.url}/auth/login/")
    # then
    assert page.title() == "Sign in · Cloudwave Services"
    assert_styled(page)
    page.screenshot(path=str(screenshot_dir / "login.png"))

    # when
    page.fill("#id_login", "admin@example.com")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    # then
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("alert").inner_text() == "Successfully signed in as Alex Admin."
    assert page.locator("h1").inner_text() == "Good to see you, Alex"
    page.reload()
    assert page.get_by_role("alert").count() == 0
    assert_styled(page)
    page.screenshot(path=str(screenshot_dir / "dashboard.png"))

    # when
    page.get_by_role("button", name="Office").click()
    page.get_by_role("link", name="Accounts").first.click()
    # then
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.locator("h1").inner_text() == "Accounts"
    assert page.locator("table tbody tr").count() == visible_rows
    assert page.locator("table tbody").get_by_text("Northwind Traders").is_visible()
    assert page.get_by_label("Status").is_visible()
    assert_styled(page)
    page.screenshot(path=str(screenshot_dir / "accounts-list.png"))


def test_anonymous_visit_to_a_list_lands_on_sign_in(live_server: Any, page: Any) -> None:
    # when
    page.goto(f"{live_server.url}/accounts/")
    # then
    assert re.fullmatch(rf"{re.escape(live_server.url)}/auth/login/\?next=/accounts/", page.url)
    assert page.locator("h1").inner_text() == "Sign in"
