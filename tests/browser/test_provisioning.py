"""Provisioning in a real browser, against a vendor on loopback: a subscription the vendor
refused shows why and Reprovision makes it active; a refused suspension stays a
suspension, shows why, and Reprovision sends it again."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bss.setup.models import Currency
from bss.setup.organization.services import organization_update
from catalogue.models import ProductPlan, ProductPrice
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionStatus
from tests.billing.factories import CustomerFactory, ProductFactory, ProductTypeFactory
from tests.factories import UserFactory
from tests.subscriptions.fake_vendor import FakeVendor, vendor_integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clerk() -> Any:
    user = UserFactory(
        email="provisioning@test.example", first_name="Pat", is_superuser=True, is_staff=True
    )
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def buy_mailboxes(clerk: Any, vendor: FakeVendor, settings: Any) -> Callable[[], Subscription]:
    """12 mailboxes of a product the vendor provisions, bought as the vendor answers."""

    def buy() -> Subscription:
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
            name="Northwind Traders", is_ordering_enabled=True, is_taxable=False, owner=clerk
        )
        integration = vendor_integration(vendor.url, code="mailhost")
        product = ProductFactory(
            name="Hosted Exchange Mailbox",
            product_type=ProductTypeFactory(name="Hosted mail", integration=integration.code),
            max_quantity=None,
        )
        plan = ProductPlan.objects.create(
            product=product, billing_cycle="monthly", charge_type="recurring_prepaid"
        )
        ProductPrice.objects.create(plan=plan, currency="EUR", price=Decimal("4.50"))
        subscription = services.subscription_create(
            actor=clerk,
            account=customer,
            product=product,
            plan=plan,
            quantity=12,
            start_date=timezone.localdate(),
            friendly_name="Northwind mailboxes",
            provisioning_attributes={"domain": "northwind.example"},
        )
        subscription.refresh_from_db()
        return subscription

    return buy


@pytest.fixture
def refused_seats(vendor: FakeVendor, buy_mailboxes: Callable[[], Subscription]) -> Subscription:
    """12 mailboxes the vendor refused on the first try."""
    vendor.answer("failed: The domain northwind.example is not verified.")
    subscription = buy_mailboxes()
    assert subscription.status == SubscriptionStatus.FAILED
    return subscription


@pytest.fixture
def provisioned_seats(buy_mailboxes: Callable[[], Subscription]) -> Subscription:
    """12 mailboxes the vendor set up."""
    subscription = buy_mailboxes()
    assert subscription.status == SubscriptionStatus.ACTIVE
    return subscription


def _sign_in(page: Any, live_server: Any, clerk: Any) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", clerk.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_reprovision_a_failed_subscription(
    live_server: Any,
    page: Any,
    clerk: Any,
    vendor: FakeVendor,
    refused_seats: Subscription,
    screenshot_dir: Path,
) -> None:
    _sign_in(page, live_server, clerk)

    # given: the failed subscriptions from the list's status filter
    page.goto(f"{live_server.url}/subscriptions/?status=failed")
    page.get_by_role("link", name=refused_seats.number).click()
    page.wait_for_url(f"**{refused_seats.get_absolute_url()}")
    status = page.locator("#subscription-status")
    assert status.inner_text() == "Failed"
    assert page.locator("#provisioning-failed").inner_text().strip() == (
        "Provisioning failed: The domain northwind.example is not verified."
    )
    page.screenshot(path=str(screenshot_dir / "subscription-provisioning-failed.png"))

    # when: Reprovision, with the vendor now answering success
    page.locator(".subscription-actions").get_by_role("link", name="Reprovision").click()
    dialog = page.locator("#op-dialog")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm: Reprovision").click()

    # then: active, synced, the error gone and no Reprovision action left
    page.get_by_text("is sent to provisioning again").wait_for()
    assert status.inner_text() == "Active"
    assert page.locator("#provisioning-failed").count() == 0
    assert page.locator("#provisioning").get_by_text("Synced").count() == 1
    assert (
        page.locator(".subscription-actions").get_by_role("link", name="Reprovision").count() == 0
    )
    refused_seats.refresh_from_db()
    assert (refused_seats.status, refused_seats.provisioning_status) == ("active", "synced")
    assert [body["action"] for body in vendor.provisioned] == ["create", "reprovision"]


def test_a_refused_suspension_is_shown_and_sent_again(
    live_server: Any,
    page: Any,
    clerk: Any,
    vendor: FakeVendor,
    provisioned_seats: Subscription,
    screenshot_dir: Path,
) -> None:
    _sign_in(page, live_server, clerk)
    page.goto(f"{live_server.url}{provisioned_seats.get_absolute_url()}")
    status = page.locator("#subscription-status")
    assert status.inner_text() == "Active"

    # when: Suspend, and the vendor refuses it
    vendor.answer("failed: Mailboxes with a legal hold cannot be suspended.")
    page.locator(".subscription-actions").get_by_role("link", name="Suspend").click()
    dialog = page.locator("#op-dialog")
    dialog.get_by_label("Reason").fill("Unpaid invoices")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm: Suspend").click()

    # then: suspended all the same, with the vendor's reason and Reprovision offered
    page.get_by_text("is suspended").first.wait_for()
    assert status.inner_text() == "Suspended"
    assert page.locator("#provisioning-failed").inner_text().strip() == (
        "Provisioning failed: Mailboxes with a legal hold cannot be suspended."
    )
    page.screenshot(path=str(screenshot_dir / "subscription-suspension-refused.png"))

    # when: Reprovision, with the vendor now answering success
    page.locator(".subscription-actions").get_by_role("link", name="Reprovision").click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm: Reprovision").click()

    # then: still suspended, synced, and the vendor got the suspension twice under two keys
    page.get_by_text("is sent to provisioning again").wait_for()
    assert status.inner_text() == "Suspended"
    assert page.locator("#provisioning-failed").count() == 0
    assert page.locator("#provisioning").get_by_text("Synced").count() == 1
    assert [body["action"] for body in vendor.provisioned] == ["create", "suspend", "suspend"]
    keys = {request["headers"]["Idempotency-Key"] for request in vendor.requests}
    assert len(keys) == 3
