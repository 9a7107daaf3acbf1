"""Every write of the Orders module: statuses, orders, items, submission, cancellation.

Execution (turning items into subscriptions and assets) lives in ``orders.execution``.
Each service runs in one transaction, records the audit entry under the actor and emits
the domain event; views, the API, tasks and the offer conversion all call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import price_lists_for
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize_unit_price
from bss.core.numbering import next_number
from bss.core.permissions import user_has_permission
from bss.setup.fields.values import account_context_of, validate_custom_data
from catalogue.models import PriceList, Product, ProductPlan
from catalogue.pricing import PriceQuote, quote_price, require_plan_of
from orders import statuses
from orders.models import (
    DeliveryStatus,
    ItemAction,
    Order,
    OrderItem,
    OrderStatus,
    StatusType,
    StorefrontType,
    SystemStatus,
)
from orders.totals import compute_totals
from subscriptions.models import Subscription

ORDER_STATUS_FIELDS = (
    "name",
    "status_type",
    "storefront_type",
    "is_active",
    "is_default",
    "color",
    "position",
)
ORDER_FIELDS = (
    "name",
    "billing_account",
    "price_list",
    "order_date",
    "owner",
    "permission_rule",
    "notes",
)
ITEM_FIELDS = (
    "quantity",
    "unit_price",
    "discount_percent",
    "start_date",
    "friendly_name",
    "provisioning_attributes",
    "parent_item",
)


def order_payload(order: Order, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "number": order.number,
        "account_id": order.account_id,
        "billing_account_id": order.billing_account_id,
        "status": order.status.name,
        **extra,
    }


# ------------------------------------------------------------------------------ statuses


def _check_status_rules(status: OrderStatus) -> None:
    if status.system_key and not status.is_active:
        raise ValidationError(
            {"is_active": _("%(name)s is a mandatory status and stays active.") % {"name": status}}
        )
    if status.system_key:
        _name, status_type, storefront_type = statuses.MANDATORY[SystemStatus(status.system_key)]
        if (status.status_type, status.storefront_type) != (status_type, storefront_type):
            raise ValidationError(
                {"status_type": _("The type of a mandatory status cannot change.")}
            )
    if status.is_default and not (
        status.is_active
        and status.status_type == StatusType.IN_PROGRESS
        and status.storefront_type == StorefrontType.VIEWABLE
    ):
        raise ValidationError(
            {
                "is_default": _(
                    "The default in-progress status must be active, of type In progress "
                    "and viewable in the Storefront."
                )
            }
        )
    combination = (status.status_type, status.storefront_type)
    if combination in statuses.UNIQUE_COMBINATIONS:
        holder = (
            OrderStatus.objects.filter(
                status_type=status.status_type, storefront_type=status.storefront_type
            )
            .exclude(pk=status.pk)
            .first()
        )
        if holder is not None:
            raise ValidationError(
                {
                    "storefront_type": _(
                        "%(holder)s already has this type and Storefront type; "
                        "only one status may hold it."
                    )
                    % {"holder": holder}
                }
            )


def _save_status(status: OrderStatus) -> OrderStatus:
    _check_status_rules(status)
    if status.is_default:
        OrderStatus.objects.filter(is_default=True).exclude(pk=status.pk).update(is_default=False)
    try:
        with transaction.atomic():
            status.save()
    except IntegrityError as error:
        raise ValidationError(
            {"name": _("A status with this name or combination already exists.")}
        ) from error
    return status


@transaction.atomic
def order_status_create(*, actor: Any, **fields: Any) -> OrderStatus:
    with acting_as(actor):
        status = OrderStatus(**{k: v for k, v in fields.items() if k in ORDER_STATUS_FIELDS})
        return _save_status(status)


@transaction.atomic
def order_status_update(*, actor: Any, status: OrderStatus, **fields: Any) -> OrderStatus:
    with acting_as(actor):
        status = OrderStatus.objects.select_for_update().get(pk=status.pk)
        for name, value in fields.items():
            if name in ORDER_STATUS_FIELDS:
                setattr(status, name, value)
        return _save_status(status)


@transaction.atomic
def order_status_delete(*, actor: Any, status: OrderStatus) -> None:
    with acting_as(actor):
        status = OrderStatus.objects.select_for_update().get(pk=status.pk)
        if status.system_key:
            raise ValidationError(
                _("%(name)s is a mandatory status and cannot be deleted.") % {"name": status}
            )
        if status.orders.exists():
            raise ValidationError(
                _("%(name)s is used by orders; deactivate it instead.") % {"name": status}
            )
        status.delete()


# -------------------------------------------------------------------------------- orders


def default_billing_account(account: Account) -> Account:
    """Who pays: the account's billing account (a reseller for its clients) or itself."""
    return account.billing_account or account


