"""Notification plans over simulated days: each step once per invoice, stopped by payment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Account
from billing.models import Invoice
from billing.services import invoices_mark_overdue
from bss.core.models import Event
from payments import dunning, services, tasks
from payments.models import DunningAction, DunningRun, NotificationPlan, PaymentType

pytestmark = pytest.mark.django_db

ISSUED_ON = date(2026, 3, 2)


@pytest.fixture
def plan(db: None) -> NotificationPlan:
    plan = dunning.plan_save(actor=None, name="Standard reminders", is_active=True, is_default=True)
    dunning.plan_step_save(actor=None, plan=plan, offset_days=3, notification="invoice_reminder_1")
    dunning.plan_step_save(actor=None, plan=plan, offset_days=10, notification="invoice_reminder_2")
    dunning.plan_step_save(
        actor=None,
        plan=plan,
        offset_days=30,
        notification="invoice_reminder_3",
        action=DunningAction.BLOCK_ORDERING,
    )
    return plan


def reminders(invoice: Invoice) -> list[tuple[int, str]]:
    events = Event.objects.filter(name="invoice.reminder", aggregate_id=str(invoice.pk)).order_by(
        "pk"
    )
    return [(event.payload["step"], event.payload["notification"]) for event in events]


def run_days(first: date, days: int, *, pay: Callable[[date], None] | None = None) -> None:
    """The daily beat jobs (overdue marking, then the plans) on each of ``days`` days."""
    for offset in range(days):
        day = first + timedelta(days=offset)
        with time_machine.travel(
            datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo("UTC")), tick=False
        ):
            if pay is not None:
                pay(day)
            invoices_mark_overdue(actor=None)
            tasks.run_notification_plans()


def test_each_step_runs_once_per_invoice_over_forty_days(
    customer: Any, plan: NotificationPlan, invoice_for: Callable[..., Invoice]
) -> None:
    # given: two invoices due 30 days after issue, the customer may order
    Account.objects.filter(pk=customer.pk).update(is_ordering_enabled=True)
    first = invoice_for(customer, "100.00", on=ISSUED_ON)
    second = invoice_for(customer, "20.00", on=ISSUED_ON + timedelta(days=1))
    assert first.due_date == date(2026, 4, 1)

    # when: the daily jobs run for 40 days after the due date, some days twice
    run_days(first.due_date, 41)
    run_days(first.due_date + timedelta(days=10), 3)

    # then: three reminders each, on their days, the last one blocked ordering once
    assert reminders(first) == [
        (3, "invoice_reminder_1"),
        (10, "invoice_reminder_2"),
        (30, "invoice_reminder_3"),
    ]
    assert reminders(second) == reminders(first)
    runs = DunningRun.objects.filter(invoice=first).order_by("run_on")
    assert [run.run_on for run in runs] == [date(2026, 4, 4), date(2026, 4, 11), date(2026, 5, 1)]
    customer.refresh_from_db()
    assert customer.is_ordering_enabled is False
    first.refresh_from_db()
    assert first.status == "overdue"


def test_paying_the_invoice_stops_the_plan_and_lifts_the_block(
    customer: Any,
    plan: NotificationPlan,
    invoice_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
) -> None:
    Account.objects.filter(pk=customer.pk).update(is_ordering_enabled=True)
    invoice = invoice_for(customer, "100.00", on=ISSUED_ON)
    due = invoice.due_date
    assert due is not None

    def pay_on_day_35(day: date) -> None:
        if day == due + timedelta(days=35):
            with django_capture_on_commit_callbacks(execute=True):
                services.payment_record(
                    actor=None,
                    account=customer,
                    payment_type=PaymentType.BANK_TRANSFER,
                    amount="100.00",
                )

    # when: ordering is blocked on day 30, the invoice paid on day 35, days run to 40
    run_days(due, 41, pay=pay_on_day_35)

    # then
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert [step for step, _code in reminders(invoice)] == [3, 10, 30]
    customer.refresh_from_db()
    assert customer.is_ordering_enabled is True
    assert DunningRun.objects.get(invoice=invoice, step__offset_days=30).resumed_at is not None


def test_paid_before_the_first_step_nothing_is_sent(
    customer: Any, plan: NotificationPlan, invoice_for: Callable[..., Invoice]
) -> None:
    invoice = invoice_for(customer, "50.00", on=ISSUED_ON)
    assert invoice.due_date is not None

    def pay_on_day_2(day: date) -> None:
        if day == invoice.due_date + timedelta(days=2):
            services.payment_record(
                actor=None, account=customer, payment_type=PaymentType.CASH, amount="50.00"
            )

    run_days(invoice.due_date, 41, pay=pay_on_day_2)

    assert reminders(invoice) == []


def test_a_suspending_step_requests_suspension_and_resume(
    customer: Any, invoice_for: Callable[..., Invoice], django_capture_on_commit_callbacks: Any
) -> None:
    plan = dunning.plan_save(actor=None, name="Suspend", is_active=True, is_default=True)
    dunning.plan_step_save(
        actor=None,
        plan=plan,
        offset_days=5,
        notification="services_suspended",
        action=DunningAction.SUSPEND_SUBSCRIPTIONS,
    )
    invoice = invoice_for(customer, "10.00", on=ISSUED_ON)
    assert invoice.due_date is not None
    run_days(invoice.due_date, 7)
    assert Event.objects.filter(name="account.suspension_requested").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_record(
            actor=None, account=customer, payment_type=PaymentType.CASH, amount="10.00"
        )

    assert (
        Event.objects.filter(name="account.resume_requested", aggregate_id=str(customer.pk)).count()
        == 1
    )
