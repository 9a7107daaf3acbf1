"""Issue 7 and 8 acceptance: upgrades, downgrades, renewals, taxes and currencies to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Account
from billing.models import Charge
from billing.seed import seed_eu_vat
from bss.setup.models import ExchangeRate
from catalogue.models import BillingCycle, Promotion
from catalogue.services import upgrade_add
from subscriptions import services
from subscriptions.models import FutureRequest, SubscriptionStatus
from tests.billing.factories import CustomerFactory, ProductFactory
from tests.subscriptions.test_worked_examples import at, invoices_of, lines_of, order, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def upgrade_path(make_plan: Any) -> tuple[Any, Any]:
    basic = make_plan("10.00")
    premium = make_plan("20.00", product_type=basic.product.product_type)
    upgrade_add(actor=None, source=basic.product, target=premium.product)
    return basic, premium


def test_full_upgrade_credits_the_source_and_charges_the_target(
    customer: Account, upgrade_path: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    basic, premium = upgrade_path
    source = order(
        subscribe, customer, basic, 6, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    with (
        time_machine.travel(at(2025, 4, 21, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        target = services.subscription_upgrade(
            actor=None,
            subscription=source,
            target_product=premium.product,
            target_plan=premium,
            quantity=6,
            effective_at=at(2025, 4, 21, 9),
        )
    source.refresh_from_db()
    assert source.status == SubscriptionStatus.CANCELED
    assert target.quantity == 6
    # Source: 6 x 10.00 x 10/30 = 20.00 back; target: 6 x 20.00 x 10/30 = 40.00.
    assert Charge.objects.get(subscription_id=source.pk, kind="prorated_credit").amount == Decimal(
        "-20.00"
    )
    assert Charge.objects.get(subscription_id=target.pk).amount == Decimal("40.00")
    invoice = invoices_of(customer)[1]
    assert sorted(line[2] for line in lines_of(invoice)) == ["-20.00", "40.00"]
    assert invoice.gross_total == Decimal("20.00")


def test_partial_upgrade_to_an_existing_subscription(
    customer: Account, upgrade_path: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    basic, premium = upgrade_path
    source = order(
        subscribe, customer, basic, 10, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    existing = order(
        subscribe, customer, premium, 2, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    with (
        time_machine.travel(at(2025, 4, 21, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        target = services.subscription_upgrade(
            actor=None,
            subscription=source,
            target_product=premium.product,
            target_plan=premium,
            quantity=4,
            target_subscription=existing,
            effective_at=at(2025, 4, 21, 9),
        )
    source.refresh_from_db()
    assert (source.status, source.quantity, target.pk, target.quantity) == (
        SubscriptionStatus.ACTIVE,
        6,
        existing.pk,
        6,
    )
    # 4 seats leave: 4 x 10.00 x 10/30 = 13.33 back; 4 seats arrive: 4 x 20.00 x 10/30 = 26.67.
    assert Charge.objects.get(subscription_id=source.pk, kind="prorated_credit").amount == Decimal(
        "-13.33"
    )
    assert Charge.objects.get(
        subscription_id=existing.pk, kind="prorated_charge"
    ).amount == Decimal("26.67")
    with pytest.raises(ValidationError, match="not an upgrade"):
        services.subscription_upgrade(
            actor=None,
            subscription=existing,
            target_product=basic.product,
            target_plan=basic,
            quantity=1,
        )


def test_downgrade_takes_effect_at_the_end_of_the_period(
    customer: Account, upgrade_path: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    basic, premium = upgrade_path
    subscription = order(
        subscribe, customer, premium, 3, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    request = services.subscription_schedule_downgrade(
        actor=None, subscription=subscription, target_product=basic.product, target_plan=basic
    )
    assert request.status == FutureRequest.Status.PENDING
    run(customer, date(2025, 4, 30))
    subscription.refresh_from_db()
    assert subscription.product_id == premium.product_id
    run(customer, date(2025, 5, 1))
    subscription.refresh_from_db()
    request.refresh_from_db()
    assert subscription.product_id == basic.product_id
    assert request.status == FutureRequest.Status.COMPLETED
    assert lines_of(invoices_of(customer)[-1]) == [("05-01", "05-31", "30.00")]


def test_renewal_with_an_expired_promotion_s19(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("15.00", exclude_from_proration=True)
    promotion = Promotion.objects.create(
        name="Spring",
        start_date=date(2025, 5, 1),
        end_date=date(2025, 5, 31),
        kind="limited_recurring",
        cycles=2,
        discount_type="percentage",
        percent=Decimal("20"),
        for_annual=False,
        for_triennial=False,
    )
    promotion.products.add(plan.product)
    order(subscribe, customer, plan, 4, at(2025, 5, 10, 9), django_capture_on_commit_callbacks)
    run(customer, date(2025, 6, 10))
    run(customer, date(2025, 7, 10))
    totals = [invoice.gross_total for invoice in invoices_of(customer)]
    assert totals == [Decimal("48.00"), Decimal("48.00"), Decimal("60.00")]


def test_a_renewal_keeps_the_term_and_reprices_from_the_price_list(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("100.00", cycle=BillingCycle.ANNUAL, commitment=12)
    subscription = order(
        subscribe, customer, plan, 1, at(2025, 1, 1, 9), django_capture_on_commit_callbacks
    )
    plan.prices.update(price=Decimal("120.00"))
    run(customer, date(2025, 12, 31))
    assert len(invoices_of(customer)) == 1
    run(customer, date(2026, 1, 1))
    subscription.refresh_from_db()
    assert (subscription.term_start, subscription.term_end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert lines_of(invoices_of(customer)[1]) == [("01-01", "12-31", "120.00")]
    assert subscription.changes.filter(kind="renewed").count() == 1


def test_auto_renew_off_expires_at_the_term_end(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("10.00")
    with (
        time_machine.travel(at(2025, 4, 1, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        subscription = subscribe(
            customer, plan, 1, date(2025, 4, 1), auto_renew=False, effective_at=at(2025, 4, 1, 9)
        )
    run(customer, date(2025, 5, 1))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.EXPIRED
    assert len(invoices_of(customer)) == 1


def test_reverse_charge_eu_customer(
    make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seed_eu_vat()
    german = CustomerFactory(
        is_ordering_enabled=True,
        country="DE",
        vat_number="DE123456789",
        is_prorated=True,
        partial_charges="order_day",
    )
    greek = CustomerFactory(
        is_ordering_enabled=True, country="GR", is_prorated=True, partial_charges="order_day"
    )
    plan = make_plan("100.00")
    order(subscribe, german, plan, 1, at(2026, 3, 1, 9), django_capture_on_commit_callbacks)
    order(subscribe, greek, plan, 1, at(2026, 3, 1, 9), django_capture_on_commit_callbacks)
    [reverse] = invoices_of(german)
    [domestic] = invoices_of(greek)
    assert (reverse.is_reverse_charge, reverse.tax_total, reverse.gross_total) == (
        True,
        Decimal("0.00"),
        Decimal("100.00"),
    )
    assert (domestic.tax_total, domestic.gross_total) == (Decimal("24.00"), Decimal("124.00"))


def test_transaction_currency_customer_keeps_both_amounts(
    make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any, currencies: Any
) -> None:
    ExchangeRate.objects.create(
        currency=currencies["USD"], rate=Decimal("0.92"), valid_from=date(2026, 1, 1)
    )
    account = CustomerFactory(
        is_ordering_enabled=True,
        is_taxable=False,
        transaction_currency="USD",
        is_prorated=True,
        partial_charges="order_day",
    )
    order(
        subscribe,
        account,
        make_plan("62.00"),
        1,
        at(2026, 3, 10, 9),
        django_capture_on_commit_callbacks,
    )
    [invoice] = invoices_of(account)
    # 62.00 x 22/31 = 44.00 EUR; at 0.92 EUR per USD that is 47.83 USD.
    assert invoice.gross_total == Decimal("44.00")
    assert invoice.transaction_gross_total == Decimal("47.83")


def test_jpy_account_rounds_to_whole_yen(
    make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    account = CustomerFactory(
        is_ordering_enabled=True,
        is_taxable=False,
        currency="JPY",
        is_prorated=True,
        partial_charges="order_day",
    )
    plan = make_plan("1234", currency="JPY")
    order(subscribe, account, plan, 3, at(2026, 1, 10, 9), django_capture_on_commit_callbacks)
    # 3 x 1,234 x 22/31 = 2,627.23 → 2,627 yen.
    assert lines_of(invoices_of(account)[0]) == [("01-10", "01-31", "2627.00")]
    run(account, date(2026, 2, 1))
    assert invoices_of(account)[1].gross_total == Decimal("3702")


def test_single_subscription_products_allow_one_live_subscription(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("10.00", product=ProductFactory(single_subscription=True))
    order(subscribe, customer, plan, 1, at(2026, 1, 10, 9), django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="already has a live"):
        order(subscribe, customer, plan, 1, at(2026, 1, 11, 9), django_capture_on_commit_callbacks)


def test_rerunning_the_same_date_bills_nothing_twice(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan("12.00")
    order(subscribe, customer, plan, 10, at(2025, 4, 16, 9), django_capture_on_commit_callbacks)
    for _ in range(3):
        run(customer, date(2025, 6, 1))
    totals = [invoice.gross_total for invoice in invoices_of(customer)]
    # The order-day invoice, then one run that caught up May and June on one invoice.
    assert totals == [Decimal("60.00"), Decimal("240.00")]
    assert Charge.objects.filter(invoice__isnull=True).count() == 0


def test_monthly_run_rate_s16(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from subscriptions.selectors import annual_run_rate, monthly_run_rate

    monthly = make_plan("20.00")
    annual = make_plan("100.00", cycle=BillingCycle.ANNUAL, commitment=12)
    with (
        time_machine.travel(at(2026, 1, 1, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        subscribe(customer, monthly, 5, date(2026, 1, 1), discount_percent=Decimal("10"))
        subscribe(customer, annual, 2, date(2026, 1, 1))
    assert monthly_run_rate(customer) == Decimal("106.67")
    assert annual_run_rate(customer) == Decimal("1280.00")
