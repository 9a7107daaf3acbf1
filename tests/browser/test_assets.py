"""An asset in a real browser: open it from the Billing menu, edit its reservation id and
its expiration date, and see both saved on its page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account
from bss.setup.fields import services as field_services
from bss.setup.models import Currency
from catalogue.models import ProductPlan, ProductPrice
from subscriptions import assets
from subscriptions.models import Asset
from tests.billing.factories import CustomerFactory, ProductFactory, ProductTypeFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clerk() -> Any:
    return UserFactory(
        email="assets@test.example", first_name="Ada", is_superuser=True, is_staff=True
    )


@pytest.fixture
def reserved_instance(clerk: Any, settings: Any) -> Asset:
    """A one-year reserved instance at 1,200.00, bought on 10 March 2026."""
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    Currency.objects.update_or_create(
        code="EUR", defaults={"name": "Euro", "culture": "en_IE", "is_active": True}
    )
    field_services.custom_field_create(
        actor=clerk,
        entity="asset",
        label="Reservation ID",
        field_type="text",
        code="reservation_id",
        group="Reserved instance",
        show_in_storefront=True,
    )
    customer = CustomerFactory(
        name="Northwind Traders",
        is_ordering_enabled=True,
        is_taxable=False,
        partial_charges=Account.PartialCharges.BILLING_DAY,
        owner=clerk,
    )
    product = ProductFactory(
        name="Azure Reserved VM D2s v5 (1 year)",
        product_type=ProductTypeFactory(name="Reserved instances"),
        max_quantity=None,
    )
    plan = ProductPlan.objects.create(
        product=product, billing_cycle="one_time", charge_type="one_time"
    )
    ProductPrice.objects.create(plan=plan, currency="EUR", price=Decimal("1200.00"))
    return assets.asset_create(
        actor=clerk,
        account=customer,
        product=product,
        plan=plan,
        quantity=1,
        purchase_date=date(2026, 3, 10),
        expiration_date=date(2027, 3, 10),
    )


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_edit_an_assets_reservation_id_and_expiry_from_the_menu(
    live_server: Any, page: Any, clerk: Any, reserved_instance: Asset, screenshot_dir: Path
) -> None:
    clerk.set_password(PASSWORD)
    clerk.save(update_fields=["password"])
    sign_in(page, live_server, clerk.email)

    # given: the asset, found through Billing > Assets
    page.get_by_role("button", name="Billing").click()
    page.locator(".dropdown-menu.show").get_by_role("link", name="Assets").click()
    page.wait_for_url(f"{live_server.url}/assets/")
    assert page.locator("h1").inner_text() == "Assets"
    assert page.get_by_label("Expires within").is_visible()
    page.screenshot(path=str(screenshot_dir / "asset-list.png"))
    page.get_by_role("link", name=reserved_instance.code).click()
    page.wait_for_url(f"**{reserved_instance.get_absolute_url()}")
    assert page.locator("#asset-status").inner_text() == "Active"

    # when: its reservation id and expiration date change on the edit page
    page.locator("#asset-edit").click()
    page.wait_for_url(f"**/assets/{reserved_instance.pk}/edit/")
    page.get_by_label("Reservation ID").fill("RI-4410-WEU")
    page.get_by_label("Expiration date").fill("2027-09-30")
    page.screenshot(path=str(screenshot_dir / "asset-edit.png"), full_page=True)
    page.get_by_role("button", name="Save").click()

    # then: back on the asset page, both are saved and shown
    page.wait_for_url(f"**{reserved_instance.get_absolute_url()}")
    assert page.get_by_role("alert").inner_text() == f"Asset {reserved_instance.code} saved."
    assert page.locator('dd[data-field="reservation_id"]').inner_text() == "RI-4410-WEU"
    details = page.locator("#asset-details").inner_text()
    assert "Expiration date\n30 Sep 2027" in details
    page.screenshot(path=str(screenshot_dir / "asset-detail.png"), full_page=True)
    reserved_instance.refresh_from_db()
    assert reserved_instance.expiration_date == date(2027, 9, 30)
    assert reserved_instance.custom_data == {"reservation_id": "RI-4410-WEU"}
