"""The shortcut dialogs of the subscription page: each performs its operation through the
service, shows the service's refusal on the field it names, and needs its own right.

The clock stands on 10 March 2026, 10:00; the live subscription is 10 seats at 12.00 bought
then, charged [10 Mar, 1 Apr) = 10 x 12.00 x 22/31 = 85.16.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing.models import Charge
from catalogue.models import ProductPlan
from subscriptions import services
from subscriptions.models import (
    ChangeKind,
    FutureRequest,
    FutureRequestStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from tests.billing.factories import ProductTypeFactory
from tests.subscriptions.pages.conftest import at, today, upgrade_plan

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def op_url(subscription: Subscription, key: str) -> str:
    return reverse(f"subscriptions:op_{key}", kwargs={"pk": subscription.pk})


def preview_url(subscription: Subscription) -> str:
    return reverse("subscriptions:cancel_preview", kwargs={"pk": subscription.pk})


def charges_of(subscription: Subscription) -> list[tuple[str, str]]:
    return [
        (charge.kind, f"{charge.net:.2f}")
        for charge in Charge.objects.filter(subscription_id=subscription.pk).order_by("pk")
    ]


def kinds_of(subscription: Subscription) -> list[str]:
    return list(subscription.changes.order_by("pk").values_list("kind", flat=True))


# ------------------------------------------------------------------------------- quantity


def test_the_quantity_dialog_opens_as_a_modal_and_increases_the_quantity(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)
    url = op_url(live_subscription, "quantity")

    dialog = client.get(url, **HTMX)
    response = client.post(url, {"new_quantity": "15"}, **HTMX)

    assert dialog.status_code == 200
    assert "<html" not in dialog.content.decode()
    assert 'name="new_quantity"' in dialog.content.decode()
    assert response.status_code == 200
    assert response["HX-Redirect"] == live_subscription.get_absolute_url()
    live_subscription.refresh_from_db()
    assert live_subscription.quantity == 15
    # 5 more seats from 10 March: 5 x 12.00 x 22/31 = 42.58
    assert charges_of(live_subscription) == [
        ("prorated_charge", "85.16"),
        ("prorated_charge", "42.58"),
    ]
    change = live_subscription.changes.get(kind=ChangeKind.QUANTITY)
    assert (change.old_quantity, change.new_quantity, change.actor, change.source) == (
        10,
        15,
        operator,
        "bss",
    )


def test_the_quantity_dialog_works_without_javascript(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)

    page = client.get(op_url(live_subscription, "quantity"))
    response = client.post(op_url(live_subscription, "quantity"), {"new_quantity": "11"})

    assert "<html" in page.content.decode()
    assert response.status_code == 302
    assert response.url == live_subscription.get_absolute_url()


def test_a_decrease_after_the_window_is_refused_and_offered_for_the_renewal(
    old_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)
    url = op_url(old_subscription, "quantity")

    refused = client.post(url, {"new_quantity": "6"})

    text = refused.content.decode()
    assert refused.status_code == 400
    assert "The cancellation window has passed" in text
    assert 'id="offer-schedule"' in text
    assert old_subscription.changes.filter(kind=ChangeKind.QUANTITY).count() == 0

    # when: the user takes the offer
    scheduled = client.post(url, {"new_quantity": "6", "at_renewal": "on"})

    assert scheduled.status_code == 302
    request = FutureRequest.objects.get(subscription=old_subscription)
    assert (request.request_type, request.current_value, request.renewal_value) == (
        "quantity",
        "10",
        "6",
    )
    old_subscription.refresh_from_db()
    assert old_subscription.quantity == 10
    page = client.get(old_subscription.get_absolute_url()).content.decode()
    assert f'data-request="{request.pk}"' in page

    # and: revokes it again from the page
    revoke = reverse("subscriptions:future_request_revoke", kwargs={"pk": request.pk})
    assert client.post(revoke).status_code == 302
    request.refresh_from_db()
    assert request.status == FutureRequestStatus.CANCELED
    assert request.revoked_by == operator


def test_a_quantity_error_names_the_field(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    response = client_for(operator).post(
        op_url(live_subscription, "quantity"), {"new_quantity": "10"}, **HTMX
    )

    text = response.content.decode()
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert "The quantity is already 10." in text
    assert 'id="id_new_quantity"' in text
    assert "is-invalid" in text


# --------------------------------------------------------------------------- backdating


def test_backdating_needs_the_right(
    old_subscription: Subscription, operator: Any, admin_client: Any, client_for: Any
) -> None:
    data = {"new_quantity": "15", "effective_at": "2026-03-05T09:00"}

    refused = client_for(operator).post(op_url(old_subscription, "quantity"), data)
    done = admin_client.post(op_url(old_subscription, "quantity"), data)

    assert refused.status_code == 400
    assert "You may not backdate operations" in refused.content.decode()
    assert done.status_code == 302
    change = old_subscription.changes.get(kind=ChangeKind.QUANTITY)
    assert change.effective_at == at(2026, 3, 5, 9)
    # 5 seats from 5 March to 1 April: 5 x 12.00 x 27/31 = 52.26
    assert charges_of(old_subscription)[-1] == ("prorated_charge", "52.26")


# ------------------------------------------------------------------------------ cancel


def test_the_cancel_dialog_shows_the_refund_before_confirming(
    live_subscription: Subscription, clock: Any, admin_client: Any
) -> None:
    immediately = {"timing": "immediate", "refund": "policy"}

    within_a_day = admin_client.post(preview_url(live_subscription), immediately).content.decode()
    clock.move_to(at(2026, 3, 12, 10))
    two_days_in = admin_client.post(preview_url(live_subscription), immediately).content.decode()
    clock.move_to(at(2026, 3, 18, 10))
    eight_days_in = admin_client.post(preview_url(live_subscription), immediately).content.decode()

    assert "85.16" in within_a_day
    # 2 of 22 days used: 85.16 x 20/22 = 77.42
    assert "77.42" in two_days_in
    assert "20 of 22 days unused." in two_days_in
    assert "The cancellation window of 168 hours has passed." in eight_days_in
    assert "data-refused" in eight_days_in
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE
    assert kinds_of(live_subscription) == ["created"]


def test_the_preview_of_an_end_of_period_cancellation_refunds_nothing(
    live_subscription: Subscription, admin_client: Any
) -> None:
    text = admin_client.post(
        preview_url(live_subscription), {"timing": "end_of_period", "refund": "policy"}
    ).content.decode()

    assert "Billed to the end of the period: no refund." in text


def test_an_immediate_cancellation_refunds_by_the_policy(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    response = client_for(operator).post(
        op_url(live_subscription, "cancel"),
        {"timing": "immediate", "refund": "policy", "reason": "Moved to a competitor"},
    )

    assert response.status_code == 302
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.CANCELED
    change = live_subscription.changes.get(kind=ChangeKind.CANCEL)
    assert change.refund_amount == Decimal("85.16")
    assert change.note == "Moved to a competitor"
    assert charges_of(live_subscription) == [
        ("prorated_charge", "85.16"),
        ("refund_credit", "-85.16"),
    ]


def test_cancel_at_the_end_of_the_period_then_revoke(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)

    client.post(op_url(live_subscription, "cancel"), {"timing": "end_of_period"})
    live_subscription.refresh_from_db()
    pending = client.get(live_subscription.get_absolute_url()).content.decode()

    assert live_subscription.status == SubscriptionStatus.PENDING_CANCEL
    assert live_subscription.cancel_on == live_subscription.current_period_end
    assert "Pending for cancel" in pending
    assert "Revoke cancellation" in pending

    client.post(op_url(live_subscription, "revoke_cancellation"), {})
    live_subscription.refresh_from_db()

    assert live_subscription.status == SubscriptionStatus.ACTIVE
    assert kinds_of(live_subscription) == ["created", "cancel_scheduled", "cancel_revoked"]


def test_no_refund_and_custom_amounts_need_their_right(
    live_subscription: Subscription, operator: Any, client_for: Any, admin_client: Any
) -> None:
    dialog = client_for(operator).get(op_url(live_subscription, "cancel")).content.decode()
    refused = client_for(operator).post(
        op_url(live_subscription, "cancel"), {"timing": "immediate", "refund": "none"}
    )

    assert 'value="none"' not in dialog
    assert 'name="custom_refund"' not in dialog
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE

    done = admin_client.post(
        op_url(live_subscription, "cancel"),
        {"timing": "immediate", "refund": "custom", "custom_refund": "10.00"},
    )

    assert done.status_code == 302
    assert live_subscription.changes.get(kind=ChangeKind.CANCEL).refund_amount == Decimal("10")
    assert charges_of(live_subscription)[-1] == ("refund_credit", "-10.00")


def test_a_custom_refund_above_what_was_paid_is_refused_on_its_field(
    live_subscription: Subscription, admin_client: Any
) -> None:
    response = admin_client.post(
        op_url(live_subscription, "cancel"),
        {"timing": "immediate", "refund": "custom", "custom_refund": "100.00"},
    )

    assert response.status_code == 400
    assert "The refund cannot exceed what was paid for the period, 85.16" in (
        response.content.decode()
    )
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE


def test_the_timings_are_those_the_product_type_offers(
    customer: Any, make_plan: Any, subscribe: Any, clock: Any, admin_client: Any
) -> None:
    services_type = ProductTypeFactory(
        offer_cancel_specific_date=False, offer_cancel_end_of_period=False
    )
    subscription = subscribe(customer, make_plan("50.00", product_type=services_type), 1, today())

    dialog = admin_client.get(op_url(subscription, "cancel")).content.decode()
    refused = admin_client.post(op_url(subscription, "cancel"), {"timing": "end_of_period"})

    assert 'value="immediate"' in dialog
    assert 'value="end_of_period"' not in dialog
    assert 'value="specific_date"' not in dialog
    assert refused.status_code == 400
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_a_future_cancellation_date_is_refused_on_its_field(
    live_subscription: Subscription, admin_client: Any
) -> None:
    response = admin_client.post(
        op_url(live_subscription, "cancel"),
        {"timing": "specific_date", "cancel_date": "2026-03-20"},
    )

    assert response.status_code == 400
    assert "A cancellation date cannot be in the future" in response.content.decode()


def test_without_the_cancel_right_the_dialog_is_forbidden(
    live_subscription: Subscription, make_user: Any, client_for: Any
) -> None:
    user = make_user("subscriptions.view", "subscriptions.edit", "subscriptions.change_quantity")
    live_subscription.account.owner = user
    live_subscription.account.save(update_fields=["owner"])
    client = client_for(user)

    assert client.get(op_url(live_subscription, "cancel")).status_code == 403
    assert (
        client.post(op_url(live_subscription, "cancel"), {"timing": "immediate"}).status_code == 403
    )
    assert client.post(preview_url(live_subscription), {"timing": "immediate"}).status_code == 403
    assert "Cancel" not in client.get(live_subscription.get_absolute_url()).content.decode()
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.ACTIVE


def test_a_subscription_of_another_owner_is_not_found(
    live_subscription: Subscription, make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("subscriptions.view", "subscriptions.cancel"))

    assert client.get(op_url(live_subscription, "cancel")).status_code == 404


# ------------------------------------------------------------------- the other dialogs


def test_edit_sets_the_friendly_name_and_auto_renew(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    response = client_for(operator).post(
        op_url(live_subscription, "edit"), {"friendly_name": "Sales team"}
    )

    assert response.status_code == 302
    live_subscription.refresh_from_db()
    assert (live_subscription.friendly_name, live_subscription.auto_renew) == ("Sales team", False)


def test_edit_pricing_for_the_current_cycle_charges_the_difference(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    response = client_for(operator).post(
        op_url(live_subscription, "pricing"),
        {"cycle": "current", "user_unit_price": "9.30", "discount_percent": "0"},
    )

    assert response.status_code == 302
    live_subscription.refresh_from_db()
    assert live_subscription.final_unit_price == Decimal("9.3000")
    # old price credited, new charged from 10 March: 85.16 and 10 x 9.30 x 22/31 = 66.00
    assert charges_of(live_subscription)[1:] == [
        ("prorated_credit", "-85.16"),
        ("prorated_charge", "66.00"),
    ]


def test_edit_pricing_for_the_next_cycle_schedules_a_request(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client_for(operator).post(
        op_url(live_subscription, "pricing"), {"cycle": "next", "discount_percent": "10"}
    )

    live_subscription.refresh_from_db()
    assert live_subscription.discount_percent == 0
    request = FutureRequest.objects.get(subscription=live_subscription)
    assert request.request_type == "billing_plan"


def test_upgrade_moves_every_seat_to_a_new_subscription(
    live_subscription: Subscription,
    seats_plan: ProductPlan,
    make_plan: Any,
    operator: Any,
    client_for: Any,
) -> None:
    target_plan = upgrade_plan(seats_plan, make_plan, "20.00")
    client = client_for(operator)

    dialog = client.get(op_url(live_subscription, "upgrade")).content.decode()
    response = client.post(
        op_url(live_subscription, "upgrade"), {"target_plan": target_plan.pk, "quantity": "10"}
    )

    assert f"{target_plan.product.name} · Monthly · 20 EUR" in dialog
    assert 'value="10"' in dialog
    live_subscription.refresh_from_db()
    target = Subscription.objects.get(product=target_plan.product)
    assert response.url == target.get_absolute_url()
    assert live_subscription.status == SubscriptionStatus.CANCELED
    assert target.quantity == 10
    assert live_subscription.changes.get(kind=ChangeKind.UPGRADE_OUT).related_subscription == target


def test_an_upgrade_to_a_plan_off_the_path_is_refused_on_its_field(
    live_subscription: Subscription, make_plan: Any, admin_client: Any
) -> None:
    stranger = make_plan("30.00")

    response = admin_client.post(
        op_url(live_subscription, "upgrade"), {"target_plan": stranger.pk, "quantity": "10"}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_schedule_a_downgrade(
    live_subscription: Subscription, seats_plan: ProductPlan, make_plan: Any, admin_client: Any
) -> None:
    higher = upgrade_plan(seats_plan, make_plan, "20.00")
    subscription = services.subscription_create(
        actor=None,
        account=live_subscription.account,
        product=higher.product,
        plan=higher,
        quantity=3,
        start_date=today(),
    )

    response = admin_client.post(op_url(subscription, "downgrade"), {"target_plan": seats_plan.pk})

    assert response.status_code == 302
    request = FutureRequest.objects.get(subscription=subscription)
    assert (request.request_type, request.renewal_value) == ("downgrade", seats_plan.product.code)


def test_suspend_and_activate(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)

    client.post(op_url(live_subscription, "suspend"), {"reason": "Unpaid"})
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.SUSPENDED
    client.post(op_url(live_subscription, "activate"), {})
    live_subscription.refresh_from_db()

    assert live_subscription.status == SubscriptionStatus.ACTIVE
    assert kinds_of(live_subscription) == ["created", "suspended", "resumed"]


def test_activate_refuses_an_active_subscription(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    response = client_for(operator).post(op_url(live_subscription, "activate"), {})

    assert response.status_code == 400
    assert "Only a suspended subscription can be activated again." in response.content.decode()


def test_price_protection_on_and_off(
    live_subscription: Subscription, operator: Any, client_for: Any
) -> None:
    client = client_for(operator)

    client.post(op_url(live_subscription, "price_protection"), {"until": "2026-06-01"})
    live_subscription.refresh_from_db()
    assert str(live_subscription.price_protected_until) == "2026-06-01"
    blocked = client.post(op_url(live_subscription, "quantity"), {"new_quantity": "12"})
    client.post(op_url(live_subscription, "price_protection"), {"until": ""})
    live_subscription.refresh_from_db()

    assert "is price protected" in blocked.content.decode()
    assert live_subscription.price_protected_until is None


def test_reprovision_a_failed_subscription(
    live_subscription: Subscription, admin_client: Any
) -> None:
    # Only a subscription waiting for provisioning can fail; creation makes it active.
    Subscription.objects.filter(pk=live_subscription.pk).update(status="pending")
    services.subscription_mark_failed(
        actor=None, subscription=live_subscription, error="Vendor said no"
    )

    page = admin_client.get(live_subscription.get_absolute_url()).content.decode()
    response = admin_client.post(op_url(live_subscription, "reprovision"), {})

    assert "Vendor said no" in page
    assert response.status_code == 302
    live_subscription.refresh_from_db()
    assert live_subscription.status == SubscriptionStatus.PENDING


def test_renew_confirms_the_next_term(live_subscription: Subscription, admin_client: Any) -> None:
    services.subscription_edit(
        actor=None, subscription=live_subscription, friendly_name="", auto_renew=False
    )

    response = admin_client.post(op_url(live_subscription, "renew"), {})

    assert response.status_code == 302
    live_subscription.refresh_from_db()
    assert live_subscription.auto_renew is True
    renewed = SubscriptionChange.objects.get(subscription=live_subscription, kind="renewed")
    assert renewed.effective_date == live_subscription.term_end
