"""The "Upgrade trial to paid" page shows what the upgrade will charge, and charges that."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing.models import Charge
from subscriptions import trials
from subscriptions.models import Subscription
from tests.subscriptions.pages.conftest import today

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(clock: Any, customer: Any, make_plan: Any, admin_user: Any) -> Subscription:
    """5 seats on trial from 10 March 2026; 12.00 a seat a month, 25.00 setup fee a seat."""
    plan = make_plan("12.00", setup_fee="25.00", trial_enabled=True, trial_days=30)
    return trials.trial_create(
        actor=admin_user,
        account=customer,
        product=plan.product,
        plan=plan,
        quantity=5,
        start_date=today(),
    )


def test_the_upgrade_page_shows_the_first_charge_and_the_setup_fee(
    trial: Subscription, admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("lifecycle:trial_upgrade", kwargs={"pk": trial.pk})

    page = admin_client.get(url)

    # 5 x 12.00 x 22/31 = 42.58 for [10 Mar, 1 Apr), 5 x 25.00 = 125.00 setup fee
    assert page.status_code == 200
    preview = page.context["preview"]
    assert (preview["first_period"], preview["setup_fee"], preview["total"]) == (
        Decimal("42.58"),
        Decimal("125.00"),
        Decimal("167.58"),
    )
    assert (
        "For 5 units: first period €42.58, setup fee €125.00, €167.58 in all before tax."
        in page.content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(url, {"quantity": "5", "friendly_name": ""})
    assert done.status_code == 302
    assert sorted(
        Charge.objects.filter(subscription_id=trial.pk).values_list("kind", "amount")
    ) == [("prorated_charge", Decimal("42.58")), ("setup_fee", Decimal("125.00"))]
