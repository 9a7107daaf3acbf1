"""Provisioning against a vendor endpoint on loopback: pending, active, failed, reprovisioned.

Every subscription here is 10 seats at 12.00 a month bought on 1 July 2026 at 10:00 by a
customer billed on the 1st, so its first period [1 Jul, 1 Aug) is charged 120.00.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from billing.engine import bill_account
from billing.models import Charge, Invoice
from catalogue import gsd
from catalogue.models import BundleComponent, Product, ProductKind, ProductPlan
from subscriptions import provisioning, services
from subscriptions.bundles import bundle_subscribe
from subscriptions.models import (
    ChangeKind,
    ProvisioningStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from subscriptions.provisioning_tasks import provision_subscription, sweep_pending_provisioning
from tests.billing.factories import ProductFactory, ProductTypeFactory
from tests.subscriptions.fake_vendor import (
    TOKEN,
    FakeVendor,
    closed_port_url,
)

pytestmark = pytest.mark.django_db

D = Decimal
JULY_1 = date(2026, 7, 1)


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    with time_machine.travel(at(2026, 7, 1, 10), tick=False) as traveller:
        yield traveller


@pytest.fixture
def buy(
    customer: Account, subscribe: Callable[..., Subscription], django_capture_on_commit_callbacks
) -> Callable[..., Subscription]:
    """Buy 10 seats and let the after-commit work (provisioning, invoicing) run."""

    def make(plan: ProductPlan, **kwargs: Any) -> Subscription:
        with django_capture_on_commit_callbacks(execute=True):
            subscription = subscribe(
                customer, plan, 10, JULY_1, effective_at=at(2026, 7, 1, 10), **kwargs
            )
        subscription.refresh_from_db()
        return subscription

    return make


def kinds(subscription: Subscription) -> list[str]:
    return list(subscription.changes.order_by("pk").values_list("kind", flat=True))


# ------------------------------------------------------------------------------- outcomes


def test_the_vendor_succeeds_and_the_subscription_becomes_active(
    customer: Account, seats_plan: ProductPlan, vendor: FakeVendor, buy: Any
) -> None:
    subscription = buy(seats_plan, provisioning_attributes={"domain": "acme.example"})

    assert (subscription.status, subscription.provisioning_status) == ("active", "synced")
    assert subscription.provisioning_error == ""
    assert kinds(subscription) == ["created", "activated"]
    [request] = vendor.requests
    created = subscription.changes.get(kind=ChangeKind.CREATED)
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Idempotency-Key"] == f"{subscription.number}-{created.pk}"
    assert request["body"] == {
        "action": "create",
        "request_id": f"{subscription.number}-{created.pk}",
        "subscription": {
            "number": subscription.number,
            "name": "Business Basic",
            "start_date": "2026-07-01",
            "trial": False,
            "status": "pending",
            "end_date": None,
        },
        "account": {"number": customer.number, "name": customer.name},
        "product": {"sku": "M365-BB", "name": "Business Basic", "product_type": "M365"},
        "plan": {"billing_cycle": "monthly", "commitment_months": 0},
        "quantity": 10,
        "attributes": {"domain": "acme.example"},
    }


def test_a_refusal_fails_the_subscription_with_the_vendors_message(
    seats_plan: ProductPlan, vendor: FakeVendor, buy: Any
) -> None:
    vendor.answer("failed: The domain acme.example is taken.")

    subscription = buy(seats_plan)

    assert (subscription.status, subscription.provisioning_status) == ("failed", "failed")
    assert subscription.provisioning_error == "The domain acme.example is taken."
    assert kinds(subscription) == ["created", "failed"]
    assert subscription.changes.get(kind="failed").note == "The domain acme.example is taken."


def test_an_http_error_fails_it_with_the_status_and_message(
    seats_plan: ProductPlan, vendor: FakeVendor, buy: Any
) -> None:
    vendor.answer("http 503: Maintenance until 12:00.")

    subscription = buy(seats_plan)

    assert subscription.status == SubscriptionStatus.FAILED
    assert subscription.provisioning_error == (
        "The provisioning endpoint answered HTTP 503 Service Unavailable. Maintenance until 12:00."
    )


def test_a_wrong_token_fails_it(seats_plan: ProductPlan, integration: Any, buy: Any) -> None:
    gsd.integration_update(actor=None, integration=integration, auth_token="Bearer wrong")

    subscription = buy(seats_plan)

    assert subscription.provisioning_error == (
        "The provisioning endpoint answered HTTP 401 Unauthorized. Bad token."
    )


def test_an_unreachable_endpoint_fails_it(
    seats_plan: ProductPlan, integration: Any, buy: Any
) -> None:
    gsd.integration_update(actor=None, integration=integration, endpoint_url=closed_port_url())

    subscription = buy(seats_plan)

    assert subscription.status == SubscriptionStatus.FAILED
    assert subscription.provisioning_error.startswith(
        "The provisioning endpoint cannot be reached: [Errno 111] Connection refused"
    )


def test_a_vendor_slower_than_the_timeout_fails_it(
    seats_plan: ProductPlan, integration: Any, vendor: FakeVendor, buy: Any
) -> None:
    gsd.integration_update(actor=None, integration=integration, timeout_seconds=1)
    vendor.answer("slow 3")

    subscription = buy(seats_plan)

    assert subscription.status == SubscriptionStatus.FAILED
    assert subscription.provisioning_error == (
        "The provisioning endpoint did not answer within 1 seconds."
    )


def test_an_answer_without_a_verdict_fails_it() -> None:
    assert provisioning.read_verdict(b'{"ok": true}') == provisioning.ProvisioningResult(
        succeeded=False,
        message='The provisioning answer has no "status" of "succeeded" or "failed".',
    )
    assert provisioning.read_verdict(b"<html>").message == (
        "The provisioning answer is not valid JSON."
    )


def test_without_an_active_integration_it_is_active_at_once(
    seats_plan: ProductPlan, integration: Any, vendor: FakeVendor, buy: Any
) -> None:
    gsd.integration_update(actor=None, integration=integration, is_active=False)

    subscription = buy(seats_plan)

    assert (subscription.status, subscription.provisioning_status) == ("active", "not_required")
    assert vendor.requests == []


# ---------------------------------------------------------------------------- reprovision


def test_reprovision_goes_pending_then_active(
    seats_plan: ProductPlan, vendor: FakeVendor, buy: Any, django_capture_on_commit_callbacks
) -> None:
    vendor.answer("failed: No licences left.")
    subscription = buy(seats_plan)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.subscription_reprovision(actor=None, subscription=subscription)
    waiting = Subscription.objects.get(pk=subscription.pk)
    for callback in queued:
        callback()
    subscription.refresh_from_db()

    assert (waiting.status, waiting.provisioning_status, waiting.provisioning_error) == (
        "pending",
        "pending",
        "",
    )
    assert (subscription.status, subscription.provisioning_status) == ("active", "synced")
    assert kinds(subscription) == ["created", "failed", "reprovisioned", "activated"]
    second = subscription.changes.get(kind=ChangeKind.REPROVISIONED)
    assert [body["action"] for body in vendor.provisioned] == ["create", "reprovision"]
    assert vendor.provisioned[1]["request_id"] == f"{subscription.number}-{second.pk}"


def test_only_a_failed_subscription_is_reprovisioned(seats_plan: ProductPlan, buy: Any) -> None:
    subscription = buy(seats_plan)

    with pytest.raises(ValidationError) as refused:
        services.subscription_reprovision(actor=None, subscription=subscription)

    assert refused.value.message_dict == {
        "status": ["Only a failed subscription can be reprovisioned."]
    }
    assert kinds(subscription) == ["created", "activated"]


# ----------------------------------------------------------------------------- idempotency


def test_a_job_delivered_twice_provisions_and_activates_once(
    customer: Account, seats_plan: ProductPlan, vendor: FakeVendor, subscribe: Any
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1)  # its job is not run yet
    attempt = subscription.changes.get(kind=ChangeKind.CREATED).pk

    first = provision_subscription.delay(subscription.pk, attempt).get()
    second = provision_subscription.delay(subscription.pk, attempt).get()

    subscription.refresh_from_db()
    assert (first, second) == ("provisioned", "not waiting")
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert kinds(subscription) == ["created", "activated"]
    assert len(vendor.requests) == 1


def test_a_late_answer_to_an_old_attempt_changes_nothing(
    seats_plan: ProductPlan, vendor: FakeVendor, buy: Any
) -> None:
    vendor.answer("failed: Busy.", "failed: Still busy.")
    subscription = buy(seats_plan)
    old_attempt = subscription.changes.get(kind=ChangeKind.CREATED).pk
    services.subscription_reprovision(actor=None, subscription=subscription)  # job not run

    outcome = provision_subscription.delay(subscription.pk, old_attempt).get()

    subscription.refresh_from_db()
    assert outcome == "not waiting"
    assert subscription.status == SubscriptionStatus.PENDING
    assert len(vendor.requests) == 1


def test_the_vendor_sees_one_key_when_the_answer_was_lost(
    customer: Account, seats_plan: ProductPlan, vendor: FakeVendor, subscribe: Any
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1)
    attempt = subscription.changes.get(kind=ChangeKind.CREATED)
    request = provisioning.build_request(subscription, attempt)
    integration = provisioning.integration_for(subscription.product)
    provisioner = provisioning.get_provisioner("generic_json")
    assert provisioner is not None

    provisioner.provision(integration, request)  # the answer that got lost
    provision_subscription.delay(subscription.pk, attempt.pk).get()

    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert [r["replayed"] for r in vendor.requests] == [False, True]
    assert len(vendor.provisioned) == 1


def test_the_sweep_sends_attempts_that_were_never_queued(
    customer: Account,
    seats_plan: ProductPlan,
    vendor: FakeVendor,
    subscribe: Any,
    clock: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1)  # the broker was down
    with django_capture_on_commit_callbacks(execute=True):
        too_early = sweep_pending_provisioning.delay().get()
    clock.shift(timedelta(minutes=13))
    with django_capture_on_commit_callbacks(execute=True):
        swept = sweep_pending_provisioning.delay().get()

    subscription.refresh_from_db()
    assert (too_early, swept) == (0, 1)
    assert subscription.status == SubscriptionStatus.ACTIVE


# ------------------------------------------------------------------------ billing and rules


def test_a_pending_subscription_is_charged_invoiced_and_rolled_like_an_active_one(
    customer: Account, seats_plan: ProductPlan, subscribe: Any
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1, effective_at=at(2026, 7, 1, 10))
    assert subscription.status == SubscriptionStatus.PENDING

    with time_machine.travel(at(2026, 7, 1, 11), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=JULY_1)
    with time_machine.travel(at(2026, 8, 1, 6), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2026, 8, 1))

    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PENDING
    assert (subscription.current_period_start, subscription.current_period_end) == (
        date(2026, 8, 1),
        date(2026, 9, 1),
    )
    charges = Charge.objects.filter(subscription_id=subscription.pk).order_by("period_start")
    assert [(c.period_start, c.amount) for c in charges] == [
        (date(2026, 7, 1), D("120.00")),
        (date(2026, 8, 1), D("120.00")),
    ]
    invoices = Invoice.objects.filter(billing_account=customer).order_by("pk")
    assert [invoice.net_total for invoice in invoices] == [D("120.00"), D("120.00")]


def test_a_failed_subscription_is_not_charged_for_a_new_period(
    customer: Account, seats_plan: ProductPlan, vendor: FakeVendor, buy: Any
) -> None:
    vendor.answer("failed: Tenant locked.")
    subscription = buy(seats_plan)

    with time_machine.travel(at(2026, 8, 1, 6), tick=False):
        bill_account(actor=None, billing_account_id=customer.pk, run_date=date(2026, 8, 1))

    subscription.refresh_from_db()
    charges = Charge.objects.filter(subscription_id=subscription.pk)
    assert [(c.period_start, c.amount) for c in charges] == [(date(2026, 7, 1), D("120.00"))]
    assert subscription.current_period_start == date(2026, 8, 1)


def test_operations_that_need_an_active_subscription_refuse_a_pending_one(
    customer: Account, seats_plan: ProductPlan, subscribe: Any
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1)

    with pytest.raises(ValidationError) as quantity:
        services.subscription_change_quantity(
            actor=None, subscription=subscription, new_quantity=12
        )
    with pytest.raises(ValidationError) as suspend:
        services.subscription_suspend(actor=None, subscription=subscription)

    assert quantity.value.message_dict == {
        "status": [
            f"Only an active subscription allows a quantity change; {subscription.number} is "
            "Pending."
        ]
    }
    assert suspend.value.message_dict == {
        "status": ["A subscription that is Pending cannot become Suspended."]
    }
    subscription.refresh_from_db()
    assert (subscription.status, subscription.quantity) == ("pending", 10)


def test_a_pending_subscription_can_be_canceled_and_its_late_answer_is_ignored(
    customer: Account, seats_plan: ProductPlan, vendor: FakeVendor, subscribe: Any
) -> None:
    subscription = subscribe(customer, seats_plan, 10, JULY_1)
    attempt = subscription.changes.get(kind=ChangeKind.CREATED).pk
    services.subscription_cancel(
        actor=None, subscription=subscription, timing="immediate", refund="none"
    )

    outcome = provision_subscription.delay(subscription.pk, attempt).get()

    subscription.refresh_from_db()
    assert (outcome, subscription.status) == ("not waiting", "canceled")
    assert vendor.requests == []


# ----------------------------------------------------------------------- trials and bundles


def test_a_failed_trial_is_reprovisioned_and_stays_a_trial(
    make_plan: Callable[..., ProductPlan],
    integration: Any,
    vendor: FakeVendor,
    buy: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    product_type = ProductTypeFactory(integration=integration.code)
    plan = make_plan("12.00", product_type=product_type, trial_enabled=True, trial_days=30)
    vendor.answer("failed: Trials are paused.")

    trial = buy(plan, trial=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_reprovision(actor=None, subscription=trial)
    trial.refresh_from_db()

    assert (trial.status, trial.provisioning_status) == ("trial", "synced")
    assert kinds(trial) == ["trial_started", "reprovisioned"]
    assert [(b["action"], b["subscription"]["trial"]) for b in vendor.provisioned] == [
        ("create", True),
        ("reprovision", True),
    ]


def test_a_failed_trial_shows_the_reason_and_stays_a_trial(
    make_plan: Callable[..., ProductPlan], integration: Any, vendor: FakeVendor, buy: Any
) -> None:
    plan = make_plan(
        "12.00",
        product_type=ProductTypeFactory(integration=integration.code),
        trial_enabled=True,
        trial_days=30,
    )
    vendor.answer("failed: Trials are paused.")

    trial = buy(plan, trial=True)

    assert (trial.status, trial.provisioning_status) == ("trial", "failed")
    assert trial.provisioning_error == "Trials are paused."


def test_a_bundle_is_active_and_its_provisioned_component_waits_for_the_vendor(
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    seats_plan: ProductPlan,
    vendor: FakeVendor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    backup = make_plan("5.00")  # a component of a type without integration
    bundle_product = ProductFactory(
        kind=ProductKind.BUNDLE,
        product_type=ProductTypeFactory(integration=seats_plan.product.product_type.integration),
    )
    bundle_plan = make_plan("15.00", product=bundle_product)
    for component in (seats_plan.product, backup.product):
        BundleComponent.objects.create(bundle=bundle_product, component=component, quantity=1)
    vendor.answer("failed: Seats unavailable.")

    with django_capture_on_commit_callbacks(execute=True):
        bundle = bundle_subscribe(
            actor=None,
            account=customer,
            product=bundle_product,
            plan=bundle_plan,
            quantity=2,
            start_date=JULY_1,
        )
    components = {
        c.product_id: c for c in Subscription.objects.filter(bundle=bundle).order_by("pk")
    }
    seats = components[seats_plan.product.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_reprovision(actor=None, subscription=seats)

    bundle.refresh_from_db()
    seats.refresh_from_db()
    assert (bundle.status, bundle.provisioning_status) == ("active", "not_required")
    assert components[backup.product.pk].status == SubscriptionStatus.ACTIVE
    assert (seats.status, seats.provisioning_status) == ("active", "synced")
    assert [(b["product"]["sku"], b["quantity"]) for b in vendor.provisioned] == [
        ("M365-BB", 2),
        ("M365-BB", 2),
    ]
    assert Product.objects.get(pk=bundle_product.pk).kind == ProductKind.BUNDLE
    assert SubscriptionChange.objects.filter(subscription=seats, kind="failed").count() == 1
    assert seats.provisioning_status == ProvisioningStatus.SYNCED


def test_reprovisioning_a_bundle_retries_its_failed_components(
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    seats_plan: ProductPlan,
    vendor: FakeVendor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bundle_product = ProductFactory(kind=ProductKind.BUNDLE)
    bundle_plan = make_plan("15.00", product=bundle_product)
    BundleComponent.objects.create(bundle=bundle_product, component=seats_plan.product, quantity=3)
    vendor.answer("failed: Seats unavailable.")
    with django_capture_on_commit_callbacks(execute=True):
        bundle = bundle_subscribe(
            actor=None,
            account=customer,
            product=bundle_product,
            plan=bundle_plan,
            quantity=2,
            start_date=JULY_1,
        )
    [component] = Subscription.objects.filter(bundle=bundle)
    failed_first = Subscription.objects.get(pk=component.pk).status

    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_reprovision(actor=None, subscription=bundle)
    with pytest.raises(ValidationError) as nothing_left:
        services.subscription_reprovision(actor=None, subscription=bundle)

    component.refresh_from_db()
    assert failed_first == SubscriptionStatus.FAILED
    assert (component.status, component.provisioning_status) == ("active", "synced")
    assert [(b["action"], b["quantity"]) for b in vendor.provisioned] == [
        ("create", 6),
        ("reprovision", 6),
    ]
    assert nothing_left.value.message_dict == {
        "status": [f"No component of the bundle {bundle.number} failed provisioning."]
    }
    assert kinds(bundle) == ["created"]
