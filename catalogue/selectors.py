"""Reads of the catalogue that views, the API, pricing and higher apps share."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from bss.setup.currencies.selectors import active_currency_choices
from catalogue.models import (
    PriceList,
    PriceListItem,
    Product,
    ProductPlan,
    ProductPrice,
)


def active_currency_codes() -> list[str]:
    """ISO codes of the organization's active currencies, in code order."""
    return [code for code, _label in active_currency_choices()]


def product_list() -> QuerySet[Product]:
    return Product.objects.select_related("product_type", "category").annotate(
        plan_count=Count("plans", distinct=True)
    )


def product_with_pricing(queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products with their plans and prices loaded in three queries, whatever their count."""
    queryset = queryset if queryset is not None else Product.objects.all()
    return queryset.select_related("product_type", "category").prefetch_related(
        Prefetch(
            "plans",
            queryset=ProductPlan.objects.prefetch_related(
                Prefetch(
                    "prices",
                    queryset=ProductPrice.objects.select_related("volume_discount").order_by(
                        "currency"
                    ),
                )
            ),
        )
    )


def price_list_memberships(product: Product) -> QuerySet[PriceListItem]:
    return (
        PriceListItem.objects.filter(plan__product=product)
        .select_related("price_list", "plan")
        .order_by("price_list__name", "plan__position", "plan_id")
    )


def price_list_items(price_list: PriceList) -> QuerySet[PriceListItem]:
    return PriceListItem.objects.filter(price_list=price_list).select_related(
        "plan", "plan__product"
    )


def default_price_list(currency: str) -> PriceList | None:
    return PriceList.objects.filter(currency=currency, is_default=True).first()


def plans_priced_in(currency: str) -> QuerySet[ProductPlan]:
    return (
        ProductPlan.objects.filter(prices__currency=currency)
        .select_related("product")
        .order_by("product__name", "position", "id")
    )


def list_prices_by_plan(plan_ids: list[int], currency: str) -> dict[int, ProductPrice]:
    return {
        price.plan_id: price
        for price in ProductPrice.objects.filter(plan_id__in=plan_ids, currency=currency)
    }
