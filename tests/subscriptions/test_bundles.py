"""Bundles (spec 5.14): one billed subscription, components that follow it in everything."""

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
from catalogue.models import BundleComponent, Product
from subscriptions import bundles, services
from subscriptions.models import ChangeKind, Subscription, SubscriptionStatus
from tests.billing.factories import ProductFactory, ProductTypeFactory

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def bundle_plan(make_plan: Any) -> Any:
    """Office bundle at 30.00 a month: 1 mailbox and 2 storage units per bundle."""
    product_type = ProductTypeFactory()
    bundle = ProductFactory(kind=Product.Kind.BUNDLE, product_type=product_type, max_quantity=None)
    plan = make_plan("30.00", product=bundle)
    for position, (price, units) in enumerate([("20.00", 1), ("5.00", 2)]):
        component = make_plan(price, product_type=product_type).product
        BundleComponent.objects.create(
            bundle=bundle, component=component, quantity=units, position=position
        )
    return plan


def subscribe_bundle(customer: Account, plan: Any, when: datetime, capture: Any, **kwargs: Any):
    with time_machine.travel(when, tick=False), capture(execute=True):
        return bundles.bundle_subscribe(
            actor=None,
            account=customer,
            product=plan.product,
            plan=plan,
            quantity=3,
            start_date=when.date(),
            effective_at=when,
            **kwargs,
        )


def run(account: Account, day: date) -> None:
    with time_machine.travel(at(day.year, day.month, day.day, 6), tick=False):
        bill_account(actor=None, billing_account_id=account.pk, run_date=day)


def components_of(bundle: Subscription) -> list[Subscription]:
    return list(bundle.components.order_by("pk"))


def periods(subscription: Subscription) -> tuple[date, date, date]:
    return (
        subscription.current_period_start,
        subscription.current_period_end,
        subscription.term_end,
    )


def test_a_bundle_is_one_billed_subscription_with_components(
    customer: Account, bundle_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # when 3 bundles are ordered on 10 April (billing day 1, prorated)
    bundle = subscribe_bundle(
        customer, bundle_plan, at(2025, 4, 10, 9), django_capture_on_commit_callbacks
    )
    # then one bundle subscription and two components, quantities per bundle
    mailbox, storage = components_of(bundle)
    assert (mailbox.quantity, storage.quantity) == (3, 6)
    assert {mailbox.bundle_id, storage.bundle_id} == {bundle.pk}
    assert periods(mailbox) == periods(storage) == periods(bundle)
    # only the bundle is charged: 3 x 30.00 x 21/30
    assert list(Charge.objects.values_list("subscription_id", "amount")) == [
        (bundle.pk, Decimal("63.00"))
    ]
    assert Invoice.objects.get().gross_total == Decimal("63.00")


def test_a_bundle_without_components_or_plans_is_refused(
    customer: Account, make_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    empty = make_plan("30.00", product=ProductFactory(kind=Product.Kind.BUNDLE, max_quantity=None))
    with pytest.raises(ValidationError, match="has no components"):
        subscribe_bundle(customer, empty, at(2025, 4, 10, 9), django_capture_on_commit_callbacks)
    annual_only = make_plan("100.00", cycle="annual", commitment=12).product
    BundleComponent.objects.create(bundle=empty.product, component=annual_only)
    with pytest.raises(ValidationError, match="has no Monthly plan"):
        subscribe_bundle(customer, empty, at(2025, 4, 10, 9), django_capture_on_commit_callbacks)
    assert not Subscription.objects.exists()


def test_quantity_and_cancellation_act_on_the_whole_bundle(
    customer: Account, bundle_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bundle = subscribe_bundle(
        customer, bundle_plan, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    mailbox, storage = components_of(bundle)
    with pytest.raises(ValidationError, match="bundle"):
        services.subscription_change_quantity(
            actor=None, subscription=mailbox, new_quantity=4, effective_at=at(2025, 4, 11, 9)
        )
    with pytest.raises(ValidationError, match="bundle"):
        services.subscription_cancel(
            actor=None, subscription=storage, timing="immediate", effective_at=at(2025, 4, 11, 9)
        )
    with time_machine.travel(at(2025, 4, 11, 9), tick=False):
        services.subscription_change_quantity(
            actor=None, subscription=bundle, new_quantity=5, effective_at=at(2025, 4, 11, 9)
        )
    mailbox.refresh_from_db()
    storage.refresh_from_db()
    assert (mailbox.quantity, storage.quantity) == (5, 10)
    # 2 x 30.00 x 20/30 for the bundle, nothing for the components
    assert list(
        Charge.objects.filter(kind="prorated_charge").values_list("subscription_id", "amount")
    ) == [(bundle.pk, Decimal("40.00"))]


def test_renewal_and_end_of_period_cancellation_keep_components_in_step(
    customer: Account, bundle_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a bundle bought on 1 April
    bundle = subscribe_bundle(
        customer, bundle_plan, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    # when the billing run renews it on 1 May
    run(customer, date(2025, 5, 1))
    bundle.refresh_from_db()
    mailbox, storage = components_of(bundle)
    # then the components renewed with it, and only the bundle was billed: 3 x 30.00
    assert periods(bundle) == (date(2025, 5, 1), date(2025, 6, 1), date(2025, 6, 1))
    assert periods(mailbox) == periods(storage) == periods(bundle)
    assert mailbox.changes.filter(kind=ChangeKind.RENEWED).count() == 1
    assert sorted(Charge.objects.values_list("amount", flat=True)) == [
        Decimal("90.00"),
        Decimal("90.00"),
    ]
    assert set(Charge.objects.values_list("subscription_id", flat=True)) == {bundle.pk}
    # when the bundle is canceled at the end of May and the run reaches 1 June
    services.subscription_cancel(
        actor=None, subscription=bundle, timing="end_of_period", effective_at=at(2025, 5, 20, 9)
    )
    run(customer, date(2025, 6, 1))
    # then bundle and components are canceled together, each with one cancellation row
    for subscription in (bundle, mailbox, storage):
        subscription.refresh_from_db()
        assert subscription.status == SubscriptionStatus.CANCELED
        assert subscription.ended_on == date(2025, 6, 1)
        assert subscription.changes.filter(kind=ChangeKind.CANCEL).count() == 1
    assert Charge.objects.filter(period_start=date(2025, 6, 1)).count() == 0


def test_a_bundle_renewal_applies_a_scheduled_quantity_to_its_components(
    customer: Account, bundle_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bundle = subscribe_bundle(
        customer, bundle_plan, at(2025, 4, 1, 9), django_capture_on_commit_callbacks
    )
    services.future_request_create(
        actor=None, subscription=bundle, request_type="quantity", renewal_value="2"
    )
    run(customer, date(2025, 5, 1))
    mailbox, storage = components_of(bundle)
    assert (mailbox.quantity, storage.quantity) == (2, 4)


def test_the_same_order_item_subscribes_once(
    customer: Account, bundle_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = subscribe_bundle(
        customer,
        bundle_plan,
        at(2025, 4, 1, 9),
        django_capture_on_commit_callbacks,
        origin_order_item_id=77,
    )
    again = subscribe_bundle(
        customer,
        bundle_plan,
        at(2025, 4, 1, 9),
        django_capture_on_commit_callbacks,
        origin_order_item_id=77,
    )
    assert again == first
    assert Subscription.objects.count() == 3
