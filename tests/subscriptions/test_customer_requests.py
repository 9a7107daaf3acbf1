"""Customer requests: spec S12, the amount threshold, add-ons, downgrades, retried approvals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from billing.models import Charge
from bss.core.models import Event
from catalogue import services as catalogue_services
from subscriptions import requests
from subscriptions.lifecycle_tasks import approve_customer_request
from subscriptions.models import (
    CustomerRequest,
    CustomerRequestStatus,
    FutureRequest,
    Subscription,
    SubscriptionStatus,
)
from tests.billing.factories import ProductFactory, ProductTypeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def manager(db: None) -> Any:
    return UserFactory(email="manager@test.example")


@pytest.fixture
def product_type(db: None) -> Any:
    """Spec S12's type T: cancellation requests wait for a person."""
    return ProductTypeFactory(auto_exec_subscription_cancel=False)


@pytest.fixture
def bought(
    customer: Account,
    manager: Any,
    product_type: Any,
    make_plan: Any,
    subscribe: Any,
    django_capture_on_commit_callbacks: Any,
) -> Subscription:
    """10 seats x 12.00, April invoiced (120.00) on 1 April."""
    Account.objects.filter(pk=customer.pk).update(account_manager=manager)
    customer.refresh_from_db()
    plan = make_plan("12.00", product_type=product_type)
    when = at(2025, 4, 1, 9)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        return subscribe(customer, plan, 10, when.date(), effective_at=when)


def events(name: str) -> list[Event]:
    return list(Event.objects.filter(name=name).order_by("pk"))


def refunds(subscription: Subscription) -> list[Decimal]:
    return list(
        Charge.objects.filter(subscription_id=subscription.pk, kind="refund_credit").values_list(
            "amount", flat=True
        )
    )


def ask(subscription: Subscription, when: datetime, timing: str = "end_of_period", **kwargs: Any):
    with time_machine.travel(when, tick=False):
        return requests.customer_request_submit(
            actor=None,
            subscription=subscription,
            kind=kwargs.pop("kind", "cancel"),
            timing=timing,
            effective_at=when,
            **kwargs,
        )


def test_s12_request_waits_then_is_accepted_at_the_end_of_the_period(
    bought: Subscription, manager: Any, admin_user: Any
) -> None:
    # given type T does not auto-execute; when the customer cancels from the Storefront
    request = ask(bought, at(2025, 4, 10, 9))
    # then a pending request exists, the account manager is told, S is still active
    assert request.status == CustomerRequestStatus.PENDING
    [asked] = events("subscription.cancel_requested")
    assert asked.payload["account_manager_id"] == manager.pk
    assert asked.payload["request_id"] == request.pk
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.ACTIVE
    assert list(requests.pending_requests()) == [request]
    # a second request for the same subscription is refused while the first waits
    with pytest.raises(ValidationError, match="already has a request"):
        ask(bought, at(2025, 4, 10, 10))
    # (a) BSS accepts with End of Billing Period
    with time_machine.travel(at(2025, 4, 11, 9), tick=False):
        requests.customer_request_approve(actor=admin_user, request=request, timing="end_of_period")
    request.refresh_from_db()
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.PENDING_CANCEL
    assert request.status == CustomerRequestStatus.APPROVED
    assert request.handled_by == admin_user
    assert request.effective_date == date(2025, 5, 1)
    [completed] = events("subscription.cancel_request_completed")
    assert completed.payload["effective_date"] == "2025-05-01"
    assert refunds(bought) == []
    assert list(requests.pending_requests()) == []


def test_s12b_customer_revokes_before_handling(bought: Subscription, admin_user: Any) -> None:
    request = ask(bought, at(2025, 4, 10, 9))
    requests.customer_request_revoke(actor=None, request=request)
    request.refresh_from_db()
    assert request.status == CustomerRequestStatus.REVOKED
    assert len(events("subscription.cancel_request_cancelled")) == 1
    with pytest.raises(ValidationError, match="already handled"):
        requests.customer_request_approve(actor=admin_user, request=request)
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.ACTIVE


def test_s12c_automatic_execution_cancels_at_once(
    bought: Subscription, product_type: Any, django_capture_on_commit_callbacks: Any
) -> None:
    type(product_type).objects.filter(pk=product_type.pk).update(auto_exec_subscription_cancel=True)
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(bought, at(2025, 4, 21, 9), timing="immediate")
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.CANCELED
    assert request.status == CustomerRequestStatus.EXECUTED
    assert list(requests.pending_requests()) == []
    assert events("subscription.cancel_requested") == []
    assert len(events("subscription.cancel_request_completed")) == 1
    # 10 x 12.00 x 10/30 unused days of April
    assert refunds(bought) == [Decimal("-40.00")]