def check_billing_account(account: Account, billing_account: Account) -> None:
    allowed = {account.pk, account.billing_account_id, account.parent_id} - {None}
    if billing_account.pk not in allowed:
        raise ValidationError(
            {
                "billing_account": _(
                    "%(payer)s cannot pay for %(account)s: choose the account itself, "
                    "its billing account or its reseller."
                )
                % {"payer": billing_account.name, "account": account.name}
            }
        )


def _check_price_list(price_list: PriceList | None, currency: str) -> None:
    if price_list is not None and price_list.currency != currency:
        raise ValidationError(
            {
                "price_list": _("The price list %(name)s is in %(list)s, the order in %(order)s.")
                % {"name": price_list.name, "list": price_list.currency, "order": currency}
            }
        )


def _require_open(order: Order) -> None:
    if statuses.is_finished(order.status):
        raise ValidationError(
            _("Order %(number)s is %(status)s and can no longer change.")
            % {"number": order.number, "status": order.status.name}
        )


def lock_order(order: Order) -> Order:
    """The order row, locked until commit (always lock the parent before a sub-order)."""
    # No join in the locking query: PostgreSQL re-checks a join against the row a
    # concurrent transaction updated, and a changed status would make the order vanish.
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def order_create(
    *,
    actor: Any,
    account: Account,
    billing_account: Account | None = None,
    name: str = "",
    price_list: PriceList | None = None,
    order_date: date | None = None,
    owner: Any = None,
    permission_rule: Any = None,
    notes: str = "",
    custom_data: dict[str, Any] | None = None,
    status: OrderStatus | None = None,
    source: str = "bss",
    parent_order: Order | None = None,
) -> Order:
    with acting_as(actor):
        billing_account = billing_account or default_billing_account(account)
        check_billing_account(account, billing_account)
        currency = billing_account.currency
        _check_price_list(price_list, currency)
        status = status or statuses.mandatory(SystemStatus.SUBMITTED)
        if statuses.role_of(status) in statuses.FINISHED:
            raise ValidationError({"status": _("A new order cannot start executed or canceled.")})
        owner = owner or (actor if getattr(actor, "is_authenticated", False) else account.owner)
        cleaned_custom_data = validate_custom_data(
            "order", custom_data or {}, account_context=account_context_of(account)
        )
        number = next_number("orders.order", prefix="ORD-")
        order = Order.objects.create(
            number=number,
            name=(name or "").strip() or f"{account.name} {number}",
            account=account,
            billing_account=billing_account,
            currency=currency,
            price_list=price_list,
            order_date=order_date or timezone.localdate(),
            status=status,
            owner=owner,
            permission_rule=permission_rule,
            notes=notes,
            custom_data=cleaned_custom_data,
            source=source,
            parent_order=parent_order,
            submitted_at=timezone.now() if statuses.role_of(status) != statuses.DRAFT else None,
        )
        if order.submitted_at is not None and parent_order is None:
            emit_event(
                "order.submitted", actor=actor, aggregate=order, payload=order_payload(order)
            )
        return order


