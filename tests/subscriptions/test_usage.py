"""Pay-per-use usage: ingest once, refuse closed periods, rate tiers in arrears to the cent."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account
from billing.engine import bill_account
from billing.models import Charge, ChargeKind, Invoice
from catalogue.models import ChargeType, ProductPrice, VolumeDiscount, VolumeMode, VolumeTier
from subscriptions.models import Subscription, UsageRecord
from subscriptions.usage import UsageInput, UsageRejected, usage_ingest
from tests.api.conftest import admin_api, api_client_for

__all__ = ["admin_api", "api_client_for"]

pytestmark = pytest.mark.django_db

USAGE_URL = "/api/v1/subscriptions/usage/"


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def storage_plan(make_plan: Any) -> Any:
    """Backup storage per GB: units 1-1,000 at 0.10, every unit above at 0.05 (scale)."""
    plan = make_plan("0.10", charge_type=ChargeType.RECURRING_PAY_PER_USE)
    tiers = VolumeDiscount.objects.create(name="Storage GB", mode=VolumeMode.SCALE, currency="EUR")
    VolumeTier.objects.create(
        discount=tiers, from_quantity=1, to_quantity=1000, unit_price=Decimal("0.10")
    )
    VolumeTier.objects.create(
        discount=tiers, from_quantity=1001, to_quantity=None, unit_price=Decimal("0.05")
    )
    ProductPrice.objects.filter(plan=plan).update(volume_discount=tiers)
    return plan


@pytest.fixture
def metered(customer: Account, storage_plan: Any, subscribe: Any) -> Subscription:
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        return subscribe(
            customer, storage_plan, 1, date(2026, 3, 1), effective_at=at(2026, 3, 1, 9)
        )


def march_batch(subscription: Subscription) -> list[dict[str, Any]]:
    """1,500 GB over March in 30 daily records of 50 GB."""
    return [
        {
            "subscription": subscription.pk,
            "metric": "storage_gb",
            "quantity": "50",
            "unit": "GB",
            "occurred_at": f"2026-03-{day:02d}T23:00:00Z",
            "idempotency_key": f"backup-{day}",
        }
        for day in range(1, 31)
    ]


def test_the_same_batch_twice_counts_once(admin_api: Any, metered: Subscription) -> None:
    # given
    batch = march_batch(metered)
    # when
    with time_machine.travel(at(2026, 3, 31, 12), tick=False):
        first = admin_api.post(USAGE_URL, {"records": batch}, format="json")
        second = admin_api.post(USAGE_URL, {"records": batch}, format="json")
    # then
    assert first.status_code == 200, first.content
    assert first.json()["accepted"] == 30
    assert first.json()["duplicates"] == 0
    assert second.json()["accepted"] == 0
    assert second.json()["duplicates"] == 30
    assert second.json()["duplicate_rows"] == list(range(30))
    assert UsageRecord.objects.filter(subscription=metered).count() == 30
    total = sum(UsageRecord.objects.values_list("quantity", flat=True), Decimal(0))
    assert total == Decimal("1500")


def test_a_key_repeated_inside_one_batch_is_a_duplicate(metered: Subscription) -> None:
    record = UsageInput(
        row=0,
        subscription=metered.number,
        metric="storage_gb",
        quantity=Decimal("1.5"),
        occurred_at=at(2026, 3, 2, 8),
        idempotency_key="same",
    )
    with time_machine.travel(at(2026, 3, 3), tick=False):
        result = usage_ingest(actor=None, records=[record, record])
    assert (result.accepted, result.duplicates, result.duplicate_rows) == (1, 1, [0])


def test_postpaid_usage_with_tiers_is_billed_in_arrears_to_the_cent(
    admin_api: Any, customer: Account, metered: Subscription
) -> None:
    # given 1,500 GB used in March
    with time_machine.travel(at(2026, 3, 31, 12), tick=False):
        admin_api.post(USAGE_URL, {"records": march_batch(metered)}, format="json")
    assert not Invoice.objects.filter(billing_account=customer).exists()

    # when the billing run of 1 April rates March
    with time_machine.travel(at(2026, 4, 1, 6), tick=False):
        bill = bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2026, 4, 1))

    # then one line: 1,000 x 0.10 + 500 x 0.05 = 125.00, for 1-31 March
    [invoice] = bill.invoices
    [line] = invoice.lines.all()
    assert (line.period_start, line.last_day) == (date(2026, 3, 1), date(2026, 3, 31))
    assert line.quantity == Decimal("1500")
    assert line.unit_price == Decimal("0.0833")
    assert (line.amount, line.discount, line.net) == (
        Decimal("125.00"),
        Decimal("0.00"),
        Decimal("125.00"),
    )
    assert invoice.gross_total == Decimal("125.00")
    assert invoice.invoice_date == date(2026, 4, 1)
    [charge] = Charge.objects.filter(subscription_id=metered.pk)
    assert charge.kind == ChargeKind.USAGE

    # and running the same date again bills nothing more
    with time_machine.travel(at(2026, 4, 1, 7), tick=False):
        again = bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2026, 4, 1))
    assert again.invoices == []
    assert Invoice.objects.filter(billing_account=customer).count() == 1


def test_usage_of_a_closed_period_is_refused_per_row(
    admin_api: Any, customer: Account, metered: Subscription
) -> None:
    with time_machine.travel(at(2026, 4, 1, 6), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2026, 4, 1))
    late = {
        "subscription": metered.number,
        "metric": "storage_gb",
        "quantity": "7",
        "occurred_at": "2026-03-31T20:00:00Z",
        "idempotency_key": "late",
    }
    april = {**late, "occurred_at": "2026-04-01T08:00:00Z", "idempotency_key": "april"}
    with time_machine.travel(at(2026, 4, 1, 12), tick=False):
        response = admin_api.post(USAGE_URL, {"records": [late, april]}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["duplicates"], body["refused"]) == (1, 0, 1)
    assert body["errors"] == [
        {
            "row": 0,
            "field": "occurred_at",
            "reason": f"The period of 2026-03-31 is closed: subscription {metered.number} "
            "is billed through 2026-03-31.",
        }
    ]
    assert list(UsageRecord.objects.values_list("idempotency_key", flat=True)) == ["april"]


def test_usage_for_a_prepaid_subscription_is_refused(
    customer: Account, make_plan: Any, subscribe: Any
) -> None:
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        prepaid = subscribe(customer, make_plan("10.00"), 1, date(2026, 3, 1))
        record = UsageInput(
            row=4,
            subscription=prepaid.pk,
            metric="calls",
            quantity=Decimal(3),
            occurred_at=at(2026, 3, 1, 8),
            idempotency_key="k",
        )
        result = usage_ingest(actor=None, records=[record])
        with pytest.raises(UsageRejected) as refused:
            usage_ingest(actor=None, records=[record], all_or_nothing=True)
    assert result.accepted == 0
    assert [error.as_dict() for error in result.refused] == [
        {
            "row": 4,
            "field": "subscription",
            "reason": f"Subscription {prepaid.number} is not pay-per-use.",
        }
    ]
    assert refused.value.errors == result.refused
    assert not UsageRecord.objects.exists()


def test_a_malformed_batch_names_row_and_field_and_writes_nothing(
    admin_api: Any, metered: Subscription
) -> None:
    batch = march_batch(metered)[:3]
    batch[1]["quantity"] = "lots"
    del batch[2]["idempotency_key"]
    with time_machine.travel(at(2026, 3, 31, 12), tick=False):
        response = admin_api.post(USAGE_URL, {"records": batch}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "records[1].quantity": ["“lots” is not a number."],
        "records[2].idempotency_key": ["This field is required."],
    }
    assert not UsageRecord.objects.exists()


def test_recording_usage_needs_the_right(api_client_for: Any, make_user: Any) -> None:
    client = api_client_for(make_user("subscriptions.view"))
    response = client.post(USAGE_URL, {"records": []}, format="json")
    assert response.status_code == 403
