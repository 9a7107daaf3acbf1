"""The one table of order status transitions, and the status lookups services share.

A status plays one of five *roles*, read from its mandatory key or its type:
draft, submitted, a custom in-progress status, executed, canceled. Transitions are
allowed between roles, so a custom status behaves like the built-in one of its type.
Executed and canceled orders are finished: read-only, no way out.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from orders.models import UNIQUE_COMBINATIONS, OrderStatus, StatusType, StorefrontType, SystemStatus

__all__ = ["UNIQUE_COMBINATIONS"]

DRAFT = "draft"
SUBMITTED = "submitted"
IN_PROGRESS = "in_progress"
EXECUTED = "executed"
CANCELED = "canceled"

TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED, CANCELED}),
    SUBMITTED: frozenset({IN_PROGRESS, EXECUTED, CANCELED}),
    IN_PROGRESS: frozenset({SUBMITTED, IN_PROGRESS, EXECUTED, CANCELED}),
    EXECUTED: frozenset(),
    CANCELED: frozenset(),
}
FINISHED = frozenset({EXECUTED, CANCELED})

# The mandatory statuses: name, type, Storefront type (created by migration 0002).
MANDATORY = {
    SystemStatus.DRAFT: ("Draft", StatusType.IN_PROGRESS, StorefrontType.DRAFT),
    SystemStatus.SUBMITTED: ("Submitted", StatusType.IN_PROGRESS, StorefrontType.VIEWABLE),
    SystemStatus.EXECUTED: ("Executed", StatusType.AUTOMATIC_EXECUTE, StorefrontType.SUBMITTED),
    SystemStatus.CANCELED: ("Canceled", StatusType.CANCELLED, StorefrontType.VIEWABLE),
}


def role_of(status: OrderStatus) -> str:
    if status.system_key == SystemStatus.DRAFT:
        return DRAFT
    if status.system_key == SystemStatus.SUBMITTED:
        return SUBMITTED
    if status.status_type == StatusType.AUTOMATIC_EXECUTE:
        return EXECUTED
    if status.status_type == StatusType.CANCELLED:
        return CANCELED
    if status.storefront_type == StorefrontType.DRAFT:
        return DRAFT
    return IN_PROGRESS


def is_finished(status: OrderStatus) -> bool:
    return role_of(status) in FINISHED


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Refuse a status change the table does not allow, naming both statuses."""
    if not target.is_active:
        raise ValidationError(
            {"status": _("The status %(name)s is not active.") % {"name": target}}
        )
    if current.pk == target.pk:
        return
    if role_of(target) not in TRANSITIONS[role_of(current)]:
        raise ValidationError(
            {
                "status": _("An order cannot go from %(current)s to %(target)s.")
                % {"current": current, "target": target}
            }
        )


def mandatory(key: str) -> OrderStatus:
    """One of the four statuses every organization has (recreated if someone lost it)."""
    name, status_type, storefront_type = MANDATORY[SystemStatus(key)]
    status, _created = OrderStatus.objects.get_or_create(
        system_key=key,
        defaults={
            "name": name,
            "status_type": status_type,
            "storefront_type": storefront_type,
            "position": list(MANDATORY).index(key) * 10,
        },
    )
    return status


def manual_provisioning_status() -> OrderStatus | None:
    """The active, Storefront-viewable, custom in-progress status orders wait in; default first."""
    return (
        OrderStatus.objects.filter(
            status_type=StatusType.IN_PROGRESS,
            storefront_type=StorefrontType.VIEWABLE,
            is_active=True,
            system_key="",
        )
        .order_by("-is_default", "position", "pk")
        .first()
    )
