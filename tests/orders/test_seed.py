"""seed_demo adds offers in each status and executed orders, and runs twice harmlessly."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from offers.models import Offer
from orders.models import Order
from orders.selectors import manual_queue
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def test_the_demo_has_offers_in_each_status_and_executed_orders(admin_user: Any) -> None:
    with time_machine.travel(date(2026, 4, 16), tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        first = (Offer.objects.count(), Order.objects.count(), Subscription.objects.count())
        call_command("seed_demo", stdout=io.StringIO())

    assert (Offer.objects.count(), Order.objects.count(), Subscription.objects.count()) == first
    assert sorted(Offer.objects.values_list("status__name", flat=True)) == [
        "Accepted",
        "Draft",
        "In Progress",
        "Lost",
    ]
    executed = Order.objects.filter(status__system_key="executed")
    assert executed.count() == 3
    assert Subscription.objects.filter(origin_order_item_id__isnull=False).count() == 5
    assert Offer.objects.get(status__name="Accepted").converted_order.status.name == "Executed"
    assert [order.name for order in manual_queue(admin_user)] == ["Onboarding workshop"]
