"""The catalogue in a real browser: a product with two plans in two currencies, then a price list."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bss.setup.models import Currency
from catalogue import services
from catalogue.models import PriceListItem, Product
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def catalogue_admin() -> Any:
    for code, name in [("EUR", "Euro"), ("USD", "US dollar")]:
        Currency.objects.get_or_create(code=code, defaults={"name": name, "is_active": True})
    return UserFactory(
        email="catalogue@test.example", first_name="Cat", is_superuser=True, is_staff=True
    )


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def add_plan(page: Any, *, cycle: str, commitment: str, eur: str, usd: str) -> None:
    page.get_by_role("link", name="Add billing plan").click()
    page.select_option("#id_billing_cycle", cycle)
    page.select_option("#id_commitment_months", commitment)
    page.select_option("#id_charge_type", "recurring_prepaid")
    page.fill("#id_price_EUR", eur)
    page.fill("#id_price_USD", usd)
    page.get_by_role("button", name="Save").click()


def test_create_a_product_with_two_plans_and_see_it_in_a_price_list(
    live_server: Any, page: Any, catalogue_admin: Any, screenshot_dir: Path
) -> None:
    # given
    partners = services.price_list_create(
        actor=catalogue_admin, name="Partners EUR", currency="EUR"
    )
    sign_in(page, live_server, catalogue_admin.email)

    # when: the product
    page.goto(f"{live_server.url}/catalogue/new/")
    page.select_option("#id_kind", "primary")
    page.fill("#id_code", "DESK-1")
    page.fill("#id_name", "Cloud Desk")
    page.fill("#id_unit_of_measure", "seat")
    page.get_by_role("button", name="Save").click()
    product = Product.objects.get(code="DESK-1")
    page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")
    # when: two billing plans, each priced in EUR and USD
    add_plan(page, cycle="monthly", commitment="0", eur="9.90", usd="10.90")
    page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")
    add_plan(page, cycle="annual", commitment="12", eur="99.00", usd="109.00")
    page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")

    # then: the detail page shows both plans in both currencies
    plans = page.locator("#plans")
    assert plans.locator("thead th").all_inner_texts()[-2:] == ["EUR", "USD"]
    rows = plans.locator("tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").first.inner_text() == "Monthly"
    assert rows.nth(0).locator("td").nth(3).inner_text() == "9.90"
    assert rows.nth(1).locator("td").first.inner_text() == "Annual · 1 year"
    assert rows.nth(1).locator("td").nth(4).inner_text() == "109.00"
    page.screenshot(path=str(screenshot_dir / "catalogue-product.png"), full_page=True)

    # when: the annual plan joins the EUR price list at 10 % off
    page.goto(f"{live_server.url}{partners.get_absolute_url()}")
    page.get_by_role("link", name="Add product").click()
    page.select_option("#id_plan", label="Cloud Desk (DESK-1) · Annual · 1 year")
    page.select_option("#id_method", "percent")
    page.fill("#id_percent", "-10")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}{partners.get_absolute_url()}")

    # then
    items = page.locator("#items tbody tr")
    assert items.count() == 1
    assert items.first.locator("td").first.inner_text().startswith("Cloud Desk")
    assert items.first.locator("td").nth(2).inner_text() == "99.00"
    assert items.first.locator("td").nth(3).inner_text() == "-10 %"
    item = PriceListItem.objects.get()
    assert (item.plan.billing_cycle, item.percent) == ("annual", Decimal("-10"))
    page.screenshot(path=str(screenshot_dir / "catalogue-price-list.png"), full_page=True)
