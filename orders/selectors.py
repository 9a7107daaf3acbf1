"""Reads of the Orders module that pages, the API, validation and other apps share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Sum

from accounts.models import Account
from bss.core.visibility import visible_records
from orders.models import DeliveryStatus, Order, OrderItem, OrderStatus, StatusType, SystemStatus
from subscriptions.models import Subscription, SubscriptionStatus

MANUAL_QUEUE_SIZE = 50
LIVE_SUBSCRIPTION_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIAL,
    SubscriptionStatus.PENDING_CANCEL,
    SubscriptionStatus.SUSPENDED,
)


def order_with_details() -> QuerySet[Order]:
    return Order.objects.select_related(
        "account",
        "billing_account",
        "status",
        "owner",
        "price_list",
        "permission_rule",
        "parent_order",
        "executed_by",
        "credit_override_by",
    )


def items_of(order: Order) -> QuerySet[OrderItem]:
    return order.items.select_related(
        "product",
        "product__product_type",
        "plan",
        "parent_item",
        "promotion",
        "price_list",
        "price_overridden_by",
        "delivered_in",
        "created_subscription",
    ).order_by("position", "pk")


def open_orders() -> QuerySet[Order]:
    """Submitted or in-progress orders not yet executed: they hold credit."""
    return Order.objects.filter(status__status_type=StatusType.IN_PROGRESS).exclude(
        status__system_key=SystemStatus.DRAFT
    )


def open_orders_total(account: Account) -> Decimal:
    """Credit term of ``accounts``: the gross of the account's open orders it pays for."""
    total = open_orders().filter(billing_account=account).aggregate(total=Sum("gross_total"))
    return total["total"] or Decimal(0)


def open_order_amount(order: Order) -> Decimal:
    """How much of the credit term this order itself already holds."""
    held = open_orders().filter(pk=order.pk).values_list("gross_total", flat=True).first()
    return held if held is not None else Decimal(0)


def stored_gross_total(order: Order) -> Decimal:
    """The gross total as last stored (an order object in hand may predate its last item)."""
    return Order.objects.values_list("gross_total", flat=True).get(pk=order.pk)


def manual_items() -> QuerySet[OrderItem]:
    return OrderItem.objects.filter(
        delivery_status=DeliveryStatus.PENDING, product__product_type__non_auto_new_orders=True
    )


def manual_queue(user: Any, limit: int = MANUAL_QUEUE_SIZE) -> list[Order]:
    """Open orders with at least one undelivered, manually provisioned item; oldest first."""
    waiting = manual_items().filter(order=OuterRef("pk"))
    orders = (
        open_orders()
        .filter(Exists(waiting), parent_order__isnull=True)
        .select_related("account", "status")
        .order_by("order_date", "pk")
    )
    return list(visible_records(orders, user)[:limit])


def orders_of(account: Account, user: Any, limit: int = 20) -> list[Order]:
    delivered = OrderItem.objects.filter(created_subscription__isnull=False).select_related(
        "created_subscription", "product"
    )
    orders = (
        Order.objects.filter(account=account, parent_order__isnull=True)
        .select_related("status")
        .prefetch_related(Prefetch("items", delivered, to_attr="subscription_items"))
    )
    return list(visible_records(orders, user).order_by("-order_date", "-pk")[:limit])


def active_statuses() -> QuerySet[OrderStatus]:
    return OrderStatus.objects.filter(is_active=True).order_by("position", "pk")


@dataclass
class SubscriptionFacts:
    """What validation needs to know of the account's subscriptions."""

    owned_product_ids: set[int] = field(default_factory=set)
    targets: dict[int, Any] = field(default_factory=dict)


def subscription_facts(account: Account, target_ids: Iterable[int | None]) -> SubscriptionFacts:
    """Products the account owns live subscriptions of, and the live targets named."""
    live = Subscription.objects.filter(account=account, status__in=LIVE_SUBSCRIPTION_STATUSES)
    wanted = [pk for pk in target_ids if pk]
    return SubscriptionFacts(
        owned_product_ids=set(live.values_list("product_id", flat=True)),
        targets={row.pk: row for row in live.filter(pk__in=wanted).select_related("product")},
    )
