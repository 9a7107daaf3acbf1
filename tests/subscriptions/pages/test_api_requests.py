"""Customer request API: ask on a subscription, the pending queue, approve / reject /
revoke; refunds to the cent, each request handled once, rights as on the queue page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Charge
from bss.core.models import Event
from catalogue import services as catalogue_services
from subscriptions.models import (
    CustomerRequest,
    CustomerRequestStatus,
    FutureRequest,
    Subscription,
    SubscriptionStatus,
)
from tests.billing.factories import ProductFactory
from tests.subscriptions.pages.conftest import OPERATOR_RIGHTS

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/customer-requests/"


def ask(client: Any, subscription: Subscription, body: dict, **headers: Any) -> Any:
    return client.post(
        f"/api/v1/subscriptions/{subscription.pk}/requests/", body, format="json", **headers
    )


def decide(client: Any, request_id: int, decision: str, body: dict | None = None, **h: Any):
    return client.post(f"{QUEUE}{request_id}/{decision}/", body or {}, format="json", **h)


def refunds(subscription: Subscription) -> list[Decimal]:
    return list(
        Charge.objects.filter(subscription_id=subscription.pk, kind="refund_credit").values_list(
            "amount", flat=True
        )
    )


@pytest.fixture
def operator_api(operator: Any, api_client_for: Any) -> Any:
    return api_client_for(operator)


@pytest.fixture
def lower_plan(seats_plan: Any, make_plan: Any) -> Any:
    """8.00 a seat: a downgrade of the seats product."""
    lower = make_plan("8.00", product_type=seats_plan.product.product_type)
    catalogue_services.upgrade_add(actor=None, source=lower.product, target=seats_plan.product)
    return lower


# ----------------------------------------------------------------------------- submit


def test_a_cancellation_request_waits_and_is_approved_with_the_policy_refund(
    live_subscription: Subscription,
    operator_api: Any,
    admin_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given the customer asks for an immediate cancellation an hour after buying
    asked = ask(operator_api, live_subscription, {"kind": "cancel", "timing": "immediate"})
    # then it waits, with the refund the policy would give: all of 85.16 within 24 hours
    assert asked.status_code == 201
    body = asked.json()
    assert (body["status"], body["kind"], body["amount"], body["effective_date"]) == (
        "pending",
        "cancel",
        "85.1600",
        "2026-03-10",
    )
    assert body["via_storefront"] is False
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE
    assert Event.objects.filter(name="subscription.cancel_requested").count() == 1
    # when a person approves it, twice with one key
    key = {"HTTP_IDEMPOTENCY_KEY": "approve-once"}
    with django_capture_on_commit_callbacks(execute=True):
        approved = decide(admin_api, body["id"], "approve", **key)
        replay = decide(admin_api, body["id"], "approve", **key)
    # then it is canceled with one credit of 85.16
    assert approved.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert approved.json()["status"] == "approved"
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.CANCELED
    assert refunds(live_subscription) == [Decimal("-85.16")]
    # and approving again without the key is refused on the status
    again = decide(admin_api, body["id"], "approve")
    assert (again.status_code, list(again.json()["errors"])) == (400, ["status"])
    assert refunds(live_subscription) == [Decimal("-85.16")]


def test_the_approver_chooses_the_timing(
    live_subscription: Subscription, operator_api: Any, admin_api: Any
) -> None:
    asked = ask(operator_api, live_subscription, {"kind": "cancel", "timing": "immediate"})

    approved = decide(admin_api, asked.json()["id"], "approve", {"timing": "end_of_period"})

    assert (approved.json()["status"], approved.json()["effective_date"]) == (
        "approved",
        "2026-04-01",
    )
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.PENDING_CANCEL
    assert refunds(live_subscription) == []


def test_a_custom_refund_at_approval_needs_its_right(
    live_subscription: Subscription, operator: Any, api_client_for: Any, make_user: Any
) -> None:
    asked = ask(
        api_client_for(operator), live_subscription, {"kind": "cancel", "timing": "immediate"}
    )
    approver = make_user(*OPERATOR_RIGHTS, "subscriptions.approve_requests")
    operator.roles.add(*approver.roles.all())

    refused = decide(
        api_client_for(operator),
        asked.json()["id"],
        "approve",
        {"refund": "custom", "custom_refund": "20.00"},
    )

    assert (refused.status_code, list(refused.json()["errors"])) == (400, ["refund"])
    assert CustomerRequest.objects.get().status == CustomerRequestStatus.PENDING


def test_automatic_execution_cancels_at_once(
    live_subscription: Subscription,
    seats_plan: Any,
    operator_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    product_type = seats_plan.product.product_type
    type(product_type).objects.filter(pk=product_type.pk).update(auto_exec_subscription_cancel=True)

    with django_capture_on_commit_callbacks(execute=True):
        asked = ask(operator_api, live_subscription, {"kind": "cancel", "timing": "immediate"})

    assert (asked.status_code, asked.json()["status"]) == (201, "executed")
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.CANCELED
    assert refunds(live_subscription) == [Decimal("-85.16")]


def test_a_downgrade_request_is_scheduled_for_the_renewal_on_approval(
    live_subscription: Subscription, lower_plan: Any, operator_api: Any, admin_api: Any
) -> None:
    asked = ask(
        operator_api, live_subscription, {"kind": "downgrade", "target_plan": lower_plan.pk}
    )

    assert (asked.status_code, asked.json()["target_product"]) == (201, lower_plan.product_id)
    approved = decide(admin_api, asked.json()["id"], "approve")
    assert (approved.json()["status"], approved.json()["effective_date"]) == (
        "approved",
        "2026-04-01",
    )
    [scheduled] = FutureRequest.objects.filter(subscription=live_subscription)
    assert (scheduled.request_type, scheduled.renewal_value) == (
        "downgrade",
        lower_plan.product.code,
    )


def test_an_add_on_is_asked_about_as_an_add_on(
    live_subscription: Subscription,
    customer: Any,
    make_plan: Any,
    subscribe: Any,
    seats_plan: Any,
    operator_api: Any,
) -> None:
    addon_plan = make_plan(
        "2.00",
        product=ProductFactory(
            product_type=seats_plan.product.product_type, kind="addon", max_quantity=None
        ),
    )
    addon = subscribe(customer, addon_plan, 2, date(2026, 3, 10), parent=live_subscription)

    wrong = ask(operator_api, addon, {"kind": "cancel"})
    right = ask(operator_api, addon, {"kind": "addon_cancel"})

    assert (wrong.status_code, list(wrong.json()["errors"])) == (400, ["kind"])
    assert (right.status_code, right.json()["kind"], right.json()["status"]) == (
        201,
        "addon_cancel",
        "pending",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "refund"}, "kind"),
        ({}, "kind"),
        ({"kind": "cancel", "timing": "tomorrow"}, "timing"),
        ({"kind": "cancel", "timing": "specific_date", "cancel_date": "2026-03-20"}, "cancel_date"),
        ({"kind": "cancel", "timing": "specific_date"}, "cancel_date"),
        ({"kind": "downgrade"}, "target_plan"),
        ({"kind": "downgrade", "target_plan": 999999}, "target_plan"),
    ],
)
def test_submit_refusals_name_the_field_and_write_nothing(
    live_subscription: Subscription, operator_api: Any, body: dict, field: str
) -> None:
    response = ask(operator_api, live_subscription, body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not CustomerRequest.objects.exists()


def test_a_target_that_is_no_downgrade_is_refused_on_the_plan(
    live_subscription: Subscription, make_plan: Any, operator_api: Any
) -> None:
    unrelated = make_plan("5.00")

    response = ask(
        operator_api, live_subscription, {"kind": "downgrade", "target_plan": unrelated.pk}
    )

    assert (response.status_code, list(response.json()["errors"])) == (400, ["target_plan"])
    assert not CustomerRequest.objects.exists()


def test_one_pending_request_per_subscription(
    live_subscription: Subscription, operator_api: Any
) -> None:
    first = ask(operator_api, live_subscription, {"kind": "cancel"})
    second = ask(operator_api, live_subscription, {"kind": "cancel", "timing": "immediate"})

    assert first.status_code == 201
    assert (second.status_code, list(second.json()["errors"])) == (400, ["kind"])
    assert CustomerRequest.objects.count() == 1


def test_asking_needs_the_right_of_the_operation(
    live_subscription: Subscription, lower_plan: Any, make_user: Any, api_client_for: Any
) -> None:
    user = make_user(
        *[r for r in OPERATOR_RIGHTS if r not in ("subscriptions.cancel", "subscriptions.upgrade")]
    )
    live_subscription.account.owner = user
    live_subscription.account.save(update_fields=["owner"])
    client = api_client_for(user)

    cancel = ask(client, live_subscription, {"kind": "cancel"})
    downgrade = ask(client, live_subscription, {"kind": "downgrade", "target_plan": lower_plan.pk})

    assert (cancel.status_code, downgrade.status_code) == (403, 403)
    assert not CustomerRequest.objects.exists()


def test_a_subscription_the_user_may_not_edit_is_not_found(
    live_subscription: Subscription, make_user: Any, api_client_for: Any
) -> None:
    stranger = make_user(*OPERATOR_RIGHTS)

    response = ask(api_client_for(stranger), live_subscription, {"kind": "cancel"})

    assert response.status_code == 404
    assert not CustomerRequest.objects.exists()


# ------------------------------------------------------------------- queue, decisions


def test_the_pending_queue_lists_with_few_queries(
    clock: Any,
    customer: Any,
    seats_plan: Any,
    make_plan: Any,
    subscribe: Any,
    operator_api: Any,
    admin_api: Any,
    django_assert_max_num_queries: Any,
) -> None:
    subscriptions = [
        subscribe(
            customer,
            make_plan("10.00", product_type=seats_plan.product.product_type),
            1,
            date(2026, 3, 10),
        )
        for _ in range(4)
    ]
    ids = [ask(operator_api, s, {"kind": "cancel"}).json()["id"] for s in subscriptions]
    decide(operator_api, ids[0], "revoke")

    with django_assert_max_num_queries(6):
        pending = admin_api.get(QUEUE, {"status": "pending"})
    everything = admin_api.get(QUEUE).json()

    assert pending.status_code == 200
    rows = pending.json()["results"]
    assert [row["id"] for row in rows] == ids[1:]
    assert {row["account_name"] for row in rows} == {customer.name}
    assert {row["status"] for row in everything["results"]} == {"pending", "revoked"}
    detail = admin_api.get(f"{QUEUE}{ids[1]}/")
    assert (detail.status_code, detail.json()["subscription"]) == (200, subscriptions[1].pk)


def test_reject_with_a_reason_and_only_once(
    live_subscription: Subscription, operator_api: Any, admin_api: Any
) -> None:
    request_id = ask(
        operator_api, live_subscription, {"kind": "cancel", "reason": "Too dear"}
    ).json()["id"]

    rejected = decide(admin_api, request_id, "reject", {"reason": "Under contract"})
    again = decide(admin_api, request_id, "reject", {"reason": "Twice"})
    revoked = decide(operator_api, request_id, "revoke")

    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "Too dear\nUnder contract",
    )
    assert (again.status_code, list(again.json()["errors"])) == (400, ["status"])
    assert (revoked.status_code, list(revoked.json()["errors"])) == (400, ["status"])
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE
    assert Event.objects.filter(name="subscription.cancel_request_rejected").count() == 1


def test_the_customer_revokes_a_waiting_request(
    live_subscription: Subscription, operator_api: Any, admin_api: Any
) -> None:
    request_id = ask(operator_api, live_subscription, {"kind": "cancel"}).json()["id"]

    revoked = decide(operator_api, request_id, "revoke")
    approve = decide(admin_api, request_id, "approve")

    assert revoked.json()["status"] == "revoked"
    assert (approve.status_code, list(approve.json()["errors"])) == (400, ["status"])
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE


def test_the_queue_and_decisions_need_the_approve_right(
    live_subscription: Subscription, operator_api: Any
) -> None:
    request_id = ask(operator_api, live_subscription, {"kind": "cancel"}).json()["id"]

    listed = operator_api.get(QUEUE, {"status": "pending"})
    approve = decide(operator_api, request_id, "approve")
    reject = decide(operator_api, request_id, "reject")

    assert (listed.status_code, approve.status_code, reject.status_code) == (403, 403, 403)
    assert CustomerRequest.objects.get().status == CustomerRequestStatus.PENDING
