"""Spec section 19: proration, billing days, quantity changes and cancellations to the cent."""

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
from catalogue.models import BillingCycle
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionStatus

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def lines_of(invoice: Invoice) -> list[tuple[str, str, str]]:
    return [
        (f"{line.period_start:%m-%d}", f"{line.last_day:%m-%d}", f"{line.net:.2f}")
        for line in invoice.lines.order_by("position")
    ]


def invoices_of(account: Account) -> list[Invoice]:
    return list(Invoice.objects.filter(billing_account=account).order_by("pk"))


def order(
    subscribe: Any, account: Account, plan: Any, quantity: int, when: datetime, capture: Any
) -> Subscription:
    with time_machine.travel(when, tick=False), capture(execute=True):
        return subscribe(account, plan, quantity, when.date(), effective_at=when)


def run(account: Account, day: date) -> Any:
    with time_machine.travel(at(day.year, day.month, day.day, 6), tick=False):
        return bill_account(actor=None, billing_account_id=account.pk, run_date=day)


def test_s01_prorated_first_month_then_full_month(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("31.00")
    subscription = order(
        subscribe, customer, plan, 1, at(2019, 7, 9, 10), django_capture_on_commit_callbacks
    )
    assert (subscription.current_period_start, subscription.current_period_end) == (
        date(2019, 7, 9),
        date(2019, 8, 1),
    )
    [first] = invoices_of(customer)
    assert first.invoice_date == date(2019, 7, 9)
    assert lines_of(first) == [("07-09", "07-31", "23.00")]
    assert first.gross_total == Decimal("23.00")

    run(customer, date(2019, 8, 1))
    second = invoices_of(customer)[1]
    assert second.invoice_date == date(2019, 8, 1)
    assert lines_of(second) == [("08-01", "08-31", "31.00")]
    subscription.refresh_from_db()
    assert subscription.current_period_end == date(2019, 9, 1)


def test_s02_thirty_day_april_and_vat(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("12.00")
    order(subscribe, customer, plan, 10, at(2025, 4, 16, 9), django_capture_on_commit_callbacks)
    [first] = invoices_of(customer)
    assert lines_of(first) == [("04-16", "04-30", "60.00")]
    run(customer, date(2025, 5, 1))
    assert lines_of(invoices_of(customer)[1]) == [("05-01", "05-31", "120.00")]


def test_s03_partial_charges_wait_for_the_billing_day(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Account.objects.filter(pk=customer.pk).update(
        partial_charges=Account.PartialCharges.BILLING_DAY
    )
    customer.refresh_from_db()
    plan = make_plan("12.00")
    order(subscribe, customer, plan, 10, at(2025, 4, 16, 9), django_capture_on_commit_callbacks)
    assert invoices_of(customer) == []
    run(customer, date(2025, 4, 30))
    assert invoices_of(customer) == []
    run(customer, date(2025, 5, 1))
    [invoice] = invoices_of(customer)
    assert lines_of(invoice) == [("04-16", "04-30", "60.00"), ("05-01", "05-31", "120.00")]
    assert invoice.gross_total == Decimal("180.00")


@pytest.mark.parametrize(
    ("price", "ordered", "expected"),
    [("62.00", at(2026, 1, 10, 9), "44.00"), ("60.00", at(2026, 4, 10, 9), "42.00")],
)
def test_s04_actual_days(
    customer: Account,
    make_plan: Any,
    subscribe: Any,
    django_capture_on_commit_callbacks: Any,
    price: str,
    ordered: datetime,
    expected: str,
) -> None:
    order(subscribe, customer, make_plan(price), 1, ordered, django_capture_on_commit_callbacks)
    [invoice] = invoices_of(customer)
    assert invoice.lines.get().net == Decimal(expected)


def test_85_16_from_the_issue(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order(
        subscribe,
        customer,
        make_plan("12.00"),
        10,
        at(2026, 1, 10, 9),
        django_capture_on_commit_callbacks,
    )
    assert invoices_of(customer)[0].lines.get().net == Decimal("85.16")


def test_s05_exclude_from_pro_rata_bills_a_full_anniversary_month(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("31.00", exclude_from_proration=True)
    subscription = order(
        subscribe, customer, plan, 1, at(2019, 7, 9, 9), django_capture_on_commit_callbacks
    )
    assert lines_of(invoices_of(customer)[0]) == [("07-09", "08-08", "31.00")]
    assert subscription.term_end == date(2019, 8, 9)


def test_s06_product_billing_day(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("30.00", billing_date_rule="specific_day", billing_day=15)
    order(subscribe, customer, plan, 1, at(2025, 7, 10, 9), django_capture_on_commit_callbacks)
    assert lines_of(invoices_of(customer)[0]) == [("07-10", "07-14", "5.00")]
    run(customer, date(2025, 7, 15))
    assert lines_of(invoices_of(customer)[1]) == [("07-15", "08-14", "30.00")]


def test_annual_and_triennial_prorated_to_the_billing_day(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    annual = make_plan("365.00", cycle=BillingCycle.ANNUAL, commitment=12)
    triennial = make_plan("1096.00", cycle=BillingCycle.TRIENNIAL, commitment=36)
    order(subscribe, customer, annual, 1, at(2026, 1, 10, 9), django_capture_on_commit_callbacks)
    order(subscribe, customer, triennial, 1, at(2026, 1, 10, 9), django_capture_on_commit_callbacks)
    # [10 Jan, 1 Feb) of the annual cycle [1 Feb 2025, 1 Feb 2026) = 22/365 of 365.00.
    assert lines_of(invoices_of(customer)[0]) == [("01-10", "01-31", "22.00")]
    # [1 Feb 2023, 1 Feb 2026) has 1,096 days (2024 is a leap year): 22/1096 of 1,096.00.
    assert lines_of(invoices_of(customer)[1]) == [("01-10", "01-31", "22.00")]
    run(customer, date(2026, 2, 1))
    renewal = invoices_of(customer)[2]
    assert {line[2] for line in lines_of(renewal)} == {"365.00", "1096.00"}


def test_s07_quantity_increase_mid_period_is_invoiced_at_once(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("12.00")
    subscription = order(
        subscribe, customer, plan, 10, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    assert lines_of(invoices_of(customer)[0]) == [("04-01", "04-30", "120.00")]
    with (
        time_machine.travel(at(2025, 4, 21, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.subscription_change_quantity(
            actor=None, subscription=subscription, new_quantity=15, effective_at=at(2025, 4, 21, 9)
        )
    assert lines_of(invoices_of(customer)[1]) == [("04-21", "04-30", "20.00")]
    run(customer, date(2025, 5, 1))
    assert lines_of(invoices_of(customer)[2]) == [("05-01", "05-31", "180.00")]


def test_quantity_decrease_mid_period_credits_the_unused_days(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("12.00")
    subscription = order(
        subscribe, customer, plan, 10, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    with (
        time_machine.travel(at(2025, 4, 21, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.subscription_change_quantity(
            actor=None, subscription=subscription, new_quantity=7, effective_at=at(2025, 4, 21, 9)
        )
    credit = invoices_of(customer)[1]
    assert credit.is_credit
    assert credit.gross_total == Decimal("12.00")  # 3 x 12.00 x 10/30


def test_s08_quantity_change_guards(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Account.objects.filter(pk=customer.pk).update(
        partial_charges=Account.PartialCharges.BILLING_DAY
    )
    plan = make_plan("12.00")
    subscription = order(
        subscribe, customer, plan, 10, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    services.subscription_cancel(
        actor=None,
        subscription=subscription,
        timing="end_of_period",
        effective_at=at(2025, 4, 10, 9),
    )
    with pytest.raises(ValidationError, match="pending for cancel"):
        services.subscription_change_quantity(
            actor=None, subscription=subscription, new_quantity=12, effective_at=at(2025, 4, 11, 9)
        )
    services.subscription_revoke_cancellation(actor=None, subscription=subscription)
    Subscription.objects.filter(pk=subscription.pk).update(price_protected_until=date(2025, 6, 1))
    with pytest.raises(ValidationError, match="price protected"):
        services.subscription_change_quantity(
            actor=None, subscription=subscription, new_quantity=12, effective_at=at(2025, 4, 11, 9)
        )


def test_s09_cancellation_options(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("12.00")
    end_of_period, immediate, specific = (
        order(subscribe, customer, plan, 10, at(2025, 4, 1, 9), django_capture_on_commit_callbacks)
        for _ in range(3)
    )
    now = at(2025, 4, 21, 9)
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.subscription_cancel(
            actor=None, subscription=end_of_period, timing="end_of_period", effective_at=now
        )
        services.subscription_cancel(
            actor=None, subscription=immediate, timing="immediate", effective_at=now
        )
        with pytest.raises(ValidationError, match="future"):
            services.subscription_cancel(
                actor=None,
                subscription=specific,
                timing="specific_date",
                cancel_date=date(2025, 4, 25),
                effective_at=now,
            )
        with pytest.raises(ValidationError, match="current billing cycle"):
            services.subscription_cancel(
                actor=None,
                subscription=specific,
                timing="specific_date",
                cancel_date=date(2025, 3, 28),
                effective_at=now,
            )
        services.subscription_cancel(
            actor=None,
            subscription=specific,
            timing="specific_date",
            cancel_date=date(2025, 4, 18),
            effective_at=now,
        )
    refunds = dict(
        Charge.objects.filter(kind="refund_credit").values_list("subscription_id", "amount")
    )
    assert refunds == {immediate.pk: Decimal("-40.00"), specific.pk: Decimal("-52.00")}
    end_of_period.refresh_from_db()
    assert end_of_period.status == SubscriptionStatus.PENDING_CANCEL
    run(customer, date(2025, 5, 1))
    end_of_period.refresh_from_db()
    assert end_of_period.status == SubscriptionStatus.CANCELED
    assert not Charge.objects.filter(
        subscription_id=end_of_period.pk, period_start=date(2025, 5, 1)
    ).exists()
    with pytest.raises(ValidationError):
        services.subscription_resume(actor=None, subscription=immediate)


def test_s10_software_refund_window(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.billing.factories import ProductTypeFactory

    software = ProductTypeFactory(
        cancellation_window_hours=168,
        full_refund_hours=24,
        allow_partial_cancellation=False,
        offer_cancel_specific_date=False,
        offer_cancel_end_of_period=False,
    )
    Account.objects.filter(pk=customer.pk).update(is_prorated=False)
    customer.refresh_from_db()
    plan = make_plan("1200.00", cycle=BillingCycle.ANNUAL, commitment=12, product_type=software)
    purchased = at(2024, 3, 1, 10)
    full, prorated, late = (
        order(subscribe, customer, plan, 1, purchased, django_capture_on_commit_callbacks)
        for _ in range(3)
    )
    for subscription, when, expected in [
        (full, at(2024, 3, 1, 20), Decimal("1200.00")),
        (prorated, at(2024, 3, 4, 10), Decimal("1190.14")),
    ]:
        with time_machine.travel(when, tick=False):
            preview = services.cancellation_preview(subscription, timing="immediate", at=when)
            assert preview.amount == expected
            change = services.subscription_cancel(
                actor=None, subscription=subscription, timing="immediate", effective_at=when
            )
        assert change.refund_amount == expected
    with (
        time_machine.travel(at(2024, 3, 8, 11), tick=False),
        pytest.raises(ValidationError, match="168 hours"),
    ):
        services.subscription_cancel(
            actor=None, subscription=late, timing="immediate", effective_at=at(2024, 3, 8, 11)
        )
    with pytest.raises(ValidationError, match="does not offer"):
        services.subscription_cancel(
            actor=None, subscription=late, timing="end_of_period", effective_at=at(2024, 3, 2, 11)
        )
