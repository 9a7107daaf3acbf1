"""Every write to the catalogue goes through here.

Each service takes keyword-only arguments with ``actor`` first, runs in one transaction,
checks its rule with a message that names the records involved, writes with the actor
recorded in the audit log, and emits a domain event where an integration cares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, UniqueConstraint

from bss.core.audit import acting_as
from bss.core.custom_fields import custom_fields_for
from bss.core.events import emit_event
from bss.core.money import minor_units
from bss.setup.fields.values import validate_custom_data
from catalogue.models import (
    BillingCycle,
    BillingDateRule,
    BundleComponent,
    Category,
    ChargeType,
    DiscountType,
    PriceList,
    PriceListItem,
    PriceMethod,
    Product,
    ProductExclusion,
    ProductGroup,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductRequirement,
    ProductStatus,
    ProductType,
    ProductUpgrade,
    Promotion,
    PromotionKind,
    UpgradeDirection,
    VolumeDiscount,
    VolumeTier,
)
from catalogue.selectors import active_currency_codes

RecordT = TypeVar("RecordT", bound=Model)

PRODUCT_ENTITY = "product"
PRICE_LIST_ENTITY = "price_list"

CATEGORY_FIELDS = ("name", "parent", "position", "description", "publish_to_storefront")
GROUP_FIELDS = ("name", "description", "position", "publish_to_storefront")
PRODUCT_TYPE_FIELDS = (
    "code",
    "name",
    "description",
    "integration",
    "type_category",
    "properties",
    "tax_code",
    "auto_exec_subscription_cancel",
    "auto_exec_addon_cancel",
    "auto_exec_threshold_amount",
    "auto_exec_downgrade",
    "non_auto_new_orders",
    "cancellation_window_hours",
    "full_refund_hours",
    "allow_partial_cancellation",
    "offer_cancel_immediate",
    "offer_cancel_specific_date",
    "offer_cancel_end_of_period",
    "proration_method",
    "refund_basis",
)
PRODUCT_FIELDS = (
    "kind",
    "code",
    "name",
    "description",
    "product_type",
    "category",
    "unit_of_measure",
    "is_taxable",
    "min_quantity",
    "max_quantity",
    "publish_to_storefront",
    "single_subscription",
    "terms_of_use_url",
    "custom_data",
)
PLAN_FIELDS = (
    "billing_cycle",
    "commitment_months",
    "charge_type",
    "exclude_from_proration",
    "usage_charge_rule",
    "billing_date_rule",
    "billing_day",
    "auto_renew",
    "trial_enabled",
    "trial_days",
    "trial_max_quantity",
    "trial_once_per_account",
    "is_price_protected",
    "position",
)
PRICE_LIST_FIELDS = (
    "name",
    "currency",
    "valid_from",
    "valid_until",
    "is_active",
    "is_default",
    "description",
    "permission_rule",
    "custom_data",
)
PROMOTION_FIELDS = (
    "name",
    "description",
    "start_date",
    "end_date",
    "is_active",
    "kind",
    "cycles",
    "discount_type",
    "percent",
    "amount",
    "currency",
    "for_monthly",
    "for_annual",
    "for_triennial",
    "eligibility",
    "publish_to_storefront",
)

PRODUCT_TRANSITIONS = {
    ProductStatus.ACTIVE: {ProductStatus.RETIRED},
    ProductStatus.RETIRED: {ProductStatus.ACTIVE},
}


@dataclass(frozen=True)
class PriceInput:
    """One currency's price of a plan, as forms, the API and the seed hand it in."""

    price: Decimal
    cost_price: Decimal | None = None
    setup_fee: Decimal = Decimal(0)
    volume_discount: VolumeDiscount | None = None


# ------------------------------------------------------------------------------- helpers


