"""Executing an order of an automatically provisioned product: invoiced, pending, then active."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from billing.models import Invoice
from orders import execution, services
from subscriptions.models import Subscription
from tests.catalogue.factories import ProductTypeFactory
from tests.subscriptions.fake_vendor import FakeVendor, serving, vendor_integration

pytestmark = pytest.mark.django_db

D = Decimal
DAY_1 = date(2026, 4, 16)


@pytest.fixture(autouse=True)
def april_16() -> Iterator[Any]:
    with time_machine.travel(date(2026, 4, 16), tick=False) as traveller:
        yield traveller


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    with serving() as running:
        yield running


def test_execution_invoices_and_the_subscription_is_pending_then_active(
    customer: Any,
    make_plan: Any,
    sales_user: Any,
    vendor: FakeVendor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    integration = vendor_integration(vendor.url)
    seats = make_plan(
        product_type=ProductTypeFactory(integration=integration.code), EUR="12", name="Seats"
    )
    order = services.order_create(actor=None, account=customer, name="O-200")
    services.order_item_add(
        actor=None,
        order=order,
        product=seats.product,
        plan=seats,
        quantity=5,
        provisioning_attributes={"tenant": "acme"},
    )

    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        result = execution.order_execute(actor=sales_user, order=order, start_date=DAY_1)
    [subscription] = Subscription.objects.filter(pk__in=result.subscription_ids)
    status_at_commit = (subscription.status, subscription.provisioning_status)
    for callback in after_commit:
        callback()
    subscription.refresh_from_db()
    order.refresh_from_db()

    assert status_at_commit == ("pending", "pending")
    assert (subscription.status, subscription.provisioning_status) == ("active", "synced")
    assert order.status.name == "Executed"
    [body] = vendor.provisioned
    assert (body["action"], body["quantity"], body["attributes"]) == (
        "create",
        5,
        {"tenant": "acme"},
    )
    # The order day's invoice is the same as for any product: 5 x 12.00 = 60.00 + 24 % VAT.
    [invoice] = Invoice.objects.filter(billing_account=order.billing_account)
    assert (invoice.net_total, invoice.gross_total) == (D("60.00"), D("74.40"))
