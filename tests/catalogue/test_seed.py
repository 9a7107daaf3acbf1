"""The demo catalogue: realistic, priced in three currencies, and idempotent."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalogue import seed
from catalogue.models import (
    PriceList,
    PriceListItem,
    Product,
    ProductPlan,
    ProductPrice,
    ProductUpgrade,
    Promotion,
)
from catalogue.pricing import quote_price
from catalogue.relations import validate_product_selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(admin_user: Any) -> None:
    seed.seed(io.StringIO())


def counts() -> tuple[int, ...]:
    return (
        Product.objects.count(),
        ProductPlan.objects.count(),
        ProductPrice.objects.count(),
        PriceList.objects.count(),
        PriceListItem.objects.count(),
        ProductUpgrade.objects.count(),
        Promotion.objects.count(),
    )


def test_seeding_twice_changes_nothing(seeded: None) -> None:
    before = counts()

    seed.seed(io.StringIO())

    assert counts() == before
    assert before[0] == 9


def test_the_demo_catalogue_is_complete(seeded: None) -> None:
    assert set(ProductPrice.objects.values_list("currency", flat=True)) == {"EUR", "USD", "GBP"}
    assert sorted(PriceList.objects.filter(is_default=True).values_list("currency", flat=True)) == [
        "EUR",
        "GBP",
        "USD",
    ]
    assert list(
        ProductUpgrade.objects.filter(direction="upgrade")
        .order_by("source__code")
        .values_list("source__code", "target__code")
    ) == [("SUITE-BASIC", "SUITE-STD"), ("SUITE-STD", "SUITE-PREM")]
    bundle = Product.objects.get(code="OFFICE-SECURE")
    assert bundle.publish_to_storefront
    assert list(bundle.components.values_list("component__code", flat=True)) == [
        "SUITE-STD",
        "SEC-ADV",
    ]
    assert ProductPlan.objects.get(product__code="BACKUP-GB").charge_type == "recurring_ppu"
    assert ProductPlan.objects.get(product__code="ONBOARDING").billing_cycle == "one_time"


def test_the_reseller_list_prices_20_percent_below_list(seeded: None) -> None:
    product = Product.objects.get(code="SUITE-STD")
    monthly = product.plans.get(billing_cycle="monthly")
    resellers = PriceList.objects.get(name="Resellers EUR (-20 %)")

    quote = quote_price(
        product=product,
        plan=monthly,
        currency="EUR",
        quantity=10,
        on_date=timezone.localdate(),
        price_lists=[resellers],
    )

    assert (quote.unit_price, quote.total) == (Decimal("10.0000"), Decimal("100.00"))


def test_the_running_promotion_and_volume_tiers(seeded: None) -> None:
    standard = Product.objects.get(code="SUITE-STD")
    mailbox = Product.objects.get(code="MAILBOX")
    today = timezone.localdate()

    promoted = quote_price(
        product=standard,
        plan=standard.plans.get(billing_cycle="monthly"),
        currency="EUR",
        quantity=4,
        on_date=today,
        is_new_customer=True,
    )
    tiered = quote_price(
        product=mailbox,
        plan=mailbox.plans.get(),
        currency="EUR",
        quantity=25,
        on_date=today + timedelta(days=1),
    )

    assert (promoted.subtotal, promoted.total) == (Decimal("50.00"), Decimal("40.00"))
    # 20 x 4.00 + 5 x 3.40
    assert tiered.total == Decimal("97.00")


def test_the_editions_exclude_each_other(seeded: None) -> None:
    basic = Product.objects.get(code="SUITE-BASIC")
    premium = Product.objects.get(code="SUITE-PREM")

    assert validate_product_selection(products_in_order=[basic, premium]) == [
        "Cloudwave Office Basic and Cloudwave Office Premium are mutually exclusive: "
        "they cannot be in the same order."
    ]
