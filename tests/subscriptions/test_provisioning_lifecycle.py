"""Lifecycle actions of a provisioned subscription reach the vendor (spec 4: "all
provisioning actions sent to the third party"), against a vendor endpoint on loopback.

Every subscription here is 10 seats at 12.00 a month bought on 1 July 2026 at 10:00 by a
customer billed on the 1st, provisioned (created) at once by the vendor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from billing.engine import bill_account
from catalogue.models import BundleComponent, ProductKind, ProductPlan
from catalogue.services import upgrade_add
from subscriptions import provisioning, services, trials
from subscriptions.bundles import bundle_subscribe
from subscriptions.models import ChangeKind, Subscription, SubscriptionChange
from subscriptions.provisioning_tasks import (
    Busy,
    provision_attempt,
    provision_subscription,
    sending_lock,
    sweep_pending_provisioning,
)
from tests.billing.factories import ProductFactory, ProductTypeFactory
from tests.subscriptions.fake_vendor import FakeVendor

pytestmark = pytest.mark.django_db

JULY_1 = date(2026, 7, 1)


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    with time_machine.travel(at(2026, 7, 1, 10), tick=False) as traveller:
        yield traveller


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Call a service and let its after-commit work (the vendor request) run."""

    def call(service: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return service(actor=None, **kwargs)

    return call


@pytest.fixture
def seats(
    customer: Account, seats_plan: ProductPlan, subscribe: Any, run: Any, vendor: FakeVendor
) -> Subscription:
    """10 active seats the vendor created (its first request, ``create``)."""

    def create(actor: Any, **kwargs: Any) -> Subscription:
        return subscribe(customer, seats_plan, 10, JULY_1, effective_at=at(2026, 7, 1, 10))

    subscription = run(create)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.provisioning_status) == ("active", "synced")
    return subscription


def sent(vendor: FakeVendor) -> list[tuple[str, int]]:
    return [(body["action"], body["quantity"]) for body in vendor.provisioned]


def attempt(subscription: Subscription, kind: str) -> SubscriptionChange:
    return subscription.changes.filter(kind=kind).latest("pk")


@pytest.fixture
def premium_plan(make_plan: Callable[..., ProductPlan], seats_plan: ProductPlan) -> ProductPlan:
    """An upgrade of the seats, provisioned by the same vendor."""
    product = ProductFactory(
        product_type=seats_plan.product.product_type,
        code="M365-BS",
        name="Business Standard",
        max_quantity=None,
    )
    upgrade_add(actor=None, source=seats_plan.product, target=product)
    return make_plan("20.00", product=product)


def test_a_partial_upgrade_into_an_existing_subscription_changes_both_quantities(
    customer: Account,
    seats: Subscription,
    premium_plan: ProductPlan,
    subscribe: Any,
    vendor: FakeVendor,
    run: Any,
) -> None:
    def create(actor: Any, **kwargs: Any) -> Subscription:
        return subscribe(customer, premium_plan, 2, JULY_1, effective_at=at(2026, 7, 1, 10))

    premium = run(create)
    run(
        services.subscription_upgrade,
        subscription=seats,
        target_product=premium_plan.product,
        target_plan=premium_plan,
        quantity=3,
        target_subscription=premium,
    )

    # the vendor hears both sides: the source keeps 7 seats, the target has 5
    assert sent(vendor) == [
        ("create", 10),
        ("create", 2),
        ("change_quantity", 5),
        ("change_quantity", 7),
    ]
    assert [body["subscription"]["number"] for body in vendor.provisioned[2:]] == [
        premium.number,
        seats.number,
    ]
    for item in (seats, premium):
        item.refresh_from_db()
        assert item.provisioning_status == "synced"


def test_a_full_upgrade_cancels_the_source_at_the_vendor_and_creates_the_target(
    seats: Subscription, premium_plan: ProductPlan, vendor: FakeVendor, run: Any
) -> None:
    target = run(
        services.subscription_upgrade,
        subscription=seats,
        target_product=premium_plan.product,
        target_plan=premium_plan,
        quantity=10,
    )

    seats.refresh_from_db()
    assert (seats.status, seats.provisioning_status) == ("canceled", "synced")
    assert sent(vendor) == [("create", 10), ("create", 10), ("cancel", 10)]
    assert [body["subscription"]["number"] for body in vendor.provisioned[1:]] == [
        target.number,
        seats.number,
    ]