def _check_fields(fields: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(f"Unknown {what} fields: {', '.join(sorted(unknown))}")


def _changed(record: Model, fields: Mapping[str, Any]) -> list[str]:
    return [name for name, value in fields.items() if getattr(record, name) != value]


def _check_product_record(product: Product) -> None:
    if product.max_quantity is not None and product.max_quantity < product.min_quantity:
        raise ValidationError(
            {"max_quantity": "The maximum quantity cannot be below the minimum quantity."}
        )
    if product.min_quantity < 1:
        raise ValidationError({"min_quantity": "The minimum quantity is at least 1."})


def _check_product_type_record(product_type: ProductType) -> None:
    window = product_type.cancellation_window_hours
    if window and product_type.full_refund_hours > window:
        raise ValidationError(
            {"full_refund_hours": "The full-refund period must fit inside the cancellation window."}
        )
    if not (
        product_type.offer_cancel_immediate
        or product_type.offer_cancel_specific_date
        or product_type.offer_cancel_end_of_period
    ):
        raise ValidationError({"offer_cancel_immediate": "Offer at least one cancellation timing."})
    threshold = product_type.auto_exec_threshold_amount
    if threshold is not None and threshold < 0:
        raise ValidationError(
            {"auto_exec_threshold_amount": "The amount threshold cannot be negative."}
        )


def _check_price_list_record(price_list: PriceList) -> None:
    start, end = price_list.valid_from, price_list.valid_until
    if start and end and end < start:
        raise ValidationError({"valid_until": "The price list ends before it starts."})


RECORD_CHECKS: dict[type[Model], Any] = {
    Product: _check_product_record,
    ProductType: _check_product_type_record,
    PriceList: _check_price_list_record,
}


def _validate(record: Model) -> None:
    """Field and unique checks, plus the record rules the services own.

    The check constraints stay in the database as the last guard, but Django would test
    each one with its own query; the services state those rules in Python instead, with
    messages that name the field.
    """
    record.full_clean(validate_constraints=False)
    unique_errors: list[ValidationError] = []
    for constraint in record._meta.constraints:
        if isinstance(constraint, UniqueConstraint):
            try:
                constraint.validate(type(record), record)
            except ValidationError as error:
                unique_errors.append(error)
    if unique_errors:
        raise ValidationError(unique_errors)
    check = RECORD_CHECKS.get(type(record))
    if check is not None:
        check(record)


def _save_new(actor: Any, record: RecordT) -> RecordT:
    _validate(record)
    with acting_as(actor):
        record.save()
    return record


def _save_changes(actor: Any, record: RecordT, fields: Mapping[str, Any]) -> list[str]:
    changed = _changed(record, fields)
    if not changed:
        return []
    for name in changed:
        setattr(record, name, fields[name])
    _validate(record)
    update_fields = [*changed, "updated_at"] if hasattr(record, "updated_at") else changed
    with acting_as(actor):
        record.save(update_fields=update_fields)
    return changed


def _delete(actor: Any, record: Model) -> None:
    with acting_as(actor):
        record.delete()


def clean_currency(code: Any, *, field: str = "currency") -> str:
    """An active currency of the organization, as its upper-case ISO code."""
    currency = str(code or "").strip().upper()
    try:
        minor_units(currency)
    except ValueError:
        raise ValidationError({field: f"{code!r} is not an ISO 4217 currency code."}) from None
    if currency not in active_currency_codes():
        raise ValidationError({field: f"{currency} is not an active currency of the organization."})
    return currency


def _names(products: Iterable[Product]) -> str:
    return ", ".join(sorted(product.name for product in products))


# ---------------------------------------------------------------------------- categories


def _check_category_parent(category: Category | None, parent: Category | None) -> None:
    node = parent
    while node is not None:
        if category is not None and node.pk == category.pk:
            raise ValidationError(
                {"parent": f"{parent} is {category.name} itself or one of its subcategories."}
            )
        node = node.parent


@transaction.atomic
def category_create(*, actor: Any, **fields: Any) -> Category:
    _check_fields(fields, CATEGORY_FIELDS, "category")
    return _save_new(actor, Category(**fields))


@transaction.atomic
def category_update(*, actor: Any, category: Category, **fields: Any) -> Category:
    _check_fields(fields, CATEGORY_FIELDS, "category")
    if "parent" in fields:
        _check_category_parent(category, fields["parent"])
    _save_changes(actor, category, fields)
    return category


@transaction.atomic
def category_delete(*, actor: Any, category: Category) -> None:
    products = list(category.products.order_by("name")[:5])
    if products:
        raise ValidationError(
            f"The category {category.name} still holds products ({_names(products)}); "
            "move them to another category first."
        )
    children = list(category.children.order_by("name")[:5])
    if children:
        raise ValidationError(
            f"The category {category.name} has subcategories "
            f"({', '.join(child.name for child in children)}); delete or move them first."
        )
    _delete(actor, category)


# ------------------------------------------------------------------------ product groups


@transaction.atomic
def product_group_create(
    *, actor: Any, products: Iterable[Product] = (), **fields: Any
) -> ProductGroup:
    _check_fields(fields, GROUP_FIELDS, "product group")
    group = _save_new(actor, ProductGroup(**fields))
    with acting_as(actor):
        group.products.set(list(products))
    return group


@transaction.atomic
def product_group_update(
    *,
    actor: Any,
    group: ProductGroup,
    products: Iterable[Product] | None = None,
    **fields: Any,
) -> ProductGroup:
    _check_fields(fields, GROUP_FIELDS, "product group")
    _save_changes(actor, group, fields)
    if products is not None:
        with acting_as(actor):
            group.products.set(list(products))
    return group


@transaction.atomic
def product_group_delete(*, actor: Any, group: ProductGroup) -> None:
    _delete(actor, group)


# ------------------------------------------------------------------------- product types


@transaction.atomic
def product_type_create(*, actor: Any, **fields: Any) -> ProductType:
    _check_fields(fields, PRODUCT_TYPE_FIELDS, "product type")
    product_type = _save_new(actor, ProductType(**fields))
    emit_event(
        "product_type.created",
        actor=actor,
        aggregate=product_type,
        payload={"code": product_type.code},
    )
    return product_type


@transaction.atomic
def product_type_update(*, actor: Any, product_type: ProductType, **fields: Any) -> ProductType:
    _check_fields(fields, PRODUCT_TYPE_FIELDS, "product type")
    changed = _save_changes(actor, product_type, fields)
    if changed:
        emit_event(
            "product_type.updated",
            actor=actor,
            aggregate=product_type,
            payload={"code": product_type.code, "fields": changed},
        )
    return product_type


@transaction.atomic
def product_type_delete(*, actor: Any, product_type: ProductType) -> None:
    products = list(product_type.products.order_by("name")[:5])
    if products:
        raise ValidationError(
            f"The product type {product_type.name} is used by {_names(products)}; "
            "it cannot be deleted."
        )
    _delete(actor, product_type)


# ------------------------------------------------------------------------------ products


def _check_primary_products(
    kind: str, primaries: Sequence[Product], product: Product | None
) -> None:
    if kind != ProductKind.ADDON:
        if primaries:
            raise ValidationError(
                {"primary_products": "Only an add-on attaches to primary products."}
            )
        return
    if not primaries:
        raise ValidationError(
            {"primary_products": "An add-on names at least one primary product it attaches to."}
        )
    wrong = [p for p in primaries if p.kind != ProductKind.PRIMARY]
    if wrong:
        raise ValidationError({"primary_products": f"{_names(wrong)} is not a primary product."})
    if product is not None and any(p.pk == product.pk for p in primaries):
        raise ValidationError({"primary_products": "An add-on cannot attach to itself."})


def _check_bundle_publishable(bundle: Product) -> None:
    components = [c.component for c in bundle.components.select_related("component")]
    if len(components) < 2:
        raise ValidationError(
            {
                "publish_to_storefront": f"The bundle {bundle.name} needs at least two "
                "components before it can be published."
            }
        )
    unpublished = [c for c in components if not c.publish_to_storefront]
    if unpublished:
        raise ValidationError(
            {
                "publish_to_storefront": f"The bundle {bundle.name} can be published only when "
                f"all its components are; not published: {_names(unpublished)}."
            }
        )


def _check_unpublish_component(product: Product) -> None:
    bundles = list(
        Product.objects.filter(components__component=product, publish_to_storefront=True)
    )
    if bundles:
        raise ValidationError(
            {
                "publish_to_storefront": f"{product.name} is part of the published bundle "
                f"{_names(bundles)}; unpublish the bundle first."
            }
        )


@transaction.atomic
def product_create(
    *, actor: Any, primary_products: Sequence[Product] = (), **fields: Any
) -> Product:
    _check_fields(fields, PRODUCT_FIELDS, "product")
    fields["custom_data"] = validate_custom_data(
        PRODUCT_ENTITY, fields.get("custom_data"), existing=None
    )
    product = Product(**fields)
    _check_primary_products(product.kind, list(primary_products), None)
    if product.kind == ProductKind.BUNDLE and product.publish_to_storefront:
        raise ValidationError(
            {"publish_to_storefront": "Add the bundle's components before publishing it."}
        )
    _save_new(actor, product)
    if primary_products:
        with acting_as(actor):
            product.primary_products.set(primary_products)
    emit_event(
        "product.created",
        actor=actor,
        aggregate=product,
        payload={"code": product.code, "kind": product.kind},
    )
    return product


@transaction.atomic
def product_update(
    *,
    actor: Any,
    product: Product,
    primary_products: Sequence[Product] | None = None,
    **fields: Any,
) -> Product:
    _check_fields(fields, PRODUCT_FIELDS, "product")
    if "custom_data" in fields:
        fields["custom_data"] = validate_custom_data(
            PRODUCT_ENTITY, fields["custom_data"], existing=dict(product.custom_data or {})
        )
    if "kind" in fields and fields["kind"] != product.kind:
        raise ValidationError(
            {
                "kind": "Whether a product is primary, an add-on or a bundle is set when it is created."
            }
        )
    if primary_products is not None:
        _check_primary_products(product.kind, list(primary_products), product)
    publishing = fields.get("publish_to_storefront")
    if (
        publishing is True
        and not product.publish_to_storefront
        and product.kind == ProductKind.BUNDLE
    ):
        _check_bundle_publishable(product)
    if publishing is False and product.publish_to_storefront:
        _check_unpublish_component(product)
    changed = _save_changes(actor, product, fields)
    if primary_products is not None:
        current = set(product.primary_products.values_list("pk", flat=True))
        if current != {p.pk for p in primary_products}:
            with acting_as(actor):
                product.primary_products.set(primary_products)
            changed.append("primary_products")
    if changed:
        emit_event(
            "product.updated",
            actor=actor,
            aggregate=product,
            payload={"code": product.code, "fields": changed},
        )
    return product


def _set_status(*, actor: Any, product: Product, status: str, event: str) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    if status not in PRODUCT_TRANSITIONS[ProductStatus(product.status)]:
        raise ValidationError(
            {"status": f"{product.name} is already {product.get_status_display().lower()}."}
        )
    product.status = status
    with acting_as(actor):
        product.save(update_fields=["status", "updated_at"])
    emit_event(event, actor=actor, aggregate=product, payload={"code": product.code})
    return product


@transaction.atomic
def product_retire(*, actor: Any, product: Product) -> Product:
    """Retired products cannot be ordered; subscriptions that exist keep running."""
    return _set_status(
        actor=actor, product=product, status=ProductStatus.RETIRED, event="product.retired"
    )


@transaction.atomic
def product_reactivate(*, actor: Any, product: Product) -> Product:
    return _set_status(
        actor=actor, product=product, status=ProductStatus.ACTIVE, event="product.reactivated"
    )


# --------------------------------------------------------------------------- plans, prices


def _normalize_plan(fields: dict[str, Any]) -> dict[str, Any]:
    """Fill the settings that follow from others, and refuse the combinations that clash."""
    charge_type = fields.get("charge_type")
    cycle = fields.get("billing_cycle")
    if (charge_type == ChargeType.ONE_TIME) != (cycle == BillingCycle.ONE_TIME):
        raise ValidationError(
            {"billing_cycle": "A one-time charge uses the one-time cycle, and only it does."}
        )
    if fields.get("billing_date_rule", BillingDateRule.CUSTOMER) == BillingDateRule.CUSTOMER:
        fields["billing_day"] = None
    else:
        day = fields.get("billing_day")
        if day is None or not 1 <= day <= 28:
            raise ValidationError({"billing_day": "A specific billing day is between 1 and 28."})
    if fields.get("trial_enabled"):
        if charge_type == ChargeType.ONE_TIME:
            raise ValidationError({"trial_enabled": "One-time charges have no trial."})
        if not fields.get("trial_days"):
            raise ValidationError({"trial_days": "A trial lasts at least one day."})
    else:
        fields["trial_days"] = 0
        fields["trial_max_quantity"] = None
    return fields


def _check_bundle_units_open(product: Product, what: str) -> None:
    if product.kind == ProductKind.BUNDLE and product.components.exists():
        raise ValidationError(
            f"The bundle {product.name} already has components: its {what} are locked. "
            "Change the prices of its existing plans instead."
        )


@transaction.atomic
def plan_create(
    *,
    actor: Any,
    product: Product,
    prices: Mapping[str, PriceInput] | None = None,
    **fields: Any,
) -> ProductPlan:
    _check_fields(fields, PLAN_FIELDS, "plan")
    plan_fields = _normalize_plan(dict(fields))
    if product.kind == ProductKind.BUNDLE:
        if plan_fields.get("charge_type") == ChargeType.ONE_TIME:
            raise ValidationError({"charge_type": "A bundle is sold by subscription only."})
        _check_bundle_units_open(product, "billing plans")
    if ProductPlan.objects.filter(
        product=product,
        billing_cycle=plan_fields.get("billing_cycle"),
        commitment_months=plan_fields.get("commitment_months", 0),
        charge_type=plan_fields.get("charge_type"),
    ).exists():
        raise ValidationError({"billing_cycle": f"{product.name} already has this billing plan."})
    plan = _save_new(actor, ProductPlan(product=product, **plan_fields))
    for currency, price in (prices or {}).items():
        _price_write(actor=actor, plan=plan, currency=currency, price=price, creating_plan=True)
    emit_event(
        "product.plan_added",
        actor=actor,
        aggregate=product,
        payload={"code": product.code, "plan": plan.pk, "billing_cycle": plan.billing_cycle},
    )
    return plan


@transaction.atomic
def plan_update(
    *,
    actor: Any,
    plan: ProductPlan,
    prices: Mapping[str, PriceInput | None] | None = None,
    **fields: Any,
) -> ProductPlan:
    """Change a plan's settings; ``prices`` sets a currency's price, or removes it with None."""
    _check_fields(fields, PLAN_FIELDS, "plan")
    current = {name: getattr(plan, name) for name in PLAN_FIELDS}
    merged = _normalize_plan({**current, **fields})
    identity = ("billing_cycle", "commitment_months", "charge_type")
    if plan.product.kind == ProductKind.BUNDLE and any(
        merged[name] != current[name] for name in identity
    ):
        _check_bundle_units_open(plan.product, "billing plans")
    changed = _save_changes(actor, plan, {k: v for k, v in merged.items() if k in PLAN_FIELDS})
    if changed:
        emit_event(
            "product.plan_updated",
            actor=actor,
            aggregate=plan.product,
            payload={"code": plan.product.code, "plan": plan.pk, "fields": changed},
        )
    for currency, price in (prices or {}).items():
        if price is not None:
            _price_write(actor=actor, plan=plan, currency=currency, price=price)
        else:
            price_remove(actor=actor, plan=plan, currency=currency)
    return plan


@transaction.atomic
def plan_delete(*, actor: Any, plan: ProductPlan) -> None:
    product = plan.product
    lists = sorted(
        {item.price_list.name for item in plan.price_list_items.select_related("price_list")}
    )
    if lists:
        raise ValidationError(
            f"The {plan} plan of {product.name} is in the price lists {', '.join(lists)}; "
            "remove it from them first."
        )
    _check_bundle_units_open(product, "billing plans")
    _delete(actor, plan)


def _price_write(
    *, actor: Any, plan: ProductPlan, currency: str, price: PriceInput, creating_plan: bool = False
) -> ProductPrice:
    currency = clean_currency(currency)
    if price.price < 0:
        raise ValidationError({"price": "A price cannot be negative."})
    discount = price.volume_discount
    if discount is not None and discount.currency != currency:
        raise ValidationError(
            {
                "volume_discount": f"The volume discount {discount.name} is in "
                f"{discount.currency}, not {currency}."
            }
        )
    existing = ProductPrice.objects.filter(plan=plan, currency=currency).first()
    values = {
        "price": price.price,
        "cost_price": price.cost_price,
        "setup_fee": price.setup_fee,
        "volume_discount": discount,
    }
    if existing is not None:
        changed = _save_changes(actor, existing, values)
        if changed:
            emit_event(
                "product.price_changed",
                actor=actor,
                aggregate=plan.product,
                payload={"code": plan.product.code, "plan": plan.pk, "currency": currency},
            )
        return existing
    if not creating_plan and plan.product.kind == ProductKind.BUNDLE:
        _check_bundle_units_open(plan.product, "currencies")
    return _save_new(actor, ProductPrice(plan=plan, currency=currency, **values))


@transaction.atomic
def price_set(*, actor: Any, plan: ProductPlan, currency: str, price: PriceInput) -> ProductPrice:
    """Create or change the price of ``plan`` in ``currency``."""
    return _price_write(actor=actor, plan=plan, currency=currency, price=price)


@transaction.atomic
def price_remove(*, actor: Any, plan: ProductPlan, currency: str) -> None:
    price = ProductPrice.objects.filter(plan=plan, currency=currency).first()
    if price is None:
        return
    lists = sorted(
        plan.price_list_items.filter(price_list__currency=currency).values_list(
            "price_list__name", flat=True
        )
    )
    if lists:
        raise ValidationError(
            f"The {currency} price of {plan.product.name} ({plan}) is used by the price lists "
            f"{', '.join(lists)}; remove the product from them first."
        )
    if plan.product.kind == ProductKind.BUNDLE:
        _check_bundle_units_open(plan.product, "currencies")
    _delete(actor, price)


# ----------------------------------------------------------------------- volume discounts


def _clean_tiers(tiers: Sequence[tuple[int, int | None, Decimal]]) -> list[VolumeTier]:
    if not tiers:
        raise ValidationError({"tiers": "A volume discount needs at least one tier."})
    ordered = sorted(tiers, key=lambda tier: tier[0])
    expected_from = 1
    result = []
    for position, (from_quantity, to_quantity, unit_price) in enumerate(ordered):
        if from_quantity != expected_from:
            raise ValidationError(
                {
                    "tiers": f"Tiers must follow each other from 1 without gaps or overlaps; "
                    f"expected a tier starting at {expected_from}, got {from_quantity}."
                }
            )
        if to_quantity is None and position != len(ordered) - 1:
            raise ValidationError({"tiers": "Only the last tier may be open-ended."})
        if to_quantity is not None and to_quantity < from_quantity:
            raise ValidationError(
                {"tiers": f"The tier from {from_quantity} ends before it starts ({to_quantity})."}
            )
        if unit_price < 0:
            raise ValidationError({"tiers": "A tier price cannot be negative."})
        result.append(
            VolumeTier(from_quantity=from_quantity, to_quantity=to_quantity, unit_price=unit_price)
        )
        expected_from = (to_quantity or 0) + 1
    return result


def _replace_tiers(actor: Any, discount: VolumeDiscount, tiers: list[VolumeTier]) -> None:
    with acting_as(actor):
        discount.tiers.all().delete()
        for tier in tiers:
            tier.discount = discount
            tier.save()


@transaction.atomic
def volume_discount_create(
    *,
    actor: Any,
    name: str,
    mode: str,
    currency: str,
    tiers: Sequence[tuple[int, int | None, Decimal]],
    description: str = "",
) -> VolumeDiscount:
    clean = _clean_tiers(tiers)
    discount = _save_new(
        actor,
        VolumeDiscount(
            name=name, mode=mode, currency=clean_currency(currency), description=description
        ),
    )
    _replace_tiers(actor, discount, clean)
    return discount


@transaction.atomic
def volume_discount_update(
    *,
    actor: Any,
    discount: VolumeDiscount,
    tiers: Sequence[tuple[int, int | None, Decimal]] | None = None,
    **fields: Any,
) -> VolumeDiscount:
    _check_fields(fields, ("name", "mode", "currency", "description"), "volume discount")
    if "currency" in fields:
        fields["currency"] = clean_currency(fields["currency"])
        if fields["currency"] != discount.currency and discount.prices.exists():
            raise ValidationError(
                {"currency": f"{discount.name} is used by prices in {discount.currency}."}
            )
    _save_changes(actor, discount, fields)
    if tiers is not None:
        _replace_tiers(actor, discount, _clean_tiers(tiers))
    return discount


@transaction.atomic
def volume_discount_delete(*, actor: Any, discount: VolumeDiscount) -> None:
    products = list(Product.objects.filter(plans__prices__volume_discount=discount).distinct()[:5])
    if products:
        raise ValidationError(f"The volume discount {discount.name} is used by {_names(products)}.")
    _delete(actor, discount)


# --------------------------------------------------------------------------- price lists


def _take_default(actor: Any, *, currency: str, taker: PriceList) -> None:
    """Clear the currency's default flag so ``taker`` can take it; a partial unique index backs it."""
    previous = PriceList.objects.select_for_update().filter(currency=currency, is_default=True)
    if taker.pk is not None:
        previous = previous.exclude(pk=taker.pk)
    for other in previous:
        other.is_default = False
        with acting_as(actor):
            other.save(update_fields=["is_default", "updated_at"])


@transaction.atomic
def price_list_create(*, actor: Any, owner: Any = None, **fields: Any) -> PriceList:
    _check_fields(fields, PRICE_LIST_FIELDS, "price list")
    fields["currency"] = clean_currency(fields.get("currency"))
    fields["custom_data"] = validate_custom_data(
        PRICE_LIST_ENTITY, fields.get("custom_data"), existing=None
    )
    price_list = PriceList(owner=owner or actor, **fields)
    if price_list.is_default:
        _take_default(actor, currency=price_list.currency, taker=price_list)
    _save_new(actor, price_list)
    emit_event(
        "price_list.created",
        actor=actor,
        aggregate=price_list,
        payload={"name": price_list.name, "currency": price_list.currency},
    )
    return price_list


@transaction.atomic
def price_list_update(*, actor: Any, price_list: PriceList, **fields: Any) -> PriceList:
    _check_fields(fields, PRICE_LIST_FIELDS, "price list")
    if "custom_data" in fields:
        fields["custom_data"] = validate_custom_data(
            PRICE_LIST_ENTITY, fields["custom_data"], existing=dict(price_list.custom_data or {})
        )
    if "currency" in fields:
        fields["currency"] = clean_currency(fields["currency"])
        if fields["currency"] != price_list.currency and price_list.items.exists():
            raise ValidationError(
                {
                    "currency": f"{price_list.name} already has products priced in {price_list.currency}."
                }
            )
    if fields.get("is_default"):
        currency = fields.get("currency", price_list.currency)
        _take_default(actor, currency=currency, taker=price_list)
    changed = _save_changes(actor, price_list, fields)
    if changed:
        emit_event(
            "price_list.updated",
            actor=actor,
            aggregate=price_list,
            payload={"name": price_list.name, "fields": changed},
        )
    return price_list


@transaction.atomic
def price_list_delete(*, actor: Any, price_list: PriceList) -> None:
    emit_event(
        "price_list.deleted", actor=actor, aggregate=price_list, payload={"name": price_list.name}
    )
    _delete(actor, price_list)


def _check_item_pricing(
    *, method: str, fixed_price: Decimal | None, percent: Decimal | None
) -> None:
    if method == PriceMethod.FIXED:
        if fixed_price is None or fixed_price < 0:
            raise ValidationError({"fixed_price": "Enter the fixed price (zero or more)."})
        if percent is not None:
            raise ValidationError({"percent": "A fixed-price item has no markup percent."})
    elif method == PriceMethod.PERCENT:
        if percent is None:
            raise ValidationError({"percent": "Enter the markup, or a negative discount, in %."})
        if percent <= -100:
            raise ValidationError({"percent": "A discount must stay below 100 %."})
        if fixed_price is not None:
            raise ValidationError({"fixed_price": "A markup item has no fixed price."})
    else:
        raise ValidationError({"method": f"Unknown pricing method {method!r}."})


@transaction.atomic
def price_list_item_set(
    *,
    actor: Any,
    price_list: PriceList,
    plan: ProductPlan,
    method: str,
    fixed_price: Decimal | None = None,
    percent: Decimal | None = None,
    cost_price: Decimal | None = None,
    is_visible: bool = True,
) -> PriceListItem:
    """Add ``plan`` to the list, or change its item; only plans priced in the list currency."""
    _check_item_pricing(method=method, fixed_price=fixed_price, percent=percent)
    if not ProductPrice.objects.filter(plan=plan, currency=price_list.currency).exists():
        raise ValidationError(
            {
                "plan": f"{plan.product.name} has no {price_list.currency} price for the {plan} "
                f"plan, so it cannot be added to {price_list.name}."
            }
        )
    values = {
        "method": method,
        "fixed_price": fixed_price,
        "percent": percent,
        "cost_price": cost_price,
        "is_visible": is_visible,
    }
    item = PriceListItem.objects.filter(price_list=price_list, plan=plan).first()
    if item is None:
        item = _save_new(actor, PriceListItem(price_list=price_list, plan=plan, **values))
        changed = ["plan"]
    else:
        changed = _save_changes(actor, item, values)
    if changed:
        emit_event(
            "price_list.item_changed",
            actor=actor,
            aggregate=price_list,
            payload={"plan": plan.pk, "product": plan.product.code},
        )
    return item


@transaction.atomic
def price_list_add_product(
    *,
    actor: Any,
    price_list: PriceList,
    product: Product,
    method: str,
    fixed_price: Decimal | None = None,
    percent: Decimal | None = None,
    is_visible: bool = True,
) -> list[PriceListItem]:
    """Add every plan of ``product`` that has a price in the list's currency."""
    plans = list(product.plans.filter(prices__currency=price_list.currency))
    if not plans:
        raise ValidationError(
            {
                "product": f"{product.name} has no {price_list.currency} price, so it cannot be "
                f"added to {price_list.name}."
            }
        )
    return [
        price_list_item_set(
            actor=actor,
            price_list=price_list,
            plan=plan,
            method=method,
            fixed_price=fixed_price,
            percent=percent,
            is_visible=is_visible,
        )
        for plan in plans
    ]


@transaction.atomic
def price_list_item_remove(*, actor: Any, item: PriceListItem) -> None:
    emit_event(
        "price_list.item_changed",
        actor=actor,
        aggregate=item.price_list,
        payload={"plan": item.plan_id, "removed": True},
    )
    _delete(actor, item)


@transaction.atomic
def price_list_copy(
    *, actor: Any, price_list: PriceList, name: str, owner: Any = None
) -> PriceList:
    """A new, non-default list with the same settings and items."""
    copy = price_list_create(
        actor=actor,
        owner=owner,
        name=name,
        currency=price_list.currency,
        valid_from=price_list.valid_from,
        valid_until=price_list.valid_until,
        is_active=price_list.is_active,
        is_default=False,
        description=price_list.description,
        permission_rule=price_list.permission_rule,
        custom_data={
            code: value
            for code, value in (price_list.custom_data or {}).items()
            if code in {field.code for field in custom_fields_for(PRICE_LIST_ENTITY)}
        },
    )
    for item in price_list.items.all():
        _save_new(
            actor,
            PriceListItem(
                price_list=copy,
                plan_id=item.plan_id,
                method=item.method,
                fixed_price=item.fixed_price,
                percent=item.percent,
                cost_price=item.cost_price,
                is_visible=item.is_visible,
            ),
        )
    emit_event(
        "price_list.copied",
        actor=actor,
        aggregate=copy,
        payload={"source": price_list.pk, "name": copy.name},
    )
    return copy


# ---------------------------------------------------------------------------- promotions


def _check_promotion(fields: dict[str, Any], products: Sequence[Product]) -> dict[str, Any]:
    kind = fields.get("kind")
    if kind == PromotionKind.LIMITED_RECURRING:
        if not fields.get("cycles"):
            raise ValidationError(
                {"cycles": "A limited recurring discount lasts at least 1 cycle."}
            )
    else:
        fields["cycles"] = None
    if fields.get("discount_type") == DiscountType.PERCENTAGE:
        percent = fields.get("percent")
        if percent is None or not 0 < percent <= 100:
            raise ValidationError({"percent": "A percentage discount is above 0 and at most 100."})
        fields["amount"] = None
        fields["currency"] = ""
    elif fields.get("discount_type") == DiscountType.MONETARY:
        amount = fields.get("amount")
        if amount is None or amount <= 0:
            raise ValidationError({"amount": "A monetary discount takes an amount above 0."})
        fields["currency"] = clean_currency(fields.get("currency"))
        fields["percent"] = None
    start, end = fields.get("start_date"), fields.get("end_date")
    if start and end and end < start:
        raise ValidationError({"end_date": "The promotion ends before it starts."})
    if not products:
        raise ValidationError({"products": "A promotion applies to at least one product."})
    one_off = [
        product
        for product in products
        if not product.plans.exclude(charge_type=ChargeType.ONE_TIME).exists()
    ]
    if one_off:
        raise ValidationError(
            {"products": f"Promotions apply to recurring products only: {_names(one_off)}."}
        )
    return fields


@transaction.atomic
def promotion_create(
    *,
    actor: Any,
    products: Sequence[Product],
    prerequisite_products: Sequence[Product] = (),
    **fields: Any,
) -> Promotion:
    _check_fields(fields, PROMOTION_FIELDS, "promotion")
    fields = _check_promotion(dict(fields), products)
    promotion = _save_new(actor, Promotion(**fields))
    with acting_as(actor):
        promotion.products.set(products)
        promotion.prerequisite_products.set(prerequisite_products)
    emit_event(
        "promotion.created", actor=actor, aggregate=promotion, payload={"name": promotion.name}
    )
    return promotion


@transaction.atomic
def promotion_update(
    *,
    actor: Any,
    promotion: Promotion,
    products: Sequence[Product] | None = None,
    prerequisite_products: Sequence[Product] | None = None,
    **fields: Any,
) -> Promotion:
    _check_fields(fields, PROMOTION_FIELDS, "promotion")
    current = {name: getattr(promotion, name) for name in PROMOTION_FIELDS}
    target_products = list(products) if products is not None else list(promotion.products.all())
    merged = _check_promotion({**current, **fields}, target_products)
    changed = _save_changes(actor, promotion, merged)
    with acting_as(actor):
        if products is not None:
            promotion.products.set(products)
        if prerequisite_products is not None:
            promotion.prerequisite_products.set(prerequisite_products)
    if changed or products is not None or prerequisite_products is not None:
        emit_event(
            "promotion.updated",
            actor=actor,
            aggregate=promotion,
            payload={"name": promotion.name, "fields": changed},
        )
    return promotion


@transaction.atomic
def promotion_delete(*, actor: Any, promotion: Promotion) -> None:
    _delete(actor, promotion)


# ----------------------------------------------------------------------------- relations


def _exclusion_pair(first: Product, second: Product) -> tuple[Product, Product]:
    return (first, second) if first.pk < second.pk else (second, first)


def _are_exclusive(first: Product, second: Product) -> bool:
    low, high = _exclusion_pair(first, second)
    return ProductExclusion.objects.filter(product_a=low, product_b=high).exists()


@transaction.atomic
def requirement_add(
    *, actor: Any, product: Product, required_product: Product
) -> ProductRequirement:
    if product.pk == required_product.pk:
        raise ValidationError({"required_product": f"{product.name} cannot require itself."})
    if _are_exclusive(product, required_product):
        raise ValidationError(
            {
                "required_product": f"{product.name} and {required_product.name} are mutually "
                "exclusive, so one cannot require the other."
            }
        )
    existing = ProductRequirement.objects.filter(
        product=product, required_product=required_product
    ).first()
    if existing is not None:
        return existing
    return _save_new(actor, ProductRequirement(product=product, required_product=required_product))


@transaction.atomic
def requirement_remove(*, actor: Any, requirement: ProductRequirement) -> None:
    _delete(actor, requirement)


@transaction.atomic
def exclusion_add(*, actor: Any, product: Product, other: Product) -> ProductExclusion:
    if product.pk == other.pk:
        raise ValidationError({"other": f"{product.name} cannot exclude itself."})
    if ProductRequirement.objects.filter(
        product__in=[product, other], required_product__in=[product, other]
    ).exists():
        raise ValidationError(
            {
                "other": f"One of {product.name} and {other.name} requires the other, so they "
                "cannot be mutually exclusive."
            }
        )
    low, high = _exclusion_pair(product, other)
    existing = ProductExclusion.objects.filter(product_a=low, product_b=high).first()
    if existing is not None:
        return existing
    return _save_new(actor, ProductExclusion(product_a=low, product_b=high))


@transaction.atomic
def exclusion_remove(*, actor: Any, exclusion: ProductExclusion) -> None:
    _delete(actor, exclusion)


def _upgrades_reach(start: Product, goal: Product) -> bool:
    """Whether upgrades lead from ``start`` to ``goal`` (walks the graph breadth first)."""
    seen = {start.pk}
    frontier = [start.pk]
    while frontier:
        targets = set(
            ProductUpgrade.objects.filter(
                source_id__in=frontier, direction=UpgradeDirection.UPGRADE
            ).values_list("target_id", flat=True)
        )
        if goal.pk in targets:
            return True
        frontier = list(targets - seen)
        seen |= targets
    return False


@transaction.atomic
def upgrade_add(*, actor: Any, source: Product, target: Product) -> ProductUpgrade:
    """Allow upgrading ``source`` to ``target``; the reverse downgrade comes with it."""
    if source.pk == target.pk:
        raise ValidationError({"target": f"{source.name} cannot be upgraded to itself."})
    if source.product_type_id is None or source.product_type_id != target.product_type_id:
        raise ValidationError(
            {
                "target": f"{source.name} and {target.name} are not of the same product type; "
                "upgrade paths stay within one type."
            }
        )
    if ProductUpgrade.objects.filter(source=source, target=target).exists():
        raise ValidationError({"target": f"{source.name} already changes to {target.name}."})
    if ProductUpgrade.objects.filter(source=target, target=source).exists():
        raise ValidationError(
            {"target": f"{target.name} already upgrades to {source.name}; paths go one way."}
        )
    if _upgrades_reach(target, source):
        raise ValidationError(
            {"target": f"{target.name} already leads up to {source.name}; this would be a loop."}
        )
    upgrade = _save_new(
        actor, ProductUpgrade(source=source, target=target, direction=UpgradeDirection.UPGRADE)
    )
    _save_new(
        actor, ProductUpgrade(source=target, target=source, direction=UpgradeDirection.DOWNGRADE)
    )
    return upgrade


@transaction.atomic
def upgrade_remove(*, actor: Any, source: Product, target: Product) -> None:
    """Remove an upgrade path together with its downgrade (either row may be given)."""
    rows = list(
        ProductUpgrade.objects.filter(source=source, target=target)
        | ProductUpgrade.objects.filter(source=target, target=source)
    )
    for row in rows:
        _delete(actor, row)


# ------------------------------------------------------------------------------- bundles


def _bundle_units(bundle: Product) -> set[tuple[str, str]]:
    return set(
        ProductPrice.objects.filter(plan__product=bundle).values_list(
            "plan__billing_cycle", "currency"
        )
    )


@transaction.atomic
def bundle_component_add(
    *, actor: Any, bundle: Product, component: Product, quantity: int = 1
) -> BundleComponent:
    if bundle.kind != ProductKind.BUNDLE:
        raise ValidationError({"bundle": f"{bundle.name} is not a bundle."})
    if component.kind == ProductKind.BUNDLE:
        raise ValidationError({"component": f"{component.name} is a bundle; bundles do not nest."})
    if component.pk == bundle.pk:
        raise ValidationError({"component": "A bundle cannot contain itself."})
    if BundleComponent.objects.filter(bundle=bundle, component=component).exists():
        raise ValidationError({"component": f"{component.name} is already in {bundle.name}."})
    if quantity < 1:
        raise ValidationError({"quantity": "A component quantity is at least 1."})
    units = _bundle_units(bundle)
    if not units:
        raise ValidationError(
            {
                "bundle": f"Give {bundle.name} its billing plans and currencies before its components."
            }
        )
    component_units = set(
        ProductPrice.objects.filter(plan__product=component)
        .exclude(plan__charge_type=ChargeType.ONE_TIME)
        .values_list("plan__billing_cycle", "currency")
    )
    if not component_units:
        raise ValidationError(
            {"component": f"{component.name} is not a recurring product; bundles hold only those."}
        )
    missing = sorted(units - component_units)
    if missing:
        described = ", ".join(
            f"{BillingCycle(cycle).label} in {currency}" for cycle, currency in missing
        )
        raise ValidationError(
            {
                "component": f"{component.name} has no recurring price for {described}, which {bundle.name} sells."
            }
        )
    position = bundle.components.count()
    component_row = _save_new(
        actor,
        BundleComponent(bundle=bundle, component=component, quantity=quantity, position=position),
    )
    emit_event(
        "product.updated",
        actor=actor,
        aggregate=bundle,
        payload={"code": bundle.code, "fields": ["components"]},
    )
    return component_row


@transaction.atomic
def bundle_component_remove(*, actor: Any, component: BundleComponent) -> None:
    bundle = component.bundle
    if bundle.publish_to_storefront and bundle.components.count() <= 2:
        raise ValidationError(
            f"The published bundle {bundle.name} needs at least two components; unpublish it first."
        )
    _delete(actor, component)
    emit_event(
        "product.updated",
        actor=actor,
        aggregate=bundle,
        payload={"code": bundle.code, "fields": ["components"]},
    )
