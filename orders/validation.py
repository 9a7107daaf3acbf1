"""Whether an order (or an offer's items) may be placed: the one check every caller uses.

The order pages, the offer pages, the API and (later) the Storefront call
``validate_items`` / ``validate_order``; each refusal names the item (its position and
product) and the reason, and carries the field it is about so the API can answer field-
and item-level JSON. What may be bought together comes from
``catalogue.relations.validate_product_selection``; whether the account may order and
how much credit it has left come from ``accounts.selectors``.

The credit check compares the order's gross total with the billing account's available
credit. Short of credit, a Storefront-style submission stays Submitted; a staff user
holding ``accounts.override_credit_limit`` may still execute, after a warning that the
service records on the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import available_credit, can_order
from bss.core.money import format_money
from bss.core.permissions import user_has_permission
from catalogue.models import ProductKind, ProductPrice
from catalogue.relations import validate_product_selection
from orders import selectors


@dataclass(frozen=True)
class Refusal:
    """One reason the order cannot go on; ``position`` is None for the order as a whole."""

    field: str
    message: str
    position: int | None = None
    product: str = ""

    @property
    def key(self) -> str:
        if self.position is None:
            return self.field
        return f"items.{self.position}.{self.field}"

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return _("Item %(position)s (%(product)s): %(message)s") % {
            "position": self.position,
            "product": self.product,
            "message": self.message,
        }


@dataclass
class Outcome:
    refusals: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    credit_short: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.refusals

    def error(self) -> ValidationError:
        errors: dict[str, list[str]] = {}
        for refusal in self.refusals:
            errors.setdefault(refusal.key, []).append(str(refusal))
        return ValidationError(errors)

    def raise_if_refused(self) -> None:
        if self.refusals:
            raise self.error()


@dataclass(frozen=True)
class ItemInput:
    """What validation reads of a line, whether saved (an order item) or not (a form)."""

    position: int
    product: Any
    plan: Any
    quantity: int
    action: str = "new"
    parent_position: int | None = None
    target_subscription_id: int | None = None

    @classmethod
    def of(cls, item: Any) -> ItemInput:
        parent = getattr(item, "parent_item", None)
        return cls(
            position=item.position,
            product=item.product,
            plan=item.plan,
            quantity=item.quantity,
            action=getattr(item, "action", "new"),
            parent_position=parent.position if parent is not None else None,
            target_subscription_id=getattr(item, "target_subscription_id", None),
        )


def _item_refusal(item: ItemInput, field_name: str, message: str) -> Refusal:
    return Refusal(field_name, message, item.position, item.product.name)


def _priced_plans(items: Sequence[ItemInput], currency: str) -> set[int]:
    return set(
        ProductPrice.objects.filter(
            plan_id__in=[item.plan.pk for item in items], currency=currency
        ).values_list("plan_id", flat=True)
    )


def _attach(message: str, items: Sequence[ItemInput]) -> Refusal:
    """A selection message belongs to the first item whose product it names."""
    for item in items:
        if item.product.name in message:
            return _item_refusal(item, "product", message)
    return Refusal("items", message)


def validate_items(
    *,
    account: Account,
    currency: str,
    items: Sequence[ItemInput],
) -> Outcome:
    """Everything wrong with buying ``items`` for ``account`` in ``currency``."""
    outcome = Outcome()
    if not can_order(account):
        outcome.refusals.append(
            Refusal(
                "account",
                _("%(account)s may not order: it is inactive or ordering is not enabled.")
                % {"account": account.name},
            )
        )
    if not items:
        outcome.refusals.append(Refusal("items", _("Add at least one item.")))
        return outcome
    facts = selectors.subscription_facts(account, [item.target_subscription_id for item in items])
    priced = _priced_plans(items, currency)
    positions = {item.position for item in items}
    plan_changes = []
    for item in items:
        product = item.product
        if item.plan.product_id != product.pk:
            outcome.refusals.append(
                _item_refusal(
                    item,
                    "plan",
                    _("The plan %(plan)s is not a plan of this product.") % {"plan": item.plan},
                )
            )
            continue
        if item.plan.pk not in priced:
            outcome.refusals.append(
                _item_refusal(
                    item,
                    "product",
                    _("%(product)s is not available in %(currency)s for the %(plan)s plan.")
                    % {"product": product.name, "currency": currency, "plan": item.plan},
                )
            )
        if item.quantity < product.min_quantity:
            outcome.refusals.append(
                _item_refusal(
                    item,
                    "quantity",
                    _("%(product)s is sold in quantities of at least %(minimum)s.")
                    % {"product": product.name, "minimum": product.min_quantity},
                )
            )
        if product.max_quantity is not None and item.quantity > product.max_quantity:
            outcome.refusals.append(
                _item_refusal(
                    item,
                    "quantity",
                    _("%(product)s is sold in quantities of at most %(maximum)s.")
                    % {"product": product.name, "maximum": product.max_quantity},
                )
            )
        if item.action != "new":
            target = facts.targets.get(item.target_subscription_id or 0)
            if target is None:
                outcome.refusals.append(
                    _item_refusal(
                        item,
                        "target_subscription",
                        _("The subscription to change is not a live subscription of %(account)s.")
                        % {"account": account.name},
                    )
                )
            elif item.action == "upgrade":
                plan_changes.append((target.product, product))
            elif target.product_id != product.pk:
                outcome.refusals.append(
                    _item_refusal(
                        item,
                        "target_subscription",
                        _("The subscription to change is a subscription of %(other)s.")
                        % {"other": target.product.name},
                    )
                )
        elif product.kind == ProductKind.ADDON:
            has_parent = item.parent_position in positions or item.target_subscription_id
            if not has_parent and not (
                set(product.primary_products.values_list("pk", flat=True)) & facts.owned_product_ids
            ):
                outcome.refusals.append(
                    _item_refusal(
                        item,
                        "parent_item",
                        _(
                            "The add-on needs its primary product: put it under a primary item "
                            "of this order or an existing subscription."
                        ),
                    )
                )
    new_products = [item.product for item in items if item.action == "new"]
    for message in validate_product_selection(
        products_in_order=new_products,
        owned_product_ids=facts.owned_product_ids,
        plan_changes=plan_changes,
    ):
        outcome.refusals.append(_attach(message, items))
    return outcome


def order_items_input(order: Any) -> list[ItemInput]:
    return [
        ItemInput.of(item)
        for item in order.items.select_related(
            "product", "plan", "parent_item", "product__product_type"
        ).filter(delivery_status="pending")
    ]


def check_credit(order: Any, *, actor: Any, override: bool) -> Outcome:
    """The order's gross total against the billing account's available credit."""
    outcome = Outcome()
    billing_account = order.billing_account
    credit = available_credit(billing_account)
    if credit is None:
        return outcome
    # A submitted order already counts against the credit; do not count it twice.
    already_counted = selectors.open_order_amount(order)
    needed = selectors.stored_gross_total(order)
    if needed <= credit + already_counted:
        return outcome
    shown = format_money(credit + already_counted, order.currency)
    message = _(
        "%(account)s has %(available)s of credit available; this order needs %(needed)s."
    ) % {
        "account": billing_account.name,
        "available": shown,
        "needed": format_money(needed, order.currency),
    }
    outcome.credit_short = True
    if (
        override
        and actor is not None
        and user_has_permission(actor, "accounts", "override_credit_limit")
    ):
        outcome.warnings.append(message)
    else:
        outcome.refusals.append(Refusal("credit", message))
    return outcome


def validate_order(
    order: Any,
    *,
    actor: Any = None,
    check_credit_limit: bool = False,
    override_credit: bool = False,
) -> Outcome:
    """The refusals of the order's pending items, and of its credit when asked."""
    outcome = validate_items(
        account=order.account, currency=order.currency, items=order_items_input(order)
    )
    if check_credit_limit:
        credit = check_credit(order, actor=actor, override=override_credit)
        outcome.refusals += credit.refusals
        outcome.warnings += credit.warnings
        outcome.credit_short = credit.credit_short
    return outcome
