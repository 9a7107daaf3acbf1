"""Data for the page, dialog and API tests of subscriptions: a live subscription in a few words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account
from catalogue import services as catalogue_services
from catalogue.models import ProductPlan
from subscriptions.models import Subscription
from tests.api.conftest import admin_api, api_client_for
from tests.billing.factories import ProductFactory, ProductTypeFactory

__all__ = ["admin_api", "api_client_for"]

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


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


# Every page test runs on 10 March 2026 at 10:00 unless it moves the clock itself.
NOW = (2026, 3, 10, 10)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(at(*NOW), tick=False) as traveller:
        yield traveller


@pytest.fixture
def seats_plan(make_plan: Callable[..., ProductPlan]) -> ProductPlan:
    """12.00 a seat a month; the product type allows a 7-day window, full refund in 24 hours."""
    product_type = ProductTypeFactory(
        cancellation_window_hours=168, full_refund_hours=24, allow_partial_cancellation=True
    )
    return make_plan("12.00", product_type=product_type)


@pytest.fixture
def live_subscription(
    clock: Any, customer: Account, seats_plan: ProductPlan, subscribe: Callable[..., Subscription]
) -> Subscription:
    """10 seats bought now, 10 March: [10 Mar, 1 Apr) charged 10 x 12.00 x 22/31 = 85.16."""
    return subscribe(
        customer, seats_plan, 10, today(), friendly_name="Office seats", effective_at=at(*NOW)
    )


@pytest.fixture
def old_subscription(
    clock: Any, customer: Account, seats_plan: ProductPlan, subscribe: Callable[..., Subscription]
) -> Subscription:
    """10 seats bought on 2 March at 9:00: the 7-day cancellation window has passed."""
    moment = at(2026, 3, 2, 9)
    return subscribe(customer, seats_plan, 10, moment.date(), effective_at=moment)


@pytest.fixture
def operator(make_user: Callable[..., Any], customer: Account) -> Any:
    """A subscription clerk without the backdate and custom refund rights, owning the customer."""
    user = make_user(*OPERATOR_RIGHTS)
    customer.owner = user
    customer.save(update_fields=["owner"])
    return user


def upgrade_plan(
    source: ProductPlan, make_plan: Callable[..., ProductPlan], price: str = "20.00"
) -> ProductPlan:
    """A higher edition of ``source``'s product, on the upgrade path."""
    target = make_plan(price, product=ProductFactory(product_type=source.product.product_type))
    catalogue_services.upgrade_add(actor=None, source=source.product, target=target.product)
    return target


def today() -> date:
    return timezone.localdate()
