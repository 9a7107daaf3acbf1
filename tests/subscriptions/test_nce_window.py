"""Spec S11: an NCE seat decrease inside the 168-hour window, after it, and an increase."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account
from billing.engine import bill_account
from billing.models import Invoice
from subscriptions import requests
from subscriptions.models import FutureRequest, FutureRequestStatus, Subscription
from tests.billing.factories import ProductTypeFactory

pytestmark = pytest.mark.django_db

PURCHASED = (2025, 6, 1, 9)


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def invoice_lines(account: Account) -> list[tuple[str, str, str]]:
    return [
        (f"{line.period_start:%m-%d}", f"{line.last_day:%m-%d}", f"{line.net:.2f}")
        for invoice in Invoice.objects.filter(billing_account=account).order_by("pk")
        for line in invoice.lines.order_by("position")
    ]


@pytest.fixture
def nce(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> Subscription:
    """10 seats x 10.00 monthly, bought 2025-06-01 09:00, June (30 days) invoiced 100.00."""
    license_based = ProductTypeFactory(cancellation_window_hours=168, full_refund_hours=0)
    plan = make_plan("10.00", product_type=license_based)
    when = at(*PURCHASED)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        return subscribe(customer, plan, 10, when.date(), effective_at=when)


def change(subscription: Subscription, quantity: int, when: datetime, capture: Any) -> Any:
    with time_machine.travel(when, tick=False), capture(execute=True):
        return requests.quantity_change_or_schedule(
            actor=None, subscription=subscription, new_quantity=quantity, effective_at=when
        )


def test_s11a_decrease_inside_the_window_credits_the_unused_days(
    nce: Subscription, customer: Account, django_capture_on_commit_callbacks: Any
) -> None:
    change(nce, 8, at(2025, 6, 4, 9), django_capture_on_commit_callbacks)
    nce.refresh_from_db()
    assert nce.quantity == 8
    # 2 x 10.00 x 27/30
    credit = Invoice.objects.filter(billing_account=customer).order_by("pk").last()
    assert credit.is_credit
    assert credit.gross_total == Decimal("18.00")
    assert invoice_lines(customer) == [("06-01", "06-30", "100.00"), ("06-04", "06-30", "18.00")]


def test_s11b_decrease_after_the_window_becomes_a_future_request(
    nce: Subscription, customer: Account, django_capture_on_commit_callbacks: Any
) -> None:
    # given 216 hours after the purchase, when the customer asks for 8 seats
    result = change(nce, 8, at(2025, 6, 10, 9), django_capture_on_commit_callbacks)
    # then nothing changes now: a pending quantity request waits for the renewal
    assert isinstance(result, FutureRequest)
    request = FutureRequest.objects.get(subscription=nce)
    assert (request.request_type, request.current_value, request.renewal_value) == (
        "quantity",
        "10",
        "8",
    )
    assert request.status == FutureRequestStatus.PENDING
    nce.refresh_from_db()
    assert nce.quantity == 10
    assert invoice_lines(customer) == [("06-01", "06-30", "100.00")]
    # when the billing run renews on 1 July
    with time_machine.travel(at(2025, 7, 1, 6), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2025, 7, 1))
    # then the request is completed and July is billed for 8 seats
    request.refresh_from_db()
    nce.refresh_from_db()
    assert request.status == FutureRequestStatus.COMPLETED
    assert nce.quantity == 8
    assert invoice_lines(customer)[-1] == ("07-01", "07-31", "80.00")


def test_s11c_increase_after_the_window_is_allowed_and_invoiced(
    nce: Subscription, customer: Account, django_capture_on_commit_callbacks: Any
) -> None:
    change(nce, 12, at(2025, 6, 10, 9), django_capture_on_commit_callbacks)
    nce.refresh_from_db()
    assert nce.quantity == 12
    # 2 x 10.00 x 21/30, invoiced on the day
    last = Invoice.objects.filter(billing_account=customer).order_by("pk").last()
    assert last.invoice_date == date(2025, 6, 10)
    assert invoice_lines(customer)[-1] == ("06-10", "06-30", "14.00")
    assert not FutureRequest.objects.exists()
