"""Trials (spec 4.4): free, extended, upgraded to paid by a person, expired, noticed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from billing.engine import bill_account
from billing.models import Charge, Invoice
from bss.core.models import Event
from subscriptions import trials
from subscriptions.lifecycle_tasks import expire_trials, send_trial_notices
from subscriptions.models import ChangeKind, Subscription, SubscriptionStatus, TrialNotice

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def lines(account: Account) -> list[tuple[str, str, str]]:
    return [
        (f"{line.period_start:%m-%d}", f"{line.last_day:%m-%d}", f"{line.net:.2f}")
        for invoice in Invoice.objects.filter(billing_account=account).order_by("pk")
        for line in invoice.lines.order_by("position")
    ]


@pytest.fixture
def trial_plan(make_plan: Any) -> Any:
    return make_plan("12.00", trial_enabled=True, trial_days=30, trial_max_quantity=25)


def start_trial(customer: Account, plan: Any, admin_user: Any, when: datetime, quantity: int = 5):
    with time_machine.travel(when, tick=False):
        return trials.trial_create(
            actor=admin_user,
            account=customer,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            start_date=when.date(),
            effective_at=when,
        )


def test_a_trial_is_free_and_limited(
    customer: Account, trial_plan: Any, admin_user: Any, make_plan: Any
) -> None:
    # given a plan with a 30-day trial of at most 25 units
    with pytest.raises(ValidationError, match="at most 25"):
        start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9), quantity=26)
    # when a trial starts
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    # then it is a trial until 30 April, and nothing is charged
    assert trial.status == SubscriptionStatus.TRIAL
    assert trial.trial_end == date(2025, 5, 1)
    assert (trial.current_period_start, trial.current_period_end) == (
        date(2025, 4, 1),
        date(2025, 5, 1),
    )
    assert not Charge.objects.exists()
    # one trial per account and product
    with pytest.raises(ValidationError, match="already had a trial"):
        start_trial(customer, trial_plan, admin_user, at(2025, 4, 2, 9))
    no_trial = make_plan("12.00")
    with pytest.raises(ValidationError, match="has no trial"):
        start_trial(customer, no_trial, admin_user, at(2025, 4, 2, 9))
    assert Subscription.objects.count() == 1


def test_trial_upgrade_to_paid_charges_from_the_conversion_day(
    customer: Account,
    trial_plan: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a 30-day trial started on 1 April (billing day 1, prorated, invoiced on order day)
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    # when it is upgraded to 10 paid seats on 16 April
    when = at(2025, 4, 16, 11)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        change = trials.trial_upgrade_to_paid(
            actor=admin_user, subscription=trial, quantity=10, effective_at=when
        )
    # then the paid subscription starts that day, aligned to the 1st: 10 x 12.00 x 15/30
    trial.refresh_from_db()
    assert change.kind == ChangeKind.TRIAL_CONVERTED
    assert trial.status == SubscriptionStatus.ACTIVE
    assert trial.quantity == 10
    assert (trial.current_period_start, trial.current_period_end) == (
        date(2025, 4, 16),
        date(2025, 5, 1),
    )
    assert trial.term_start == date(2025, 4, 16)
    assert lines(customer) == [("04-16", "04-30", "60.00")]
    assert Invoice.objects.get().invoice_date == date(2025, 4, 16)
    # and the billing run on 1 May renews it for a full month
    with time_machine.travel(at(2025, 5, 1, 6), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2025, 5, 1))
    assert lines(customer)[-1] == ("05-01", "05-31", "120.00")
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.ACTIVE
    # a converted trial cannot be upgraded again
    with pytest.raises(ValidationError, match="not a trial"):
        trials.trial_upgrade_to_paid(actor=admin_user, subscription=trial, quantity=3)


def test_trial_upgrade_on_the_last_day_and_not_after(
    customer: Account,
    trial_plan: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    # the last day of a trial ending (exclusive) 1 May is 30 April: 7 x 12.00 x 1/30 = 2.80
    when = at(2025, 4, 30, 23)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        trials.trial_upgrade_to_paid(
            actor=admin_user, subscription=first, quantity=7, effective_at=when
        )
    assert lines(customer) == [("04-30", "04-30", "2.80")]


def test_an_ended_trial_cannot_be_upgraded_and_expires(
    customer: Account, trial_plan: Any, admin_user: Any
) -> None:
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    with pytest.raises(ValidationError, match="ended on 2025-04-30"):
        trials.trial_upgrade_to_paid(
            actor=admin_user, subscription=trial, quantity=5, effective_at=at(2025, 5, 1, 0, 1)
        )
    # the expiry job leaves it alone on its last day, and ends it the day after
    with time_machine.travel(at(2025, 4, 30, 23), tick=False):
        assert expire_trials() == 0
    with time_machine.travel(at(2025, 5, 1, 2), tick=False):
        assert expire_trials() == 1
        assert expire_trials() == 0
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.EXPIRED
    assert trial.ended_on == date(2025, 5, 1)
    assert trial.changes.filter(kind=ChangeKind.EXPIRED).count() == 1
    assert (
        Event.objects.filter(name="subscription.expired", aggregate_id=str(trial.pk)).count() == 1
    )
    assert not Charge.objects.exists()


def test_extending_a_trial_moves_its_end(
    customer: Account, trial_plan: Any, admin_user: Any
) -> None:
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    with pytest.raises(ValidationError, match="after 2025-05-01"):
        trials.trial_extend(
            actor=admin_user,
            subscription=trial,
            new_end=date(2025, 4, 20),
            effective_at=at(2025, 4, 10, 9),
        )
    change = trials.trial_extend(
        actor=admin_user,
        subscription=trial,
        new_end=date(2025, 5, 15),
        effective_at=at(2025, 4, 10, 9),
    )
    trial.refresh_from_db()
    assert change.kind == ChangeKind.TRIAL_EXTENDED
    assert change.details == {"old_end": "2025-05-01", "new_end": "2025-05-15"}
    assert (trial.trial_end, trial.current_period_end, trial.term_end) == (
        date(2025, 5, 15),
        date(2025, 5, 15),
        date(2025, 5, 15),
    )
    with time_machine.travel(at(2025, 5, 2, 2), tick=False):
        assert expire_trials() == 0
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.TRIAL


def notices_sent(trial: Subscription) -> list[int]:
    return [
        event.payload["days_before"]
        for event in Event.objects.filter(
            name="subscription.trial_ending", aggregate_id=str(trial.pk)
        ).order_by("pk")
    ]


def test_trial_ending_notices_7_3_1_days_before_once_each(
    customer: Account, trial_plan: Any, admin_user: Any
) -> None:
    # given a 30-day trial ending (exclusive) on 1 May
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    # when the daily job runs every day, twice a day
    for day in range(1, 31):
        for hour in (3, 15):
            with time_machine.travel(at(2025, 4, day, hour), tick=False):
                send_trial_notices()
    # then 7, 3 and 1 days before the end, each once
    assert notices_sent(trial) == [7, 3, 1]
    assert TrialNotice.objects.filter(subscription=trial).count() == 3
    event = Event.objects.filter(name="subscription.trial_ending").first()
    assert event.payload["trial_last_day"] == "2025-04-30"


def test_no_trial_notice_in_the_first_half(
    customer: Account, make_plan: Any, admin_user: Any
) -> None:
    # given a 10-day trial: the 7-day notice would fall on its third day
    plan = make_plan("12.00", trial_enabled=True, trial_days=10)
    trial = start_trial(customer, plan, admin_user, at(2025, 4, 1, 9))
    for day in range(1, 12):
        with time_machine.travel(at(2025, 4, day, 3), tick=False):
            send_trial_notices()
    assert notices_sent(trial) == [3, 1]


def test_a_missed_notice_day_is_caught_up_once(
    customer: Account, trial_plan: Any, admin_user: Any
) -> None:
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    # the job did not run on 24 April (7 days before); on the 25th the 7-day notice goes out
    with time_machine.travel(at(2025, 4, 25, 3), tick=False):
        assert send_trial_notices() == 1
        assert send_trial_notices() == 0
    # on the 29th, with 2 days left, the 3-day notice goes out, not a second 7-day one
    with time_machine.travel(at(2025, 4, 29, 3), tick=False):
        assert send_trial_notices() == 1
    assert notices_sent(trial) == [7, 3]


def test_trial_upgrade_refuses_bad_quantity_and_changes_nothing(
    customer: Account, trial_plan: Any, admin_user: Any
) -> None:
    trial = start_trial(customer, trial_plan, admin_user, at(2025, 4, 1, 9))
    with pytest.raises(ValidationError) as refused:
        trials.trial_upgrade_to_paid(
            actor=admin_user, subscription=trial, quantity=0, effective_at=at(2025, 4, 5, 9)
        )
    assert "quantity" in refused.value.message_dict
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.TRIAL
    assert trial.quantity == 5
    assert not Charge.objects.exists()
    assert Decimal(trial.unit_price) == Decimal("12.0000")
