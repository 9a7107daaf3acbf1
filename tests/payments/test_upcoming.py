"""Upcoming payments for renewals (spec §4.7) and suspension by a notification plan,
with real subscriptions and the billing engine."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Account
from billing.services import invoices_mark_overdue
from catalogue.models import BillingCycle
from payments import dunning, services, tasks, upcoming
from payments.models import DunningAction
from subscriptions.models import SubscriptionStatus
from tests.billing.factories import CustomerFactory
from tests.subscriptions.conftest import make_plan, no_pdf_rendering, subscribe
from tests.subscriptions.test_worked_examples import at, invoices_of, order, run

__all__ = ["make_plan", "no_pdf_rendering", "subscribe"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def reseller_client(db: None) -> Account:
    return CustomerFactory(
        is_ordering_enabled=True,
        is_taxable=False,
        partial_charges=Account.PartialCharges.ORDER_DAY,
        payment_days=10,
    )


def test_an_upcoming_payment_settles_the_renewal_invoice(
    reseller_client: Account,
    make_plan: Any,
    subscribe: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: an annual prepaid subscription from 1 January 2025, its first invoice unpaid
    plan = make_plan("100.00", cycle=BillingCycle.ANNUAL, commitment=12)
    subscription = order(
        subscribe, reseller_client, plan, 1, at(2025, 1, 1, 9), django_capture_on_commit_callbacks
    )
    [first] = invoices_of(reseller_client)

    # when: 100.00 is paid in December for the renewal on 1 January 2026
    with time_machine.travel(at(2025, 12, 1, 9), tick=False):
        payment = upcoming.upcoming_payment_record(
            actor=admin_user, subscription=subscription, payment_type="cash", amount="100.00"
        )
    assert (payment.renewal_date, payment.unapplied_amount) == (date(2026, 1, 1), Decimal("100.00"))
    with pytest.raises(ValidationError) as twice:
        upcoming.upcoming_payment_record(
            actor=admin_user, subscription=subscription, payment_type="check", amount="1.00"
        )
    assert "subscription" in twice.value.message_dict

    # then: it waits (the first invoice stays unpaid) and settles the renewal invoice
    first.refresh_from_db()
    assert first.status == "unpaid"
    with django_capture_on_commit_callbacks(execute=True):
        run(reseller_client, date(2026, 1, 1))
    renewal = invoices_of(reseller_client)[-1]
    payment.refresh_from_db()
    assert (renewal.status, renewal.balance_due) == ("paid", Decimal("0"))
    assert payment.unapplied_amount == Decimal("0")
    first.refresh_from_db()
    assert first.status == "unpaid"


def test_upcoming_payment_rules(
    reseller_client: Account,
    make_plan: Any,
    subscribe: Any,
    make_user: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan = make_plan("10.00")
    subscription = order(
        subscribe, reseller_client, plan, 1, at(2025, 1, 1, 9), django_capture_on_commit_callbacks
    )
    with pytest.raises(ValidationError) as card:
        upcoming.upcoming_payment_record(
            actor=admin_user, subscription=subscription, payment_type="card", amount="10"
        )
    assert "payment_type" in card.value.message_dict
    with pytest.raises(PermissionDenied):
        upcoming.upcoming_payment_record(
            actor=make_user("payments.view"),
            subscription=subscription,
            payment_type="cash",
            amount="10",
        )
    subscription.auto_renew = False
    with pytest.raises(ValidationError) as no_renewal:
        upcoming.upcoming_payment_record(
            actor=admin_user, subscription=subscription, payment_type="cash", amount="10"
        )
    assert "subscription" in no_renewal.value.message_dict


def test_a_plan_suspends_the_subscriptions_and_payment_resumes_them(
    reseller_client: Account,
    make_plan: Any,
    subscribe: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan = dunning.plan_save(actor=None, name="Suspend", is_active=True, is_default=True)
    dunning.plan_step_save(
        actor=None,
        plan=plan,
        offset_days=5,
        notification="services_suspended",
        action=DunningAction.SUSPEND_SUBSCRIPTIONS,
    )
    subscription = order(
        subscribe,
        reseller_client,
        make_plan("31.00"),
        1,
        at(2026, 3, 1, 9),
        django_capture_on_commit_callbacks,
    )
    [invoice] = invoices_of(reseller_client)
    assert invoice.due_date == date(2026, 3, 11)

    with time_machine.travel(at(2026, 3, 17, 6), tick=False):
        invoices_mark_overdue(actor=None)
        assert tasks.run_notification_plans() == 1
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.SUSPENDED

    with (
        time_machine.travel(at(2026, 3, 18, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.payment_record(
            actor=None,
            account=reseller_client,
            payment_type="bank_transfer",
            amount=invoice.gross_total,
        )
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert invoice.due_date + timedelta(days=5) == date(2026, 3, 16)


def test_the_upcoming_payment_page(
    reseller_client: Account,
    make_plan: Any,
    subscribe: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscription = order(
        subscribe,
        reseller_client,
        make_plan("10.00"),
        1,
        at(2025, 1, 1, 9),
        django_capture_on_commit_callbacks,
    )
    url = f"/payments/subscriptions/{subscription.pk}/upcoming/"
    refused = admin_client.post(
        url, {"payment_type": "cash", "payment_date": "2025-01-20", "amount": "0"}
    )
    assert "amount" in refused.context["form"].errors
    response = admin_client.post(
        url, {"payment_type": "deposit", "payment_date": "2025-01-20", "amount": "10.00"}
    )
    assert response.status_code == 302
    assert services.Payment.objects.get().subscription_id == subscription.pk