@transaction.atomic
def order_update(
    *, actor: Any, order: Order, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Order:
    with acting_as(actor):
        order = lock_order(order)
        _require_open(order)
        changed = []
        for name, value in fields.items():
            if name not in ORDER_FIELDS:
                raise ValidationError({name: _("This field cannot be changed here.")})
            if name == "name":
                value = (value or "").strip() or order.name
            if getattr(order, name) != value:
                setattr(order, name, value)
                changed.append(name)
        if "billing_account" in changed:
            check_billing_account(order.account, order.billing_account)
            if order.billing_account.currency != order.currency and order.items.exists():
                raise ValidationError(
                    {
                        "billing_account": _(
                            "The order has items priced in %(currency)s; remove them before "
                            "billing another currency."
                        )
                        % {"currency": order.currency}
                    }
                )
            order.currency = order.billing_account.currency
            changed.append("currency")
        _check_price_list(order.price_list, order.currency)
        if custom_data is not None:
            new_custom_data = validate_custom_data(
                "order",
                custom_data,
                account_context=account_context_of(order.account),
                existing=order.custom_data,
            )
            if new_custom_data != order.custom_data:
                order.custom_data = new_custom_data
                changed.append("custom_data")
        if changed:
            order.save(update_fields=[*changed, "updated_at"])
        return order


@transaction.atomic
def order_delete(*, actor: Any, order: Order) -> None:
    with acting_as(actor):
        order = lock_order(order)
        if statuses.role_of(order.status) == statuses.EXECUTED or order.sub_orders.exists():
            raise ValidationError(
                _("Order %(number)s was executed (or partly delivered) and cannot be deleted.")
                % {"number": order.number}
            )
        if hasattr(order, "source_offer"):
            raise ValidationError(
                _("Order %(number)s was converted from an offer; cancel it instead.")
                % {"number": order.number}
            )
        order.delete()


# --------------------------------------------------------------------------------- items


def quote_item(
    record: Any, *, product: Product, plan: ProductPlan, quantity: int, on_date: date
) -> PriceQuote:
    """The resolver's price for the paying account of an order or offer; its own list first."""
    lists = price_lists_for(record.billing_account, on_date)
    if record.price_list is not None:
        lists = [record.price_list, *[pl for pl in lists if pl.pk != record.price_list_id]]
    return quote_price(
        product=product,
        plan=plan,
        currency=record.currency,
        quantity=quantity,
        on_date=on_date,
        price_lists=lists,
    )


def check_line_values(
    *,
    order: Any,
    product: Product,
    plan: ProductPlan,
    quantity: int,
    discount_percent: Decimal,
    parent_item: Any,
    action: str,
) -> None:
    require_plan_of(product, plan)
    if quantity is None or quantity < 1:
        raise ValidationError({"quantity": _("The quantity must be at least 1.")})
    if discount_percent is None or not (Decimal(0) <= discount_percent <= Decimal(100)):
        raise ValidationError({"discount_percent": _("A discount is between 0 and 100 %.")})
    if action not in ItemAction.values:
        raise ValidationError({"action": _("Unknown action %(action)s.") % {"action": action}})
    owner_id = f"{order._meta.model_name}_id"
    if parent_item is not None and getattr(parent_item, owner_id) != order.pk:
        raise ValidationError(
            {
                "parent_item": _("The parent item belongs to another %(record)s.")
                % {"record": order._meta.verbose_name}
            }
        )


def price_line(
    item: Any,
    *,
    actor: Any,
    record: Any,
    on_date: date,
    unit_price: Decimal | None,
) -> None:
    """Price an order or offer line; a unit price other than the resolver's needs the permission.

    The override is recorded on the line (who, and the list price beside it) and in the
    audit trail.
    """
    quote = quote_item(
        record, product=item.product, plan=item.plan, quantity=item.quantity, on_date=on_date
    )
    item.list_unit_price = quote.unit_price
    item.price_list_id = quote.price_list_id
    item.promotion_id = quote.promotion_id
    item.promotion_discount = quote.discount_amount
    if unit_price is None:
        item.unit_price = quote.unit_price
        item.is_price_overridden = False
        item.price_overridden_by = None
        return
    unit_price = quantize_unit_price(unit_price)
    if unit_price < 0:
        raise ValidationError({"unit_price": _("A unit price cannot be negative.")})
    if unit_price == quote.unit_price:
        item.unit_price = unit_price
        item.is_price_overridden = False
        item.price_overridden_by = None
        return
    if item.pk is not None and item.is_price_overridden and unit_price == item.unit_price:
        return
    if not user_has_permission(actor, "orders", "override_price"):
        raise ValidationError(
            {"unit_price": _("You may not change the unit price (needs 'Override unit price').")}
        )
    item.unit_price = unit_price
    item.is_price_overridden = True
    item.price_overridden_by = actor if getattr(actor, "is_authenticated", False) else None


PRICE_FIELDS = (
    "list_unit_price",
    "unit_price",
    "is_price_overridden",
    "price_overridden_by_id",
    "price_list_id",
    "promotion_id",
    "promotion_discount",
)


def copy_price(item: Any, line: Any) -> None:
    for name in PRICE_FIELDS:
        setattr(item, name, getattr(line, name))


def refresh_totals(order: Order) -> Order:
    """Recompute and store the order's totals from its items (inside the caller's transaction)."""
    items = list(order.items.select_related("product", "plan"))
    totals = compute_totals(items, currency=order.currency, billing_account=order.billing_account)
    order.net_total = totals.net_total
    order.discount_total = totals.discount_total
    order.tax_total = totals.tax_total
    order.gross_total = totals.gross_total
    order.monthly_run_rate = totals.monthly_run_rate
    order.save(
        update_fields=[
            "net_total",
            "discount_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
            "updated_at",
        ]
    )
    return order


@transaction.atomic
def order_item_add(
    *,
    actor: Any,
    order: Order,
    product: Product,
    plan: ProductPlan,
    quantity: int = 1,
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    start_date: date | None = None,
    friendly_name: str = "",
    provisioning_attributes: dict[str, Any] | None = None,
    action: str = ItemAction.NEW,
    parent_item: OrderItem | None = None,
    target_subscription_id: int | None = None,
    priced_like: Any = None,
) -> OrderItem:
    """Add a line priced by the resolver; a different ``unit_price`` needs the permission.

    ``priced_like`` is a line already priced elsewhere (an accepted offer's item, the
    item a sub-order delivers): its prices, discounts, price list and promotion, and
    who overrode its price, are copied exactly instead of asking the resolver again.
    """
    with acting_as(actor):
        order = lock_order(order)
        _require_open(order)
        discount_percent = Decimal(discount_percent or 0)
        check_line_values(
            order=order,
            product=product,
            plan=plan,
            quantity=quantity,
            discount_percent=discount_percent,
            parent_item=parent_item,
            action=action,
        )
        if (
            target_subscription_id is not None
            and not Subscription.objects.filter(
                pk=target_subscription_id, account=order.account
            ).exists()
        ):
            raise ValidationError(
                {
                    "target_subscription": _("%(account)s has no subscription %(id)s.")
                    % {"account": order.account.name, "id": target_subscription_id}
                }
            )
        last = order.items.order_by("-position").values_list("position", flat=True).first()
        item = OrderItem(
            order=order,
            position=(last or 0) + 1,
            action=action,
            parent_item=parent_item,
            product=product,
            plan=plan,
            quantity=quantity,
            discount_percent=discount_percent,
            start_date=start_date,
            friendly_name=friendly_name or "",
            provisioning_attributes=provisioning_attributes or {},
            target_subscription_id=target_subscription_id,
        )
        if priced_like is not None:
            copy_price(item, priced_like)
        else:
            price_line(
                item, actor=actor, record=order, on_date=order.order_date, unit_price=unit_price
            )
        item.save()
        refresh_totals(order)
        return item


@transaction.atomic
def order_item_update(*, actor: Any, item: OrderItem, **fields: Any) -> OrderItem:
    with acting_as(actor):
        order = lock_order(item.order)
        _require_open(order)
        item = (
            OrderItem.objects.select_for_update().select_related("product", "plan").get(pk=item.pk)
        )
        if item.delivery_status == DeliveryStatus.DELIVERED:
            raise ValidationError(_("A delivered item cannot change."))
        unknown = set(fields) - set(ITEM_FIELDS)
        if unknown:
            raise ValidationError(
                {name: _("This field cannot be changed here.") for name in unknown}
            )
        unit_price = fields.pop("unit_price", item.unit_price if item.is_price_overridden else None)
        for name, value in fields.items():
            setattr(item, name, value)
        item.discount_percent = Decimal(item.discount_percent or 0)
        check_line_values(
            order=order,
            product=item.product,
            plan=item.plan,
            quantity=item.quantity,
            discount_percent=item.discount_percent,
            parent_item=item.parent_item,
            action=item.action,
        )
        if item.parent_item_id == item.pk:
            raise ValidationError({"parent_item": _("An item cannot be its own parent.")})
        price_line(item, actor=actor, record=order, on_date=order.order_date, unit_price=unit_price)
        item.save()
        refresh_totals(order)
        return item


@transaction.atomic
def order_item_remove(*, actor: Any, item: OrderItem) -> Order:
    with acting_as(actor):
        order = lock_order(item.order)
        _require_open(order)
        if item.delivery_status == DeliveryStatus.DELIVERED:
            raise ValidationError(_("A delivered item cannot be removed."))
        item.delete()
        return refresh_totals(order)


# -------------------------------------------------------------------- status, submit, cancel


@transaction.atomic
def order_set_status(*, actor: Any, order: Order, status: OrderStatus) -> Order:
    """Move the order along the transition table; executing and canceling have their own services."""
    with acting_as(actor):
        order = lock_order(order)
        target_role = statuses.role_of(status)
        if target_role == statuses.EXECUTED:
            raise ValidationError(
                {"status": _("Execute the order to make it %(name)s.") % {"name": status}}
            )
        if target_role == statuses.CANCELED:
            return _cancel_locked(actor=actor, order=order, status=status)
        statuses.check_transition(order.status, status)
        was_draft = statuses.role_of(order.status) == statuses.DRAFT
        order.status = status
        update = ["status", "updated_at"]
        if was_draft and target_role != statuses.DRAFT:
            from orders.validation import validate_order

            validate_order(order).raise_if_refused()
            order.submitted_at = timezone.now()
            update.append("submitted_at")
        order.save(update_fields=update)
        if was_draft and target_role != statuses.DRAFT:
            emit_event(
                "order.submitted", actor=actor, aggregate=order, payload=order_payload(order)
            )
        return order


def _cancel_locked(
    *, actor: Any, order: Order, status: OrderStatus | None = None, reason: str = ""
) -> Order:
    status = status or statuses.mandatory(SystemStatus.CANCELED)
    statuses.check_transition(order.status, status)
    if order.items.filter(delivery_status=DeliveryStatus.DELIVERED).exists():
        raise ValidationError(
            _("Order %(number)s has delivered items; cancel their subscriptions instead.")
            % {"number": order.number}
        )
    order.status = status
    order.canceled_at = timezone.now()
    if reason:
        order.notes = f"{order.notes}\n{reason}".strip()
    order.save(update_fields=["status", "canceled_at", "notes", "updated_at"])
    emit_event(
        "order.canceled", actor=actor, aggregate=order, payload=order_payload(order, reason=reason)
    )
    return order


@transaction.atomic
def order_cancel(*, actor: Any, order: Order, reason: str = "") -> Order:
    with acting_as(actor):
        return _cancel_locked(actor=actor, order=lock_order(order), reason=reason)


def copy_items(*, actor: Any, order: Order, lines: Sequence[Any]) -> list[OrderItem]:
    """Copy priced lines (offer items, items of a parent order) exactly, parents first."""
    created: dict[int, OrderItem] = {}
    result = []
    for line in sorted(lines, key=lambda line: (line.parent_item_id is not None, line.position)):
        parent = created.get(line.parent_item_id) if line.parent_item_id else None
        item = order_item_add(
            actor=actor,
            order=order,
            product=line.product,
            plan=line.plan,
            quantity=line.quantity,
            discount_percent=line.discount_percent,
            start_date=getattr(line, "start_date", None),
            friendly_name=line.friendly_name,
            provisioning_attributes=getattr(line, "provisioning_attributes", None),
            action=getattr(line, "action", ItemAction.NEW),
            parent_item=parent,
            target_subscription_id=getattr(line, "target_subscription_id", None),
            priced_like=line,
        )
        created[line.pk] = item
        result.append(item)
    return result
