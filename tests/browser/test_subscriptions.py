"""A subscription in a real browser: cancel it at the end of the period through the dialog,
see it pending for cancel, revoke the cancellation and see it active again."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from bss.setup.models import Currency
from bss.setup.organization.services import organization_update
from catalogue.models import ProductPlan, ProductPrice
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionStatus
from tests.billing.factories import CustomerFactory, ProductFactory, ProductTypeFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clerk() -> Any:
    return UserFactory(
        email="subscriptions@test.example", first_name="Sam", is_superuser=True, is_staff=True
    )


@pytest.fixture
def office_seats(clerk: Any, settings: Any) -> Subscription:
    """12 seats of an office suite at 12.00 a month, invoiced on the order day."""
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    euro, _created = Currency.objects.update_or_create(
        code="EUR", defaults={"name": "Euro", "culture": "en_IE", "is_active": True}
    )
    organization_update(
        actor=None,
        home_currency=euro,
        legal_name="Cloudwave S.A.",
        address_line1="Leoforos Kifisias 44",
        postal_code="151 25",
        city="Marousi",
        country="GR",
        tax_id="EL094259216",
        email="billing@cloudwave.example",
    )
    customer = CustomerFactory(
        name="Northwind Traders",
        is_ordering_enabled=True,
        is_taxable=False,
        is_prorated=True,
        billing_day_rule=Account.BillingDayRule.FIRST,
        owner=clerk,
    )
    product = ProductFactory(
        name="Cloudwave Office Standard",
        product_type=ProductTypeFactory(
            name="Productivity suite", cancellation_window_hours=168, full_refund_hours=24
        ),
        max_quantity=None,
    )
    plan = ProductPlan.objects.create(
        product=product, billing_cycle="monthly", charge_type="recurring_prepaid"
    )
    ProductPrice.objects.create(plan=plan, currency="EUR", price=Decimal("12.00"))
    return services.subscription_create(
        actor=clerk,
        account=customer,
        product=product,
        plan=plan,
        quantity=12,
        start_date=timezone.localdate(),
        friendly_name="Head office seats",
    )


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_cancel_at_the_end_of_the_period_then_revoke(
    live_server: Any, page: Any, clerk: Any, office_seats: Subscription, screenshot_dir: Path
) -> None:
    clerk.set_password(PASSWORD)
    clerk.save(update_fields=["password"])
    sign_in(page, live_server, clerk.email)

    # given: the subscription from the menu's list
    page.goto(f"{live_server.url}/subscriptions/")
    page.get_by_role("link", name=office_seats.number).click()
    page.wait_for_url(f"**{office_seats.get_absolute_url()}")
    status = page.locator("#subscription-status")
    assert status.inner_text() == "Active"
    page.locator("#panel-charges").wait_for()
    page.screenshot(path=str(screenshot_dir / "subscription-detail.png"), full_page=True)

    # when: the cancel dialog, at the end of the period; the refund shows before confirming
    page.locator(".subscription-actions").get_by_role("link", name="Cancel").click()
    dialog = page.locator("#op-dialog")
    dialog.get_by_label("At the end of the billing period").check()
    preview = dialog.locator("#refund-preview-result")
    preview.get_by_text("Billed to the end of the period: no refund.").wait_for()
    dialog.get_by_label("Reason").fill("Moving to a bigger plan")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm: Cancel").click()

    # then: pending for cancel
    assert status.inner_text() == "Pending for cancel"
    assert (
        page.locator(".alert-warning").first.inner_text().strip().startswith("Pending for cancel")
    )
    office_seats.refresh_from_db()
    assert office_seats.status == SubscriptionStatus.PENDING_CANCEL

    # when: the cancellation is revoked
    page.locator(".subscription-actions").get_by_role("link", name="Revoke cancellation").click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm: Revoke cancellation").click()

    # then: active again, with both steps in the history
    page.get_by_text("The cancellation is revoked").wait_for()
    assert status.inner_text() == "Active"
    history = page.locator("#subscription-changes")
    assert history.locator('[data-kind="cancel_scheduled"]').count() == 1
    assert history.locator('[data-kind="cancel_revoked"]').count() == 1
    office_seats.refresh_from_db()
    assert office_seats.status == SubscriptionStatus.ACTIVE
