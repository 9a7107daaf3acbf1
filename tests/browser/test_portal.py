"""The portal in a real browser: sign in, dashboard, a list page; screenshots for the docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from bss.setup.seed import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stylesheet_applied(page: Any) -> bool:
    """Bootstrap and bss.css loaded: the body font is no longer the browser's serif default."""
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    sheets = page.evaluate("document.styleSheets.length")
    return sheets >= 3 and "serif" not in font.replace("sans-serif", "")


def test_admin_signs_in_and_opens_dashboard_and_accounts(
    live_server: Any, page: Any, screenshot_dir: Path
) -> None:
    # given
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 -- discard output
    # when
    page.goto(f"{live_server.url}/auth/login/")
    # then
    assert page.title() == "Sign in · Cloudwave Services"
    assert stylesheet_applied(page)
    page.screenshot(path=str(screenshot_dir / "login.png"))

    page.fill("#id_login", "admin@example.com")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Good to see you, Alex"
    assert stylesheet_applied(page)
    page.screenshot(path=str(screenshot_dir / "dashboard.png"))

    page.goto(f"{live_server.url}/accounts/")
    assert page.locator("h1").inner_text() == "Accounts"
    rows = page.locator("table tbody tr")
    assert rows.count() == 12
    assert page.locator("table tbody").get_by_text("Northwind Traders").is_visible()
    assert page.get_by_label("Status").is_visible()
    assert stylesheet_applied(page)
    page.screenshot(path=str(screenshot_dir / "accounts-list.png"))


def test_anonymous_visit_to_a_list_lands_on_sign_in(live_server: Any, page: Any) -> None:
    # when
    page.goto(f"{live_server.url}/accounts/")
    # then
    assert re.fullmatch(rf"{re.escape(live_server.url)}/auth/login/\?next=/accounts/", page.url)
    assert page.locator("h1").inner_text() == "Sign in"
