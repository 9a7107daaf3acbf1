"""Trials: conversion charges the setup fee once; add-ons on trial end with their trial."""

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
from subscriptions.lifecycle_tasks import expire_trials
from subscriptions.models import ChangeKind, Subscription, SubscriptionStatus
from tests.billing.factories import ProductFactory

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def lines(account: Account) -> list[tuple[str, str, str, str]]:
    return [
        (
            line.charge.kind,
            f"{line.period_start:%m-%d}",
            f"{line.last_day:%m-%d}",
            f"{line.net:.2f}",
        )
        for invoice in Invoice.objects.filter(billing_account=account).order_by("pk")
        for line in invoice.lines.select_related("charge").order_by("position")
    ]


@pytest.fixture
def fee_plan(make_plan: Any) -> Any:
    """12.00 a seat a month, a 25.00 setup fee a seat, a 30-day trial."""
    return make_plan("12.00", setup_fee="25.00", trial_enabled=True, trial_days=30)


def start_trial(account: Account, plan: Any, actor: Any, when: datetime, quantity: int = 5, **kw):
    with time_machine.travel(when, tick=False):
        return trials.trial_create(
            actor=actor,
            account=account,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            start_date=when.date(),
            effective_at=when,
            **kw,
        )


def convert(trial: Subscription, actor: Any, when: datetime, quantity: int, capture: Any, **kw):
    with time_machine.travel(when, tick=False), capture(execute=True):
        return trials.trial_upgrade_to_paid(
            actor=actor, subscription=trial, quantity=quantity, effective_at=when, **kw
        )


def test_conversion_charges_the_setup_fee_once_with_the_prorated_first_period(
    customer: Account,
    fee_plan: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a trial started on 1 April: free, so no setup fee yet
    trial = start_trial(customer, fee_plan, admin_user, at(2025, 4, 1, 9))
    assert not Charge.objects.exists()
    # when the preview is asked on 16 April for 10 seats
    quote = trials.trial_upgrade_quote(trial, quantity=10, on=date(2025, 4, 16))
    # then it shows 10 x 12.00 x 15/30 = 60.00 and 10 x 25.00 = 250.00, 310.00 in all
    assert (quote.first_period.net, quote.setup_fee_total, quote.total) == (
        Decimal("60.00"),
        Decimal("250.00"),
        Decimal("310.00"),
    )
    # and the upgrade that day invoices exactly that
    convert(trial, admin_user, at(2025, 4, 16, 11), 10, django_capture_on_commit_callbacks)
    assert lines(customer) == [
        ("prorated_charge", "04-16", "04-30", "60.00"),
        ("setup_fee", "04-16", "04-16", "250.00"),
    ]
    assert Invoice.objects.get().gross_total == Decimal("310.00")
    # and the 1 May run bills the month, without a second setup fee
    for _ in range(2):
        with time_machine.travel(at(2025, 5, 1, 6), tick=False):
            bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2025, 5, 1))
    assert lines(customer)[-1] == ("recurring_advance", "05-01", "05-31", "120.00")
    assert Charge.objects.filter(kind="setup_fee").count() == 1


