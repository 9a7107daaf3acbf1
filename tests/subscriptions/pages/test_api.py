"""Subscription API: read with history, each operation a POST, refusals as field errors,
rights per operation, and an Idempotency-Key that replays instead of acting twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.models import Charge
from subscriptions.models import ChangeKind, FutureRequest, Subscription, SubscriptionStatus
from tests.subscriptions.pages.conftest import OPERATOR_RIGHTS, upgrade_plan

pytestmark = pytest.mark.django_db

BASE = "/api/v1/subscriptions/"


def post(client: Any, subscription: Subscription, operation: str, body: dict, **headers: Any):
    return client.post(f"{BASE}{subscription.pk}/{operation}/", body, format="json", **headers)


@pytest.fixture
def operator_api(operator: Any, api_client_for: Any) -> Any:
    return api_client_for(operator)


def test_list_and_detail_with_changes(
    live_subscription: Subscription, admin_api: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        listed = admin_api.get(BASE, {"status": "active"}).json()
    detail = admin_api.get(f"{BASE}{live_subscription.pk}/").json()

    [row] = listed["results"]
    assert (row["number"], row["quantity"], row["final_unit_price"]) == (
        live_subscription.number,
        10,
        "12.0000",
    )
    assert detail["term_end"] == str(live_subscription.term_end)
    assert [change["kind"] for change in detail["changes"]] == ["created"]
    assert detail["future_requests"] == []


def test_change_quantity_and_its_idempotent_replay(
    live_subscription: Subscription, operator_api: Any
) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": "qty-15-once"}

    first = post(operator_api, live_subscription, "change-quantity", {"new_quantity": 15}, **key)
    again = post(operator_api, live_subscription, "change-quantity", {"new_quantity": 15}, **key)

    assert first.status_code == 200
    assert first.json()["quantity"] == 15
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert live_subscription.changes.filter(kind=ChangeKind.QUANTITY).count() == 1
    change = live_subscription.changes.get(kind=ChangeKind.QUANTITY)
    assert change.source == "api"
    # 5 seats from 10 March: 5 x 12.00 x 22/31 = 42.58, charged once
    assert list(
        Charge.objects.filter(
            subscription_id=live_subscription.pk, source_change_id=change.pk
        ).values_list("amount", flat=True)
    ) == [Decimal("42.58")]


def test_a_refused_operation_answers_400_with_the_field(
    old_subscription: Subscription, operator_api: Any
) -> None:
    response = post(operator_api, old_subscription, "change-quantity", {"new_quantity": 6})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["new_quantity"]
    assert "cancellation window has passed" in errors["new_quantity"][0]
    old_subscription.refresh_from_db()
    assert old_subscription.quantity == 10


def test_serializer_errors_name_the_field(
    live_subscription: Subscription, operator_api: Any
) -> None:
    response = post(operator_api, live_subscription, "change-quantity", {"new_quantity": 0})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["new_quantity"]


def test_cancel_preview_returns_the_refund_and_changes_nothing(
    live_subscription: Subscription, operator_api: Any
) -> None:
    response = post(
        operator_api, live_subscription, "cancel", {"timing": "immediate", "preview": True}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["refund"], body["policy_refund"], body["paid"], body["basis"]) == (
        "85.16",
        "85.16",
        "85.16",
        "full",
    )
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE


def test_cancel_at_period_end_and_revoke(
    live_subscription: Subscription, operator_api: Any
) -> None:
    scheduled = post(operator_api, live_subscription, "cancel", {"timing": "end_of_period"})
    revoked = post(operator_api, live_subscription, "revoke-cancellation", {})

    assert scheduled.json()["status"] == "pending_cancel"
    assert revoked.json()["status"] == "active"


def test_a_custom_refund_needs_its_right(
    live_subscription: Subscription, operator_api: Any, admin_api: Any
) -> None:
    body = {"timing": "immediate", "refund": "custom", "custom_refund": "20.00"}

    refused = post(operator_api, live_subscription, "cancel", body)
    done = post(admin_api, live_subscription, "cancel", body)

    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["refund"]
    assert done.json()["status"] == "canceled"
    assert str(live_subscription.changes.get(kind="cancel").refund_amount) == "20.0000"


def test_without_the_cancel_right_the_api_answers_403(
    live_subscription: Subscription, make_user: Any, api_client_for: Any
) -> None:
    rights = [right for right in OPERATOR_RIGHTS if right != "subscriptions.cancel"]
    user = make_user(*rights)
    live_subscription.account.owner = user
    live_subscription.account.save(update_fields=["owner"])

    response = post(api_client_for(user), live_subscription, "cancel", {"timing": "immediate"})

    assert response.status_code == 403
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE


def test_backdating_needs_the_right(old_subscription: Subscription, operator_api: Any) -> None:
    response = post(
        operator_api,
        old_subscription,
        "change-quantity",
        {"new_quantity": 12, "effective_at": "2026-03-05T09:00:00"},
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["effective_at"]


def test_upgrade_answers_the_target(
    live_subscription: Subscription,
    seats_plan: Any,
    make_plan: Any,
    operator_api: Any,
) -> None:
    target_plan = upgrade_plan(seats_plan, make_plan, "20.00")

    response = post(
        operator_api, live_subscription, "upgrade", {"target_plan": target_plan.pk, "quantity": 4}
    )

    assert response.status_code == 201
    assert (response.json()["product"], response.json()["quantity"]) == (
        target_plan.product_id,
        4,
    )
    live_subscription.refresh_from_db()
    assert live_subscription.quantity == 6


def test_downgrade_edit_pricing_and_price_protection(
    live_subscription: Subscription, seats_plan: Any, make_plan: Any, admin_api: Any
) -> None:
    higher = upgrade_plan(seats_plan, make_plan, "20.00")
    bigger = post(
        admin_api, live_subscription, "upgrade", {"target_plan": higher.pk, "quantity": 2}
    )
    target = Subscription.objects.get(pk=bigger.json()["id"])

    downgrade = post(admin_api, target, "downgrade", {"target_plan": seats_plan.pk})
    pricing = post(
        admin_api, live_subscription, "edit-pricing", {"cycle": "current", "user_unit_price": "11"}
    )
    protected = post(admin_api, live_subscription, "price-protection", {"until": "2026-05-01"})
    lifted = post(admin_api, live_subscription, "price-protection", {"until": None})

    assert downgrade.status_code == 201
    assert downgrade.json()["request_type"] == "downgrade"
    assert pricing.json()["final_unit_price"] == "11.0000"
    assert protected.json()["price_protected_until"] == "2026-05-01"
    assert lifted.json()["price_protected_until"] is None


def test_suspend_activate_and_future_requests(
    live_subscription: Subscription, operator_api: Any
) -> None:
    suspended = post(operator_api, live_subscription, "suspend", {"reason": "Unpaid"})
    activated = post(operator_api, live_subscription, "activate", {})
    created = post(
        operator_api,
        live_subscription,
        "future-requests",
        {"request_type": "quantity", "renewal_value": "4"},
    )
    request_id = created.json()["id"]
    revoked = operator_api.post(
        f"{BASE}{live_subscription.pk}/future-requests/{request_id}/revoke/"
    )

    assert suspended.json()["status"] == "suspended"
    assert activated.json()["status"] == "active"
    assert created.status_code == 201
    assert revoked.json()["status"] == "canceled"
    assert FutureRequest.objects.get(pk=request_id).revoked_at is not None


def test_renew_and_reprovision_refusals_name_the_status(
    live_subscription: Subscription, operator_api: Any
) -> None:
    response = post(operator_api, live_subscription, "reprovision", {})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]
