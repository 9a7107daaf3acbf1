"""The price resolver: one answer to "what does this line cost" for every caller.

Orders, offers, billing, the Storefront and the API all call ``quote_price``. The
steps, in order:

1. **Base price.** The product's list price for the plan and currency
   (``ProductPrice``); with a volume discount attached, its tiers replace the flat price.
2. **Price list.** The first of the caller's price lists (already ordered: the
   account's own lists, newest first) that is usable on the date, is in the currency
   and has an item for the plan; otherwise the currency's default list; otherwise none.
   A *fixed* item sets the unit price (tiers no longer apply); a *percent* item moves
   the list price, and every tier price, by that percent.
3. **Line.** Unit prices keep 4 decimals (``quantize_unit_price``); the line is
   ``quantity x unit price`` (summed over tiers), rounded once half-up to the currency's
   minor unit.
4. **Promotion.** Of the promotions valid on the date the customer ordered, for this
   product, cycle and currency, whose customer rule and prerequisites hold and whose
   cycle count covers ``cycle_number``, the largest discount wins (ties: the oldest).
   The discount is rounded on its own and subtracted from the rounded line.

Worked JPY example: list price 1,234 with a -7.5 % item gives a unit price of
1234 x 0.925 = 1141.4500, and one unit costs 1,141 (1141.45 rounded half-up to 0 places).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from bss.core.money import quantize, quantize_unit_price
from catalogue.models import (
    ChargeType,
    DiscountType,
    Eligibility,
    PriceList,
    PriceListItem,
    PriceMethod,
    Product,
    ProductPlan,
    ProductPrice,
    Promotion,
    PromotionKind,
    VolumeMode,
)
from catalogue.selectors import default_price_list

HUNDRED = Decimal(100)


class PriceSource(StrEnum):
    LIST_PRICE = "list_price"
    PRICE_LIST_FIXED = "price_list_fixed"
    PRICE_LIST_PERCENT = "price_list_percent"


@dataclass(frozen=True)
class Tier:
    from_quantity: int
    to_quantity: int | None
    unit_price: Decimal


@dataclass(frozen=True)
class TierLine:
    """The units of one tier in a line; ``amount`` is exact, the line total is rounded."""

    from_quantity: int
    to_quantity: int | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PriceQuote:
    product_id: int
    plan_id: int
    currency: str
    quantity: Decimal
    on_date: date
    source: PriceSource
    price_list_id: int | None
    price_list_name: str
    list_unit_price: Decimal
    unit_price: Decimal
    volume_mode: str
    tiers: tuple[TierLine, ...]
    list_amount: Decimal
    subtotal: Decimal
    promotion_id: int | None
    promotion_name: str
    discount_amount: Decimal
    total: Decimal
    final_unit_price: Decimal
    setup_fee: Decimal
    cost_price: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["source"] = str(self.source)
        data["tiers"] = [asdict(tier) for tier in self.tiers]
        return data


# ------------------------------------------------------------------------ tier arithmetic


def tier_lines(tiers: Sequence[Tier], quantity: Decimal, mode: str) -> list[TierLine]:
    """Split ``quantity`` over ``tiers`` (sorted, contiguous from 1) in scale or continuous mode.

    Scale: units 1-20 at the first tier's price, 21-30 at the second's, and so on.
    Continuous: every unit at the price of the tier the whole quantity falls in.
    """
    if quantity <= 0:
        return []
    last = tiers[-1]
    if last.to_quantity is not None and quantity > last.to_quantity:
        raise ValidationError(
            {"quantity": f"{quantity} units is above the highest tier ({last.to_quantity})."}
        )
    if mode == VolumeMode.CONTINUOUS:
        for tier in tiers:
            if tier.to_quantity is None or quantity <= tier.to_quantity:
                return [
                    TierLine(
                        tier.from_quantity,
                        tier.to_quantity,
                        quantity,
                        tier.unit_price,
                        quantity * tier.unit_price,
                    )
                ]
    lines = []
    for tier in tiers:
        below = Decimal(tier.from_quantity - 1)
        if quantity <= below:
            break
        top = quantity if tier.to_quantity is None else min(quantity, Decimal(tier.to_quantity))
        units = top - below
        lines.append(
            TierLine(
                tier.from_quantity,
                tier.to_quantity,
                units,
                tier.unit_price,
                units * tier.unit_price,
            )
        )
    return lines


def adjust_by_percent(price: Decimal, percent: Decimal) -> Decimal:
    """``price`` moved by ``percent`` (-20 = 20 % off), kept at 4 decimals."""
    return quantize_unit_price(price * (HUNDRED + percent) / HUNDRED)


# ------------------------------------------------------------------------------ resolver


def _usable(price_list: PriceList, currency: str, on_date: date) -> bool:
    return (
        price_list.currency == currency
        and price_list.is_active
        and (price_list.valid_from is None or price_list.valid_from <= on_date)
        and (price_list.valid_until is None or price_list.valid_until >= on_date)
    )


def _price_list_item(
    *, plan: ProductPlan, currency: str, on_date: date, price_lists: Sequence[PriceList]
) -> PriceListItem | None:
    candidates = [pl for pl in price_lists if _usable(pl, currency, on_date)]
    default = default_price_list(currency)
    if default is not None and _usable(default, currency, on_date):
        candidates.append(default)
    if not candidates:
        return None
    items = {
        item.price_list_id: item
        for item in PriceListItem.objects.filter(
            plan=plan, price_list__in=[pl.pk for pl in candidates]
        )
    }
    for price_list in candidates:
        item = items.get(price_list.pk)
        if item is not None:
            item.price_list = price_list
            return item
    return None


def _promotion_discount(
    promotion: Promotion,
    *,
    subtotal: Decimal,
    unit_price: Decimal,
    quantity: Decimal,
    currency: str,
) -> Decimal:
    if promotion.discount_type == DiscountType.PERCENTAGE:
        assert promotion.percent is not None
        return quantize(subtotal * promotion.percent / HUNDRED, currency)
    assert promotion.amount is not None
    return min(subtotal, quantize(min(promotion.amount, unit_price) * quantity, currency))


def _promotion_applies(
    promotion: Promotion,
    *,
    plan: ProductPlan,
    currency: str,
    is_new_customer: bool,
    owned_product_ids: Collection[int],
    cycle_number: int,
) -> bool:
    if not promotion.applies_to_cycle(plan.billing_cycle):
        return False
    if promotion.discount_type == DiscountType.MONETARY and promotion.currency != currency:
        return False
    if promotion.eligibility == Eligibility.NEW_CUSTOMERS and not is_new_customer:
        return False
    if promotion.kind == PromotionKind.ONE_TIME and cycle_number != 1:
        return False
    if promotion.kind == PromotionKind.LIMITED_RECURRING and cycle_number > (promotion.cycles or 0):
        return False
    required = {product.pk for product in promotion.prerequisite_products.all()}
    return required <= set(owned_product_ids)


def best_promotion(
    *,
    product: Product,
    plan: ProductPlan,
    currency: str,
    ordered_on: date,
    is_new_customer: bool,
    owned_product_ids: Collection[int],
    cycle_number: int,
    subtotal: Decimal,
    unit_price: Decimal,
    quantity: Decimal,
) -> tuple[Promotion | None, Decimal]:
    if plan.charge_type == ChargeType.ONE_TIME or subtotal <= 0:
        return None, Decimal(0)
    candidates = (
        Promotion.objects.filter(
            products=product, is_active=True, start_date__lte=ordered_on, end_date__gte=ordered_on
        )
        .prefetch_related("prerequisite_products")
        .order_by("created_at", "pk")
    )
    best: Promotion | None = None
    best_discount = Decimal(0)
    for promotion in candidates:
        if not _promotion_applies(
            promotion,
            plan=plan,
            currency=currency,
            is_new_customer=is_new_customer,
            owned_product_ids=owned_product_ids,
            cycle_number=cycle_number,
        ):
            continue
        discount = _promotion_discount(
            promotion,
            subtotal=subtotal,
            unit_price=unit_price,
            quantity=quantity,
            currency=currency,
        )
        if discount > best_discount:
            best, best_discount = promotion, discount
    return best, best_discount


def _as_quantity(quantity: Decimal | int) -> Decimal:
    if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
        raise TypeError(f"quantity must be a Decimal or int, not {type(quantity).__name__}.")
    value = Decimal(quantity)
    if not value.is_finite() or value < 0:
        raise ValidationError({"quantity": "The quantity must be zero or more."})
    return value


def plan_list_price(*, plan: ProductPlan, currency: str) -> ProductPrice:
    price = (
        ProductPrice.objects.filter(plan=plan, currency=currency)
        .select_related("volume_discount")
        .first()
    )
    if price is None:
        raise ValidationError(
            {"currency": f"{plan.product.name} has no {currency} price for the {plan} plan."}
        )
    return price


def require_plan_of(product: Product, plan: ProductPlan, field: str = "plan") -> None:
    """Refuse ``plan`` unless it is one of ``product``'s plans."""
    if plan.product_id != product.pk:
        raise ValidationError(
            {
                field: _("The plan %(plan)s is not a plan of %(product)s.")
                % {"plan": plan, "product": product.name}
            }
        )