def test_a_trial_without_a_setup_fee_converts_without_one(
    customer: Account,
    make_plan: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan = make_plan("12.00", trial_enabled=True, trial_days=30)
    trial = start_trial(customer, plan, admin_user, at(2025, 4, 1, 9))
    convert(trial, admin_user, at(2025, 4, 21, 9), 3, django_capture_on_commit_callbacks)
    # 3 x 12.00 x 10/30
    assert lines(customer) == [("prorated_charge", "04-21", "04-30", "12.00")]


def test_conversion_to_another_plan_of_the_product(
    customer: Account,
    fee_plan: Any,
    make_plan: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an annual plan of the same product: 120.00 a seat a year, 10.00 setup fee
    annual = make_plan("120.00", cycle="annual", setup_fee="10.00", product=fee_plan.product)
    other = make_plan("99.00")
    trial = start_trial(customer, fee_plan, admin_user, at(2025, 4, 1, 9))
    with pytest.raises(ValidationError) as refused:
        trials.trial_upgrade_quote(trial, quantity=2, plan=other, on=date(2025, 4, 16))
    assert list(refused.value.message_dict) == ["plan"]
    quote = trials.trial_upgrade_quote(trial, quantity=2, plan=annual, on=date(2025, 4, 16))
    # when it converts to 2 seats on the annual plan on 16 April
    convert(
        trial, admin_user, at(2025, 4, 16, 11), 2, django_capture_on_commit_callbacks, plan=annual
    )
    # then the plan, its cycle and its prices apply, and the invoice matches the preview
    trial.refresh_from_db()
    assert (trial.plan_id, trial.cycle_months, trial.setup_fee) == (
        annual.pk,
        12,
        Decimal("10.0000"),
    )
    # aligned to the 1st: 2 x 120.00 x 15/365 = 9.86, and 2 x 10.00 setup fee
    assert lines(customer) == [
        ("prorated_charge", "04-16", "04-30", "9.86"),
        ("setup_fee", "04-16", "04-16", "20.00"),
    ]
    assert quote.total == Invoice.objects.get().gross_total == Decimal("29.86")


@pytest.fixture
def addon_plan(make_plan: Any) -> Any:
    """An add-on at 2.00 a unit with a 30-day trial of its own."""
    return make_plan(
        "2.00",
        product=ProductFactory(kind="addon", max_quantity=None),
        trial_enabled=True,
        trial_days=30,
    )


@pytest.fixture
def trial_with_addon(
    customer: Account, fee_plan: Any, addon_plan: Any, admin_user: Any
) -> tuple[Subscription, Subscription]:
    """A trial ending (exclusive) 1 May and an add-on trial started 5 April, ending 5 May."""
    trial = start_trial(customer, fee_plan, admin_user, at(2025, 4, 1, 9))
    addon = start_trial(customer, addon_plan, admin_user, at(2025, 4, 5, 9), 2, parent=trial)
    assert (addon.status, addon.trial_end) == (SubscriptionStatus.TRIAL, date(2025, 5, 5))
    return trial, addon


def test_the_expiry_job_ends_trial_add_ons_with_their_trial(
    trial_with_addon: tuple[Subscription, Subscription],
) -> None:
    trial, addon = trial_with_addon
    # when the expiry job runs on 1 May, twice
    with time_machine.travel(at(2025, 5, 1, 2), tick=False):
        assert expire_trials() == 1
        assert expire_trials() == 0
    # then the add-on ended on the same day as its trial, for free
    trial.refresh_from_db()
    addon.refresh_from_db()
    assert (trial.status, trial.ended_on) == (SubscriptionStatus.EXPIRED, date(2025, 5, 1))
    assert (addon.status, addon.ended_on) == (SubscriptionStatus.EXPIRED, date(2025, 5, 1))
    assert addon.end_reason == "Trial ended with its subscription"
    assert addon.changes.filter(kind=ChangeKind.EXPIRED).count() == 1
    assert not Charge.objects.exists()


def test_add_on_trials_follow_a_trial_the_billing_run_expired(
    customer: Account, trial_with_addon: tuple[Subscription, Subscription]
) -> None:
    trial, addon = trial_with_addon
    # given the billing run of 1 May expired the trial itself
    with time_machine.travel(at(2025, 5, 1, 1), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2025, 5, 1))
    trial.refresh_from_db()
    addon.refresh_from_db()
    assert (trial.status, addon.status) == (SubscriptionStatus.EXPIRED, SubscriptionStatus.TRIAL)
    # when the expiry job runs the same day, then the add-on ends as of its trial's end
    with time_machine.travel(at(2025, 5, 1, 2), tick=False):
        assert expire_trials() == 1
    addon.refresh_from_db()
    assert (addon.status, addon.ended_on) == (SubscriptionStatus.EXPIRED, date(2025, 5, 1))
    assert not Charge.objects.exists()


def test_an_add_on_trial_ending_first_leaves_its_trial_running(
    customer: Account, fee_plan: Any, make_plan: Any, admin_user: Any
) -> None:
    short = make_plan(
        "2.00",
        product=ProductFactory(kind="addon", max_quantity=None),
        trial_enabled=True,
        trial_days=7,
    )
    trial = start_trial(customer, fee_plan, admin_user, at(2025, 4, 1, 9))
    addon = start_trial(customer, short, admin_user, at(2025, 4, 5, 9), 1, parent=trial)
    with time_machine.travel(at(2025, 4, 12, 2), tick=False):
        assert expire_trials() == 1
    trial.refresh_from_db()
    addon.refresh_from_db()
    assert (trial.status, addon.status) == (SubscriptionStatus.TRIAL, SubscriptionStatus.EXPIRED)
    assert addon.ended_on == date(2025, 4, 12)


def test_ending_a_trial_early_ends_its_trial_add_ons(
    trial_with_addon: tuple[Subscription, Subscription], admin_user: Any
) -> None:
    trial, addon = trial_with_addon
    # the product type offers paid subscriptions no immediate cancellation: trials still end
    product_type = trial.product.product_type
    type(product_type).objects.filter(pk=product_type.pk).update(offer_cancel_immediate=False)
    trial.refresh_from_db()
    with time_machine.travel(at(2025, 4, 10, 9), tick=False):
        change = trials.trial_end_now(actor=admin_user, subscription=trial, reason="Not needed")
    trial.refresh_from_db()
    addon.refresh_from_db()
    assert (change.kind, change.refund_amount) == (ChangeKind.CANCEL, Decimal(0))
    assert (trial.status, trial.ended_on, trial.end_reason) == (
        SubscriptionStatus.CANCELED,
        date(2025, 4, 10),
        "Not needed",
    )
    assert (addon.status, addon.ended_on) == (SubscriptionStatus.CANCELED, date(2025, 4, 10))
    assert addon.end_reason == f"Ended with {trial.number}"
    assert Event.objects.filter(name="subscription.canceled").count() == 2
    assert not Charge.objects.exists()
    # a paid subscription is never ended through here
    with pytest.raises(ValidationError, match="not a trial"):
        trials.trial_end_now(actor=admin_user, subscription=trial)
