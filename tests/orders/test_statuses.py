"""Order statuses: the four mandatory ones, the unique combinations, the transition table."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from orders import services, statuses
from orders.models import Order, OrderStatus, StatusType, StorefrontType, SystemStatus

pytestmark = pytest.mark.django_db


def test_a_new_organization_has_exactly_the_four_mandatory_statuses() -> None:
    rows = {
        (status.name, status.status_type, status.storefront_type, status.is_active)
        for status in OrderStatus.objects.all()
    }

    assert rows == {
        ("Draft", "in_progress", "draft", True),
        ("Submitted", "in_progress", "viewable", True),
        ("Executed", "automatic_execute", "submitted", True),
        ("Canceled", "cancelled", "viewable", True),
    }
    assert set(OrderStatus.objects.values_list("system_key", flat=True)) == set(SystemStatus.values)


def test_it_refuses_to_deactivate_submitted() -> None:
    submitted = statuses.mandatory(SystemStatus.SUBMITTED)

    with pytest.raises(ValidationError, match="mandatory status and stays active"):
        services.order_status_update(actor=None, status=submitted, is_active=False)

    submitted.refresh_from_db()
    assert submitted.is_active


def test_it_refuses_to_delete_a_mandatory_status() -> None:
    with pytest.raises(ValidationError, match="cannot be deleted"):
        services.order_status_delete(actor=None, status=statuses.mandatory(SystemStatus.SUBMITTED))

    assert OrderStatus.objects.filter(system_key="submitted").exists()


def test_it_refuses_a_second_status_with_the_draft_combination() -> None:
    with pytest.raises(ValidationError, match="only one status may hold it"):
        services.order_status_create(
            actor=None,
            name="Basket",
            status_type=StatusType.IN_PROGRESS,
            storefront_type=StorefrontType.DRAFT,
        )

    assert OrderStatus.objects.count() == 4


def test_it_allows_a_custom_in_progress_viewable_status() -> None:
    status = services.order_status_create(
        actor=None,
        name="Provisioning",
        status_type=StatusType.IN_PROGRESS,
        storefront_type=StorefrontType.VIEWABLE,
        is_default=True,
    )

    assert status.pk is not None
    assert statuses.manual_provisioning_status() == status


def test_a_custom_status_in_use_cannot_be_deleted(customer: Any) -> None:
    custom = services.order_status_create(
        actor=None, name="Provisioning", status_type="in_progress", storefront_type="viewable"
    )
    order = services.order_create(actor=None, account=customer)
    services.order_set_status(actor=None, order=order, status=custom)

    with pytest.raises(ValidationError, match="used by orders"):
        services.order_status_delete(actor=None, status=custom)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("draft", "submitted", True),
        ("draft", "executed", False),
        ("submitted", "canceled", True),
        ("submitted", "draft", False),
        ("executed", "submitted", False),
        ("executed", "canceled", False),
        ("canceled", "submitted", False),
    ],
)
def test_the_transition_table(current: str, target: str, allowed: bool) -> None:
    check = lambda: statuses.check_transition(  # noqa: E731 - one line per case reads best
        statuses.mandatory(current), statuses.mandatory(target)
    )
    if allowed:
        check()
    else:
        with pytest.raises(ValidationError, match="cannot go from"):
            check()


def test_finished_orders_are_read_only(customer: Any, make_plan: Any) -> None:
    order = services.order_create(actor=None, account=customer)
    services.order_cancel(actor=None, order=order)
    plan = make_plan(EUR="10")

    with pytest.raises(ValidationError, match="can no longer change"):
        services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)
    with pytest.raises(ValidationError, match="can no longer change"):
        services.order_update(actor=None, order=order, notes="late")
    with pytest.raises(ValidationError, match="cannot go from"):
        services.order_set_status(
            actor=None, order=order, status=statuses.mandatory(SystemStatus.SUBMITTED)
        )
    assert Order.objects.get(pk=order.pk).notes == ""


def test_submitting_and_canceling_emit_events(customer: Any, make_plan: Any) -> None:
    from bss.core.models import Event

    plan = make_plan(EUR="10")
    draft = services.order_create(actor=None, account=customer, status=statuses.mandatory("draft"))
    with pytest.raises(ValidationError, match="Add at least one item"):
        services.order_set_status(
            actor=None, order=draft, status=statuses.mandatory(SystemStatus.SUBMITTED)
        )
    services.order_item_add(actor=None, order=draft, product=plan.product, plan=plan)
    assert not Event.objects.filter(name="order.submitted").exists()
    services.order_set_status(
        actor=None, order=draft, status=statuses.mandatory(SystemStatus.SUBMITTED)
    )
    direct = services.order_create(actor=None, account=customer)
    services.order_cancel(actor=None, order=direct, reason="Customer changed their mind")

    submitted = Event.objects.filter(name="order.submitted").order_by("pk")
    assert [event.payload["order_id"] for event in submitted] == [draft.pk, direct.pk]
    [canceled] = Event.objects.filter(name="order.canceled")
    assert canceled.payload == {
        "order_id": direct.pk,
        "number": direct.number,
        "account_id": customer.pk,
        "billing_account_id": customer.pk,
        "status": "Canceled",
        "reason": "Customer changed their mind",
    }