def quote_price(
    *,
    product: Product,
    plan: ProductPlan,
    currency: str,
    quantity: Decimal | int,
    on_date: date,
    price_lists: Sequence[PriceList] = (),
    is_new_customer: bool = False,
    owned_product_ids: Collection[int] = frozenset(),
    cycle_number: int = 1,
    ordered_on: date | None = None,
) -> PriceQuote:
    """Price ``quantity`` units of ``plan`` in ``currency`` on ``on_date``.

    ``price_lists`` come from the caller already ordered (the account's lists, newest
    first). ``cycle_number`` is the billing cycle being priced (1 = the first) and
    ``ordered_on`` the date the subscription was ordered: promotions are judged on that
    date, so a two-cycle promotion still discounts cycle 2 after it stopped being offered.
    """
    require_plan_of(product, plan)
    if cycle_number < 1:
        raise ValidationError({"cycle_number": "Billing cycles are numbered from 1."})
    units = _as_quantity(quantity)
    base = plan_list_price(plan=plan, currency=currency)

    tiers: list[Tier] = []
    mode = ""
    if base.volume_discount is not None:
        mode = base.volume_discount.mode
        tiers = [
            Tier(tier.from_quantity, tier.to_quantity, tier.unit_price)
            for tier in base.volume_discount.tiers.order_by("from_quantity")
        ]
    list_lines = tier_lines(tiers, units, mode) if tiers else []
    list_amount = quantize(
        sum((line.amount for line in list_lines), Decimal(0)) if tiers else units * base.price,
        currency,
    )

    item = _price_list_item(plan=plan, currency=currency, on_date=on_date, price_lists=price_lists)
    source = PriceSource.LIST_PRICE
    cost_price = base.cost_price
    lines = list_lines
    unit_price = quantize_unit_price(base.price)
    if item is not None:
        cost_price = item.cost_price if item.cost_price is not None else base.cost_price
        if item.method == PriceMethod.FIXED:
            assert item.fixed_price is not None
            source = PriceSource.PRICE_LIST_FIXED
            unit_price = quantize_unit_price(item.fixed_price)
            tiers, lines, mode = [], [], ""
        else:
            assert item.percent is not None
            source = PriceSource.PRICE_LIST_PERCENT
            unit_price = adjust_by_percent(base.price, item.percent)
            if tiers:
                tiers = [
                    Tier(
                        t.from_quantity,
                        t.to_quantity,
                        adjust_by_percent(t.unit_price, item.percent),
                    )
                    for t in tiers
                ]
                lines = tier_lines(tiers, units, mode)

    if tiers:
        exact = sum((line.amount for line in lines), Decimal(0))
        subtotal = quantize(exact, currency)
        if units:
            unit_price = quantize_unit_price(exact / units)
    else:
        subtotal = quantize(units * unit_price, currency)

    promotion, discount = best_promotion(
        product=product,
        plan=plan,
        currency=currency,
        ordered_on=ordered_on or on_date,
        is_new_customer=is_new_customer,
        owned_product_ids=owned_product_ids,
        cycle_number=cycle_number,
        subtotal=subtotal,
        unit_price=unit_price,
        quantity=units,
    )
    total = subtotal - discount
    return PriceQuote(
        product_id=product.pk,
        plan_id=plan.pk,
        currency=currency,
        quantity=units,
        on_date=on_date,
        source=source,
        price_list_id=item.price_list.pk if item is not None else None,
        price_list_name=item.price_list.name if item is not None else "",
        list_unit_price=quantize_unit_price(base.price),
        unit_price=unit_price,
        volume_mode=mode,
        tiers=tuple(lines),
        list_amount=list_amount,
        subtotal=subtotal,
        promotion_id=promotion.pk if promotion is not None else None,
        promotion_name=promotion.name if promotion is not None else "",
        discount_amount=discount,
        total=total,
        final_unit_price=quantize_unit_price(total / units) if units else unit_price,
        setup_fee=quantize(base.setup_fee, currency),
        cost_price=quantize_unit_price(cost_price) if cost_price is not None else None,
    )
