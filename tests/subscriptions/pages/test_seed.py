"""The demo subscriptions: seats, an add-on, a pending cancellation, a scheduled downgrade."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from subscriptions.models import FutureRequest, Subscription

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_subscriptions_once() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    # Orders and offers seed subscriptions of their own, without friendly names.
    named = Subscription.objects.exclude(friendly_name="")
    everything = sorted(Subscription.objects.values_list("pk", flat=True))
    first = sorted(named.values_list("friendly_name", "status", "quantity"))
    call_command("seed_demo", stdout=io.StringIO())

    assert sorted(Subscription.objects.values_list("pk", flat=True)) == everything
    assert first == [
        ("Analysts", "active", 8),
        ("Berlin office", "active", 25),
        ("Berlin security", "active", 25),
        ("Piraeus HQ", "active", 12),
        ("Shared mailboxes", "active", 40),
        ("Warehouse crews", "pending_cancel", 30),
    ]
    addon = Subscription.objects.get(friendly_name="Berlin security")
    assert addon.parent.friendly_name == "Berlin office"
    [downgrade] = FutureRequest.objects.all()
    assert (downgrade.request_type, downgrade.renewal_value) == ("downgrade", "SUITE-BASIC")
