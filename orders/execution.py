"""Executing orders: whole, by delivering selected items, or automatically on submission.

Execution turns each pending item into what it asks for, through the subscriptions
services: a new recurring item becomes a subscription (add-ons under their parent's),
a one-off or asset-type item an asset; quantity changes, upgrades, renewals and
cancellations apply to the item's target subscription. Billing records the charges in
the same transaction and invoices them according to the account's "partial charges"
option.

Exactly once, three ways:

* the order row is locked (``SELECT ... FOR UPDATE``) and its status re-read under the
  lock, so a second execution (a double click, a redelivered task) waits for the first
  and then finds the order executed and does nothing;
* everything happens in one transaction: a crash in the middle rolls back every
  subscription and charge already made, and a retry starts clean;
* each subscription or asset carries the item id (``origin_order_item_id``, unique), and
  ``subscription_create`` / ``asset_create`` return the existing record for an id they
  have seen, so even a retry that got past the status guard creates nothing twice.

Delivering selected items creates a *sub-order* holding copies of them and executes it;
the delivered items of the parent point to it, and the parent becomes Executed when its
last item is delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from catalogue.models import ChargeType, ProductTypeCategory
from orders import selectors, services, statuses
from orders.models import DeliveryStatus, ItemAction, Order, OrderItem, SystemStatus
from orders.validation import Outcome, check_credit, validate_order


@dataclass
class ExecutionResult:
    order: Order
    subscription_ids: list[int] = field(default_factory=list)
    asset_ids: list[int] = field(default_factory=list)
    already_executed: bool = False
    went_to_manual: bool = False
    waiting_for_credit: bool = False
    warnings: list[str] = field(default_factory=list)
    sub_order: Order | None = None


def is_asset_item(item: OrderItem) -> bool:
    product_type = item.product.product_type
    return item.plan.charge_type == ChargeType.ONE_TIME or (
        product_type is not None and product_type.type_category == ProductTypeCategory.ASSET
    )


def _subscription_services() -> Any:
    from subscriptions import services as subscription_services

    return subscription_services


def _subscription(pk: int | None) -> Any:
    from subscriptions.models import Subscription

    if pk is None:
        raise ValidationError({"target_subscription": _("The item names no subscription.")})
    return Subscription.objects.select_for_update().get(pk=pk)


def _execute_item(
    *,
    actor: Any,
    order: Order,
    item: OrderItem,
    start_date: date,
    made: dict[int, int],
    result: ExecutionResult,
) -> None:
    """Carry out one item; ``made`` maps executed item ids to the subscriptions they made."""
    subscriptions = _subscription_services()
    start = item.start_date or start_date
    if item.action == ItemAction.NEW and is_asset_item(item):
        from subscriptions.assets import asset_create

        asset = asset_create(
            actor=actor,
            account=order.account,
            product=item.product,
            plan=item.plan,
            quantity=item.quantity,
            unit_price=item.unit_price,
            discount_percent=item.discount_percent,
            purchase_date=start,
            origin_order_item_id=item.pk,
        )
        item.created_asset_id = asset.pk
        result.asset_ids.append(asset.pk)
    elif item.action == ItemAction.NEW:
        parent = None
        if item.parent_item_id is not None:
            parent = _subscription(made.get(item.parent_item_id) or _made_by(item.parent_item_id))
        elif item.target_subscription_id is not None:
            parent = _subscription(item.target_subscription_id)
        subscription = subscriptions.subscription_create(
            actor=actor,
            account=order.account,
            product=item.product,
            plan=item.plan,
            quantity=item.quantity,
            start_date=start,
            unit_price=item.unit_price,
            discount_percent=item.discount_percent,
            price_list=item.price_list,
            promotion=item.promotion,
            friendly_name=item.friendly_name,
            parent=parent,
            origin_order_item_id=item.pk,
            provisioning_attributes=item.provisioning_attributes or None,
            source="order",
        )
        item.created_subscription_id = subscription.pk
        made[item.pk] = subscription.pk
        result.subscription_ids.append(subscription.pk)
    elif item.action == ItemAction.CHANGE_QUANTITY:
        subscriptions.subscription_change_quantity(
            actor=actor,
            subscription=_subscription(item.target_subscription_id),
            new_quantity=item.quantity,
            source="order",
            origin_order_item_id=item.pk,
        )
    elif item.action == ItemAction.UPGRADE:
        target = subscriptions.subscription_upgrade(
            actor=actor,
            subscription=_subscription(item.target_subscription_id),
            target_product=item.product,
            target_plan=item.plan,
            quantity=item.quantity,
            source="order",
            origin_order_item_id=item.pk,
        )
        item.created_subscription_id = target.pk
        result.subscription_ids.append(target.pk)
    elif item.action == ItemAction.RENEW:
        subscriptions.subscription_renew(
            actor=actor, subscription=_subscription(item.target_subscription_id), source="order"
        )
    elif item.action == ItemAction.CANCEL:
        subscriptions.subscription_cancel(
            actor=actor,
            subscription=_subscription(item.target_subscription_id),
            timing="end_of_period",
            reason=_("Order %(number)s") % {"number": order.number},
            source="order",
            origin_order_item_id=item.pk,
        )
    item.delivery_status = DeliveryStatus.DELIVERED
    item.delivered_at = timezone.now()
    # Again under the actor: auditlog's actor context ends with the nested service's.
    with acting_as(actor):
        item.save(
            update_fields=[
                "delivery_status",
                "delivered_at",
                "created_subscription_id",
                "created_asset_id",
            ]
        )


def _made_by(item_id: int) -> int | None:
    """The subscription an already delivered item (or its sub-order copy) created."""
    item = OrderItem.objects.get(pk=item_id)
    if item.created_subscription_id:
        return item.created_subscription_id
    copy = item.copies.exclude(created_subscription_id=None).first()
    return copy.created_subscription_id if copy is not None else None


def _run_items(
    *, actor: Any, order: Order, items: Sequence[OrderItem], start_date: date
) -> ExecutionResult:
    result = ExecutionResult(order=order)
    made: dict[int, int] = {}
    # Parents before their add-ons, then in the order the lines were entered.
    for item in sorted(items, key=lambda item: (item.parent_item_id is not None, item.position)):
        try:
            _execute_item(
                actor=actor, order=order, item=item, start_date=start_date, made=made, result=result
            )
        except ValidationError as error:
            raise ValidationError(
                {
                    f"items.{item.position}": [
                        _("Item %(position)s (%(product)s): %(message)s")
                        % {
                            "position": item.position,
                            "product": item.product.name,
                            "message": message,
                        }
                        for message in error.messages
                    ]
                }
            ) from error
    return result


def _record_credit_override(order: Order, actor: Any, outcome: Outcome) -> None:
    if outcome.warnings:
        order.credit_override_by = actor
        order.credit_override_note = outcome.warnings[0][:300]
        order.save(update_fields=["credit_override_by", "credit_override_note", "updated_at"])


def _mark_executed(
    *, actor: Any, order: Order, start_date: date, invoice_date: date | None
) -> None:
    order.status = statuses.mandatory(SystemStatus.EXECUTED)
    order.executed_at = timezone.now()
    order.executed_by = actor if getattr(actor, "is_authenticated", False) else None
    order.start_date = start_date
    order.invoice_date = invoice_date or start_date
    with acting_as(actor):
        order.save(
            update_fields=[
                "status",
                "executed_at",
                "executed_by",
                "start_date",
                "invoice_date",
                "updated_at",
            ]
        )
    emit_event(
        "order.executed", actor=actor, aggregate=order, payload=services.order_payload(order)
    )


def invoice_on_chosen_date(order: Order, actor: Any, invoice_date: date | None) -> None:
    """Have the first invoice dated as the user chose, once the execution commits.

    Billing invoices an order-day payer's charges itself after every subscription
    transaction, dated today. Registered before any item runs, this callback comes
    first: it invoices the due charges dated ``invoice_date`` and billing's own pass
    then finds nothing left (charges are invoiced exactly once). Payers invoiced on
    their billing day are left to the billing run.
    """
    if invoice_date is None:
        return
    order_id = order.pk

    def invoice() -> None:
        from accounts.selectors import billing_profile
        from billing.engine import invoice_due_charges

        fresh = Order.objects.select_related("account", "billing_account").get(pk=order_id)
        if billing_profile(fresh.account).invoices_on_order_day:
            invoice_due_charges(
                actor=actor, billing_account=fresh.billing_account, up_to=invoice_date
            )

    transaction.on_commit(invoice)


def _check_invoice_date(start_date: date, invoice_date: date | None) -> None:
    if invoice_date is not None and invoice_date < start_date:
        raise ValidationError(
            {"invoice_date": _("The first invoice cannot be dated before the start date.")}
        )


def _check_executable(order: Order) -> None:
    role = statuses.role_of(order.status)
    if role == statuses.CANCELED:
        raise ValidationError(_("Order %(number)s is canceled.") % {"number": order.number})
    if role == statuses.DRAFT:
        raise ValidationError(
            _(
                "Order %(number)s is a draft of an open Storefront checkout; "
                "it cannot be executed from the BSS until it is submitted."
            )
            % {"number": order.number}
        )


def order_execute(
    *,
    actor: Any,
    order: Order,
    start_date: date | None = None,
    invoice_date: date | None = None,
    override_credit: bool = False,
) -> ExecutionResult:
    """Execute every pending item of the order; a second call finds it executed and stops."""
    with transaction.atomic(), acting_as(actor):
        order = services.lock_order(order)
        if statuses.role_of(order.status) == statuses.EXECUTED:
            return ExecutionResult(order=order, already_executed=True)
        _check_executable(order)
        start_date = start_date or timezone.localdate()
        _check_invoice_date(start_date, invoice_date)
        outcome = validate_order(
            order, actor=actor, check_credit_limit=True, override_credit=override_credit
        )
        outcome.raise_if_refused()
        _record_credit_override(order, actor, outcome)
        invoice_on_chosen_date(order, actor, invoice_date)
        items = list(selectors.items_of(order).filter(delivery_status=DeliveryStatus.PENDING))
        result = _run_items(actor=actor, order=order, items=items, start_date=start_date)
        result.warnings = outcome.warnings
        _mark_executed(actor=actor, order=order, start_date=start_date, invoice_date=invoice_date)
        return result


def order_deliver_items(
    *,
    actor: Any,
    order: Order,
    items: Sequence[OrderItem],
    start_date: date | None = None,
    invoice_date: date | None = None,
    override_credit: bool = False,
) -> ExecutionResult:
    """Deliver the selected items in a sub-order executed now; the rest stays pending."""
    with transaction.atomic(), acting_as(actor):
        order = services.lock_order(order)
        _check_executable(order)
        if statuses.role_of(order.status) == statuses.EXECUTED:
            raise ValidationError(_("Order %(number)s is executed.") % {"number": order.number})
        if order.parent_order_id is not None:
            raise ValidationError(_("Deliver items from the main order, not from a sub-order."))
        wanted = {item.pk for item in items}
        if not wanted:
            raise ValidationError({"items": _("Select at least one item to deliver.")})
        chosen = list(selectors.items_of(order).filter(pk__in=wanted))
        if len(chosen) != len(wanted):
            raise ValidationError({"items": _("Some selected items are not items of this order.")})
        delivered = [item for item in chosen if item.delivery_status != DeliveryStatus.PENDING]
        if delivered:
            raise ValidationError(
                {
                    "items": [
                        _("Item %(position)s (%(product)s) is already delivered.")
                        % {"position": item.position, "product": item.product.name}
                        for item in delivered
                    ]
                }
            )
        for item in chosen:
            parent = item.parent_item
            if (
                parent is not None
                and parent.delivery_status == DeliveryStatus.PENDING
                and parent.pk not in wanted
            ):
                raise ValidationError(
                    {
                        f"items.{item.position}": _(
                            "Item %(position)s (%(product)s) is an add-on of item %(parent)s: "
                            "deliver that item first or together with it."
                        )
                        % {
                            "position": item.position,
                            "product": item.product.name,
                            "parent": parent.position,
                        }
                    }
                )
        start_date = start_date or timezone.localdate()
        _check_invoice_date(start_date, invoice_date)
        outcome = validate_order(order)
        outcome.refusals = [
            refusal
            for refusal in outcome.refusals
            if refusal.position is None or refusal.position in {item.position for item in chosen}
        ]
        outcome.raise_if_refused()

        sub_order = services.order_create(
            actor=actor,
            account=order.account,
            billing_account=order.billing_account,
            name=_("%(name)s, delivery") % {"name": order.name},
            price_list=order.price_list,
            order_date=order.order_date,
            owner=order.owner,
            permission_rule=order.permission_rule,
            parent_order=order,
            source=order.source,
        )
        copies = services.copy_items(actor=actor, order=sub_order, lines=chosen)
        ordered = sorted(chosen, key=lambda i: (i.parent_item_id is not None, i.position))
        for copy, original in zip(copies, ordered, strict=True):
            parent = original.parent_item
            # An add-on whose primary was delivered earlier goes under that subscription.
            delivered_parent = (
                parent.created_subscription_id
                if parent is not None and parent.pk not in wanted
                else None
            )
            OrderItem.objects.filter(pk=copy.pk).update(
                source_item=original,
                target_subscription_id=copy.target_subscription_id or delivered_parent,
            )
        sub_order.refresh_from_db()
        credit = check_credit(sub_order, actor=actor, override=override_credit)
        if credit.credit_short:
            # The parent already holds these items' amount against the credit.
            credit = _credit_with_parent(sub_order, order, actor=actor, override=override_credit)
        credit.raise_if_refused()
        _record_credit_override(sub_order, actor, credit)
        invoice_on_chosen_date(sub_order, actor, invoice_date)
        sub_items = list(selectors.items_of(sub_order))
        result = _run_items(actor=actor, order=sub_order, items=sub_items, start_date=start_date)
        result.sub_order = sub_order
        result.warnings = credit.warnings
        _mark_executed(
            actor=actor, order=sub_order, start_date=start_date, invoice_date=invoice_date
        )
        now = timezone.now()
        for copy in sub_items:
            OrderItem.objects.filter(pk=copy.source_item_id or 0).update(
                delivery_status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                delivered_in=sub_order,
                created_subscription_id=copy.created_subscription_id,
                created_asset_id=copy.created_asset_id,
            )
        if not order.items.filter(delivery_status=DeliveryStatus.PENDING).exists():
            _mark_executed(
                actor=actor, order=order, start_date=start_date, invoice_date=invoice_date
            )
        result.order = order
        return result


def _credit_with_parent(sub_order: Order, parent: Order, *, actor: Any, override: bool) -> Outcome:
    from accounts.selectors import available_credit

    outcome = Outcome()
    credit = available_credit(sub_order.billing_account)
    if credit is None:
        return outcome
    room = credit + selectors.open_order_amount(parent) + selectors.open_order_amount(sub_order)
    if selectors.stored_gross_total(sub_order) <= room:
        return outcome
    return check_credit(sub_order, actor=actor, override=override)


def order_submit(*, actor: Any, order: Order, start_date: date | None = None) -> ExecutionResult:
    """A checkout: submit the order and execute it unless it must wait.

    It waits in the default in-progress status when an item needs manual provisioning,
    and stays Submitted when the billing account is short of credit.
    """
    with transaction.atomic(), acting_as(actor):
        order = services.lock_order(order)
        role = statuses.role_of(order.status)
        if role == statuses.DRAFT:
            order = services.order_set_status(
                actor=actor, order=order, status=statuses.mandatory(SystemStatus.SUBMITTED)
            )
        elif role != statuses.SUBMITTED:
            raise ValidationError(
                _("Order %(number)s is %(status)s, not a draft or submitted order.")
                % {"number": order.number, "status": order.status.name}
            )
        validate_order(order).raise_if_refused()
        if selectors.manual_items().filter(order=order).exists():
            waiting = statuses.manual_provisioning_status()
            if waiting is None:
                raise ValidationError(
                    _(
                        "The order has manually provisioned products, but there is no active, "
                        "Storefront-viewable In-progress order status for it to wait in. "
                        "Create one in Setup > Order statuses."
                    )
                )
            order.status = waiting
            order.save(update_fields=["status", "updated_at"])
            emit_event(
                "order.manual_management",
                actor=actor,
                aggregate=order,
                payload=services.order_payload(order),
            )
            return ExecutionResult(order=order, went_to_manual=True)
        credit = check_credit(order, actor=actor, override=False)
        if credit.refusals:
            return ExecutionResult(
                order=order, waiting_for_credit=True, warnings=[str(r) for r in credit.refusals]
            )
        return order_execute(actor=actor, order=order, start_date=start_date)
