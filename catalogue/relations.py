"""The one check of what may be bought together: orders, offers and the Storefront call it.

``validate_product_selection`` answers with a list of messages, each naming the products
involved; an empty list means the selection is fine. It reads the catalogue only: the
caller says what the account already owns (active subscriptions) and which plan changes
it is asking for.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal

from django.db.models import Q

from catalogue.models import (
    Product,
    ProductExclusion,
    ProductKind,
    ProductRequirement,
    ProductStatus,
    ProductUpgrade,
    UpgradeDirection,
)


def _name_list(products: Sequence[Product]) -> str:
    names = sorted(product.name for product in products)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _quantity_messages(product: Product, quantity: Decimal | int) -> list[str]:
    if quantity < product.min_quantity:
        return [f"{product.name} is sold in quantities of at least {product.min_quantity}."]
    if product.max_quantity is not None and quantity > product.max_quantity:
        return [f"{product.name} is sold in quantities of at most {product.max_quantity}."]
    return []


def _plan_change_messages(
    changes: Sequence[tuple[Product, Product]], owned: Collection[int]
) -> list[str]:
    if not changes:
        return []
    allowed = {
        (row.source_id, row.target_id): row.direction
        for row in ProductUpgrade.objects.filter(
            source_id__in=[source.pk for source, _target in changes]
        )
    }
    messages = []
    for source, target in changes:
        if source.pk not in owned:
            messages.append(f"The account has no {source.name} to change to {target.name}.")
        elif (source.pk, target.pk) not in allowed:
            messages.append(
                f"{source.name} cannot be upgraded or downgraded to {target.name}: "
                "there is no such path."
            )
    return messages


def validate_product_selection(
    *,
    products_in_order: Sequence[Product],
    owned_product_ids: Collection[int] = frozenset(),
    quantities: Mapping[int, Decimal | int] | None = None,
    plan_changes: Sequence[tuple[Product, Product]] = (),
) -> list[str]:
    """Messages for everything wrong with buying ``products_in_order``.

    ``plan_changes`` are (owned product, new product) pairs of upgrades and downgrades;
    their targets count as ordered and their sources as given up. ``quantities`` maps a
    product id to the quantity ordered, checked against the product's minimum and maximum.
    """
    messages: list[str] = []
    ordered = {product.pk: product for product in products_in_order}
    for _source, target in plan_changes:
        ordered.setdefault(target.pk, target)
    given_up = {source.pk for source, _target in plan_changes}
    owned = set(owned_product_ids) - given_up
    available = owned | set(ordered)

    messages += _plan_change_messages(plan_changes, set(owned_product_ids))

    for product in ordered.values():
        if product.status == ProductStatus.RETIRED:
            messages.append(f"{product.name} is retired and can no longer be ordered.")
        if quantities and product.pk in quantities:
            messages += _quantity_messages(product, quantities[product.pk])

    addons = [product for product in ordered.values() if product.kind == ProductKind.ADDON]
    if addons:
        parents: dict[int, list[Product]] = {}
        for addon in Product.objects.filter(pk__in=[a.pk for a in addons]).prefetch_related(
            "primary_products"
        ):
            parents[addon.pk] = list(addon.primary_products.all())
        for addon in addons:
            primaries = parents.get(addon.pk, [])
            if not any(primary.pk in available for primary in primaries):
                messages.append(
                    f"The add-on {addon.name} needs {_name_list(primaries)} "
                    "on the account or in the same order."
                )

    bundles = [product for product in ordered.values() if product.kind == ProductKind.BUNDLE]
    for bundle in bundles:
        if bundle.components.count() < 2:
            messages.append(
                f"The bundle {bundle.name} is not complete: it has fewer than two components."
            )

    requirements = ProductRequirement.objects.filter(product_id__in=list(ordered)).select_related(
        "product", "required_product"
    )
    for requirement in requirements.order_by("product__name", "required_product__name"):
        if requirement.required_product_id not in available:
            messages.append(
                f"{requirement.product.name} requires {requirement.required_product.name}: "
                "it must be on the account or in the same order."
            )

    exclusions = ProductExclusion.objects.filter(
        Q(product_a_id__in=list(ordered)) | Q(product_b_id__in=list(ordered))
    ).select_related("product_a", "product_b")
    for exclusion in exclusions.order_by("product_a__name", "product_b__name"):
        first, second = exclusion.product_a, exclusion.product_b
        if first.pk in ordered and second.pk in ordered:
            messages.append(
                f"{first.name} and {second.name} are mutually exclusive: "
                "they cannot be in the same order."
            )
            continue
        for new, other in ((first, second), (second, first)):
            if new.pk in ordered and other.pk in owned:
                messages.append(
                    f"{new.name} cannot be ordered: the account already has {other.name}, "
                    "and the two are mutually exclusive."
                )
    return messages


def upgrade_targets(product: Product) -> list[Product]:
    return [
        row.target
        for row in ProductUpgrade.objects.filter(
            source=product, direction=UpgradeDirection.UPGRADE
        ).select_related("target")
    ]


def downgrade_targets(product: Product) -> list[Product]:
    return [
        row.target
        for row in ProductUpgrade.objects.filter(
            source=product, direction=UpgradeDirection.DOWNGRADE
        ).select_related("target")
    ]
