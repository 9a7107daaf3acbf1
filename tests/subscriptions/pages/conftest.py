"""Data for the page, dialog and API tests of subscriptions: a live subscription in a few words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from catalogue import services as catalogue_services
from catalogue.models import ProductPlan
from subscriptions.models import Subscription
from tests.billing.factories import ProductFactory, ProductTypeFactory

OPERATOR_RIGHTS = (
    "subscriptions.view",
    "subscriptions.edit",
    "subscriptions.change_quantity",
    "subscriptions.edit_pricing",
    "subscriptions.cancel",
    "subscriptions.upgrade",
    "subscriptions.suspend",
    "subscriptions.price_protection",
    "accounts.view",
    "invoices.view",
)


def days_ago(days: int, hour: int = 9) -> datetime:
    moment = timezone.localtime() - timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def seats_plan(make_plan: Callable[..., ProductPlan]) -> ProductPlan:
    """12.00 a seat a month; the product type allows a 7-day window, full refund in 24 hours."""
    product_type = ProductTypeFactory(
        cancellation_window_hours=168, full_refund_hours=24, allow_partial_cancellation=True
    )
    return make_plan("12.00", product_type=product_type)


@pytest.fixture
def live_subscription(
    customer: Account, seats_plan: ProductPlan, subscribe: Callable[..., Subscription]
) -> Subscription:
    """10 seats bought today: charged to the period end, inside the cancellation window."""
    return subscribe(customer, seats_plan, 10, timezone.localdate(), friendly_name="Office seats")


@pytest.fixture
def old_subscription(
    customer: Account, seats_plan: ProductPlan, subscribe: Callable[..., Subscription]
) -> Subscription:
    """10 seats bought 10 days ago: the 7-day cancellation window has passed."""
    moment = days_ago(10)
    return subscribe(customer, seats_plan, 10, moment.date(), effective_at=moment)


@pytest.fixture
def operator(make_user: Callable[..., Any]) -> Any:
    return make_user(*OPERATOR_RIGHTS)


def upgrade_plan(
    source: ProductPlan, make_plan: Callable[..., ProductPlan], price: str = "20.00"
) -> ProductPlan:
    """A higher edition of ``source``'s product, on the upgrade path."""
    target = make_plan(price, product=ProductFactory(product_type=source.product.product_type))
    catalogue_services.upgrade_add(actor=None, source=source.product, target=target.product)
    return target


def today() -> date:
    return timezone.localdate()