# --------------------------------------------------------------------------- each action


def test_suspend_then_resume_reach_the_vendor_in_order_and_sync(
    seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    run(services.subscription_suspend, subscription=seats, reason="Unpaid")
    seats.refresh_from_db()
    assert (seats.status, seats.provisioning_status) == ("suspended", "synced")

    run(services.subscription_resume, subscription=seats)
    seats.refresh_from_db()

    assert (seats.status, seats.provisioning_status, seats.provisioning_error) == (
        "active",
        "synced",
        "",
    )
    assert sent(vendor) == [("create", 10), ("suspend", 10), ("resume", 10)]
    suspend, resume = vendor.requests[1], vendor.requests[2]
    suspended = attempt(seats, ChangeKind.SUSPENDED)
    assert suspend["body"]["request_id"] == f"{seats.number}-{suspended.pk}"
    assert suspend["headers"]["Idempotency-Key"] == f"{seats.number}-{suspended.pk}"
    assert suspend["body"]["subscription"]["status"] == "suspended"
    assert resume["body"]["request_id"] == f"{seats.number}-{attempt(seats, 'resumed').pk}"
    assert resume["body"]["subscription"]["status"] == "active"


def test_a_quantity_change_sends_the_new_quantity(
    seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    run(services.subscription_change_quantity, subscription=seats, new_quantity=12)
    seats.refresh_from_db()

    assert (seats.quantity, seats.provisioning_status) == (12, "synced")
    assert sent(vendor) == [("create", 10), ("change_quantity", 12)]


def test_an_immediate_cancellation_sends_cancel(
    seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    run(
        services.subscription_cancel,
        subscription=seats,
        timing="immediate",
        refund="none",
        reason="Closing down",
    )
    seats.refresh_from_db()

    assert (seats.status, seats.provisioning_status) == ("canceled", "synced")
    assert sent(vendor) == [("create", 10), ("cancel", 10)]
    body = vendor.provisioned[1]
    assert body["subscription"]["status"] == "canceled"
    assert body["subscription"]["end_date"] == "2026-07-01"


def test_an_end_of_period_cancellation_is_sent_when_the_billing_run_ends_it(
    customer: Account, seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    run(services.subscription_cancel, subscription=seats, timing="end_of_period")
    seats.refresh_from_db()
    assert (seats.status, seats.provisioning_status) == ("pending_cancel", "synced")
    assert sent(vendor) == [("create", 10)]  # only scheduled: the vendor keeps it running

    with time_machine.travel(at(2026, 8, 1, 6), tick=False):
        run(
            lambda actor, **kw: bill_account(actor=actor, **kw),
            billing_account_id=customer.pk,
            run_date=date(2026, 8, 1),
        )
    seats.refresh_from_db()

    assert (seats.status, seats.ended_on, seats.provisioning_status) == (
        "canceled",
        date(2026, 8, 1),
        "synced",
    )
    assert sent(vendor) == [("create", 10), ("cancel", 10)]
    assert vendor.provisioned[1]["subscription"]["end_date"] == "2026-08-01"


def test_a_trial_that_ends_without_upgrade_is_deprovisioned(
    make_plan: Callable[..., ProductPlan],
    integration: Any,
    customer: Account,
    subscribe: Any,
    vendor: FakeVendor,
    run: Any,
) -> None:
    plan = make_plan(
        "12.00",
        product_type=ProductTypeFactory(integration=integration.code),
        trial_enabled=True,
        trial_days=30,
    )
    trial = run(lambda actor: subscribe(customer, plan, 10, JULY_1, trial=True))
    trial.refresh_from_db()

    run(lambda actor: trials.expire_ended_trials(today=trial.trial_end))
    trial.refresh_from_db()

    assert (trial.status, trial.provisioning_status) == ("expired", "synced")
    assert [(b["action"], b["subscription"]["trial"]) for b in vendor.provisioned] == [
        ("create", True),
        ("expire", False),
    ]


# ------------------------------------------------------------------- failures and retries


def test_a_refused_suspension_fails_provisioning_but_the_subscription_stays_suspended(
    seats: Subscription, vendor: FakeVendor, run: Any, admin_client: Any
) -> None:
    vendor.answer("failed: Tenant is locked by the vendor.")

    run(services.subscription_suspend, subscription=seats)
    seats.refresh_from_db()
    page = admin_client.get(seats.get_absolute_url()).content.decode()

    assert (seats.status, seats.provisioning_status, seats.provisioning_error) == (
        "suspended",
        "failed",
        "Tenant is locked by the vendor.",
    )
    assert "Provisioning failed: Tenant is locked by the vendor." in page
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": seats.pk}) in page


def test_retry_sends_the_failed_action_again_under_a_new_key(
    seats: Subscription, vendor: FakeVendor, run: Any, admin_client: Any, clock: Any
) -> None:
    vendor.answer("http 503: Maintenance window.")
    run(services.subscription_change_quantity, subscription=seats, new_quantity=15)
    seats.refresh_from_db()
    assert (seats.quantity, seats.provisioning_status) == (15, "failed")
    assert (
        seats.provisioning_error
        == "The provisioning endpoint answered HTTP 503 Service Unavailable. Maintenance window."
    )

    clock.shift(timedelta(minutes=5))
    run(
        lambda actor: admin_client.post(
            reverse("subscriptions:op_reprovision", kwargs={"pk": seats.pk}), {}
        )
    )
    seats.refresh_from_db()
    page = admin_client.get(seats.get_absolute_url()).content.decode()

    assert (seats.status, seats.quantity, seats.provisioning_status) == ("active", 15, "synced")
    assert sent(vendor) == [("create", 10), ("change_quantity", 15), ("change_quantity", 15)]
    keys = [r["headers"]["Idempotency-Key"] for r in vendor.requests]
    retry = attempt(seats, ChangeKind.REPROVISIONED)
    assert keys[1:] == [
        f"{seats.number}-{attempt(seats, ChangeKind.QUANTITY).pk}",
        f"{seats.number}-{retry.pk}",
    ]
    assert retry.details == {"provisioning_action": "change_quantity"}
    assert 'id="provisioning-failed"' not in page
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": seats.pk}) not in page


def test_a_refused_cancellation_stays_canceled_and_retry_sends_cancel(
    seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    vendor.answer("failed: Licences still assigned.")
    run(services.subscription_cancel, subscription=seats, timing="immediate", refund="none")
    seats.refresh_from_db()
    assert (seats.status, seats.provisioning_status) == ("canceled", "failed")
    assert seats.provisioning_error == "Licences still assigned."

    run(services.subscription_reprovision, subscription=seats)
    seats.refresh_from_db()

    assert (seats.status, seats.provisioning_status) == ("canceled", "synced")
    assert [a for a, _ in sent(vendor)] == ["create", "cancel", "cancel"]
    with pytest.raises(ValidationError) as refused:
        services.subscription_reprovision(actor=None, subscription=seats)
    assert refused.value.message_dict == {
        "status": ["Only a failed subscription can be reprovisioned."]
    }


# ----------------------------------------------------------------------- no integration


def test_a_subscription_without_integration_sends_nothing(
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    subscribe: Any,
    vendor: FakeVendor,
    run: Any,
) -> None:
    plain = make_plan("12.00")
    subscription = run(lambda actor: subscribe(customer, plain, 10, JULY_1))
    run(services.subscription_suspend, subscription=subscription)
    subscription.refresh_from_db()
    run(services.subscription_resume, subscription=subscription)
    run(services.subscription_change_quantity, subscription=subscription, new_quantity=11)
    run(services.subscription_cancel, subscription=subscription, timing="immediate", refund="none")
    subscription.refresh_from_db()

    assert (subscription.status, subscription.provisioning_status) == ("canceled", "not_required")
    assert vendor.requests == []


# --------------------------------------------------------------------------- idempotency


def test_a_job_delivered_twice_sends_and_records_once(
    seats: Subscription, vendor: FakeVendor, run: Any
) -> None:
    run(services.subscription_suspend, subscription=seats)
    suspended = attempt(seats, ChangeKind.SUSPENDED).pk

    again = provision_subscription.delay(seats.pk, suspended).get()

    assert again == "not waiting"
    assert sent(vendor) == [("create", 10), ("suspend", 10)]
    assert seats.changes.filter(kind=ChangeKind.SUSPENDED).count() == 1


def test_a_late_job_for_an_older_attempt_sends_nothing(
    seats: Subscription, vendor: FakeVendor
) -> None:
    services.subscription_suspend(actor=None, subscription=seats)  # its job not run yet
    seats.refresh_from_db()
    services.subscription_resume(actor=None, subscription=seats)
    suspended = attempt(seats, ChangeKind.SUSPENDED).pk
    resumed = attempt(seats, ChangeKind.RESUMED).pk

    outcomes = [
        provision_subscription.delay(seats.pk, suspended).get(),
        provision_subscription.delay(seats.pk, resumed).get(),
    ]
    seats.refresh_from_db()

    # The vendor gets the latest state: resumed (every request carries status and quantity).
    assert outcomes == ["not waiting", "provisioned"]
    assert sent(vendor) == [("create", 10), ("resume", 10)]
    assert (seats.status, seats.provisioning_status) == ("active", "synced")


def test_one_request_per_subscription_is_on_the_wire(
    seats: Subscription, vendor: FakeVendor
) -> None:
    services.subscription_suspend(actor=None, subscription=seats)
    suspended = attempt(seats, ChangeKind.SUSPENDED).pk

    with sending_lock(seats.pk), pytest.raises(Busy):
        provision_attempt(seats.pk, suspended)
    outcome = provision_attempt(seats.pk, suspended)

    assert outcome == "provisioned"
    assert sent(vendor) == [("create", 10), ("suspend", 10)]


def test_the_sweep_sends_an_unsent_cancellation(
    seats: Subscription, vendor: FakeVendor, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.subscription_cancel(  # the broker was down: never queued
        actor=None, subscription=seats, timing="immediate", refund="none"
    )
    seats.refresh_from_db()
    assert (seats.status, seats.provisioning_status) == ("canceled", "pending")

    clock.shift(timedelta(minutes=13))
    with django_capture_on_commit_callbacks(execute=True):
        queued = sweep_pending_provisioning.delay().get()
    seats.refresh_from_db()

    assert queued == 1
    assert (seats.status, seats.provisioning_status) == ("canceled", "synced")
    assert sent(vendor) == [("create", 10), ("cancel", 10)]


# ------------------------------------------------------------------------------- bundles


def test_a_bundle_sends_its_provisioned_components_quantity_and_cancellation(
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    seats_plan: ProductPlan,
    vendor: FakeVendor,
    run: Any,
) -> None:
    backup = make_plan("5.00")  # a component of a type without integration
    bundle_product = ProductFactory(kind=ProductKind.BUNDLE)
    bundle_plan = make_plan("15.00", product=bundle_product)
    BundleComponent.objects.create(bundle=bundle_product, component=seats_plan.product, quantity=3)
    BundleComponent.objects.create(bundle=bundle_product, component=backup.product, quantity=1)
    bundle = run(
        bundle_subscribe,
        account=customer,
        product=bundle_product,
        plan=bundle_plan,
        quantity=2,
        start_date=JULY_1,
    )
    seats = Subscription.objects.get(bundle=bundle, product=seats_plan.product)
    other = Subscription.objects.get(bundle=bundle, product=backup.product)

    vendor.answer("failed: Only 6 seats are free.")
    run(services.subscription_change_quantity, subscription=bundle, new_quantity=4)
    seats.refresh_from_db()
    assert (seats.quantity, seats.provisioning_status) == (12, "failed")
    assert seats.provisioning_error == "Only 6 seats are free."

    run(services.subscription_reprovision, subscription=bundle)  # retries the component
    run(services.subscription_cancel, subscription=bundle, timing="immediate", refund="none")
    for subscription in (bundle, seats, other):
        subscription.refresh_from_db()

    assert sent(vendor) == [
        ("create", 6),
        ("change_quantity", 12),
        ("change_quantity", 12),
        ("cancel", 12),
    ]
    assert {body["product"]["sku"] for body in vendor.provisioned} == {"M365-BB"}
    assert (seats.status, seats.provisioning_status) == ("canceled", "synced")
    assert (bundle.status, bundle.provisioning_status) == ("canceled", "not_required")
    assert (other.status, other.provisioning_status) == ("canceled", "not_required")
    assert not provisioning.is_provisioned(bundle)