@pytest.mark.parametrize(("threshold", "executed"), [("30.00", False), ("40.00", True)])
def test_threshold_amount_sends_larger_refunds_to_a_person(
    bought: Subscription, product_type: Any, threshold: str, executed: bool
) -> None:
    type(product_type).objects.filter(pk=product_type.pk).update(
        auto_exec_subscription_cancel=True, auto_exec_threshold_amount=Decimal(threshold)
    )
    request = ask(bought, at(2025, 4, 21, 9), timing="immediate")
    assert request.amount == Decimal("40.00")
    assert (request.status == CustomerRequestStatus.EXECUTED) is executed
    bought.refresh_from_db()
    assert (bought.status == SubscriptionStatus.CANCELED) is executed


def test_a_retried_cancellation_job_refunds_once(
    bought: Subscription, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a waiting immediate cancellation request
    request = ask(bought, at(2025, 4, 21, 9), timing="immediate")
    # when the approval job runs, and is delivered again by the broker
    with (
        time_machine.travel(at(2025, 4, 21, 10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert approve_customer_request(request.pk, admin_user.pk) == "approved"
        assert approve_customer_request(request.pk, admin_user.pk) == "already handled"
    # and someone also clicks approve again
    with pytest.raises(ValidationError, match="already handled"):
        requests.customer_request_approve(actor=admin_user, request=request)
    # then one refund credit of 10 x 12.00 x 10/30
    assert refunds(bought) == [Decimal("-40.00")]
    assert len(events("subscription.cancel_request_completed")) == 1
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.CANCELED


def test_reject_leaves_the_subscription_alone(bought: Subscription, admin_user: Any) -> None:
    request = ask(bought, at(2025, 4, 10, 9))
    requests.customer_request_reject(actor=admin_user, request=request, reason="Under contract")
    request.refresh_from_db()
    assert request.status == CustomerRequestStatus.REJECTED
    assert "Under contract" in request.reason
    assert len(events("subscription.cancel_request_rejected")) == 1
    bought.refresh_from_db()
    assert bought.status == SubscriptionStatus.ACTIVE


def test_add_on_cancellation_requests(
    bought: Subscription, customer: Account, make_plan: Any, subscribe: Any, product_type: Any
) -> None:
    addon_plan = make_plan(
        "2.00",
        product=ProductFactory(product_type=product_type, kind="addon", max_quantity=None),
    )
    with time_machine.travel(at(2025, 4, 5, 9), tick=False):
        addon = subscribe(customer, addon_plan, 2, date(2025, 4, 5), parent=bought)
    with pytest.raises(ValidationError, match="is an add-on"):
        ask(addon, at(2025, 4, 10, 9), kind="cancel")
    with pytest.raises(ValidationError, match="is not an add-on"):
        ask(bought, at(2025, 4, 10, 9), kind="addon_cancel")
    request = ask(addon, at(2025, 4, 10, 9), kind="addon_cancel")
    assert request.status == CustomerRequestStatus.PENDING
    assert len(events("subscription.addon_cancel_requested")) == 1


def test_downgrade_request_schedules_the_downgrade_at_renewal(
    bought: Subscription, admin_user: Any, make_plan: Any, product_type: Any
) -> None:
    smaller_plan = make_plan("8.00", product_type=product_type)
    catalogue_services.upgrade_add(
        actor=admin_user, source=smaller_plan.product, target=bought.product
    )
    with pytest.raises(ValidationError) as refused:
        ask(bought, at(2025, 4, 10, 9), kind="downgrade")
    assert "target_product" in refused.value.message_dict
    request = ask(
        bought,
        at(2025, 4, 10, 9),
        kind="downgrade",
        target_product=smaller_plan.product,
        target_plan=smaller_plan,
    )
    assert request.status == CustomerRequestStatus.PENDING
    assert len(events("subscription.downgrade_requested")) == 1
    requests.customer_request_approve(actor=admin_user, request=request)
    [scheduled] = FutureRequest.objects.filter(subscription=bought)
    assert scheduled.renewal_value == smaller_plan.product.code
    request.refresh_from_db()
    assert request.effective_date == date(2025, 5, 1)
    assert CustomerRequest.objects.get().status == CustomerRequestStatus.APPROVED
