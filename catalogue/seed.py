"""A demo cloud catalogue: a productivity suite in three editions with add-ons, backup on
pay-per-use, a one-off onboarding service, a bundle, volume tiers and a running promotion,
priced in EUR, USD and GBP, with a default price list per currency and reseller lists.

Idempotent: records are found by code or name, and only what is missing is created.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bss.setup.models import User
from catalogue import services
from catalogue.models import (
    BillingCycle,
    Category,
    ChargeType,
    PriceList,
    Product,
    ProductKind,
    ProductType,
    Promotion,
    VolumeDiscount,
)
from catalogue.selectors import active_currency_codes
from catalogue.services import PriceInput

ORDER = 20

CURRENCIES = ("EUR", "USD", "GBP")
D = Decimal

CATEGORIES = [
    ("Productivity", 10),
    ("Security", 20),
    ("Backup & storage", 30),
    ("Professional services", 40),
    ("Bundles", 50),
]
PRODUCT_TYPES = [
    {
        "code": "SUITE",
        "name": "Productivity suite",
        "tax_code": "SW050000",
        "auto_exec_subscription_cancel": True,
        "auto_exec_addon_cancel": True,
        "auto_exec_threshold_amount": D("500"),
        "auto_exec_downgrade": True,
        "cancellation_window_hours": 168,
        "full_refund_hours": 24,
        "allow_partial_cancellation": True,
    },
    {
        "code": "BACKUP",
        "name": "Cloud backup",
        "tax_code": "SW054000",
        "auto_exec_subscription_cancel": True,
    },
    {
        "code": "SERVICES",
        "name": "Professional services",
        "tax_code": "SV000000",
        "non_auto_new_orders": True,
        "offer_cancel_specific_date": False,
        "offer_cancel_end_of_period": False,
    },
    {"code": "MAIL", "name": "Business mail"},
]

MONTHLY = (BillingCycle.MONTHLY, 0, ChargeType.RECURRING_PREPAID)
ANNUAL = (BillingCycle.ANNUAL, 12, ChargeType.RECURRING_PREPAID)
USAGE = (BillingCycle.MONTHLY, 0, ChargeType.RECURRING_PAY_PER_USE)
ONE_OFF = (BillingCycle.ONE_TIME, 0, ChargeType.ONE_TIME)

# code, name, kind, type, category, unit, {plan: (EUR, USD, GBP)}, extra product fields
PRODUCTS: list[tuple[str, str, str, str | None, str, str, dict[Any, tuple[str, ...]], dict]] = [
    (
        "SUITE-BASIC",
        "Cloudwave Office Basic",
        ProductKind.PRIMARY,
        "SUITE",
        "Productivity",
        "user",
        {MONTHLY: ("6.00", "6.50", "5.20"), ANNUAL: ("66.00", "72.00", "57.00")},
        {"max_quantity": 300},
    ),
    (
        "SUITE-STD",
        "Cloudwave Office Standard",
        ProductKind.PRIMARY,
        "SUITE",
        "Productivity",
        "user",
        {MONTHLY: ("12.50", "13.50", "10.80"), ANNUAL: ("138.00", "150.00", "119.00")},
        {"max_quantity": 300},
    ),
    (
        "SUITE-PREM",
        "Cloudwave Office Premium",
        ProductKind.PRIMARY,
        "SUITE",
        "Productivity",
        "user",
        {MONTHLY: ("22.00", "24.00", "19.00"), ANNUAL: ("242.00", "264.00", "209.00")},
        {"max_quantity": 300},
    ),
    (
        "STORAGE-100",
        "Extra storage 100 GB",
        ProductKind.ADDON,
        "SUITE",
        "Backup & storage",
        "pack",
        {MONTHLY: ("2.00", "2.20", "1.70")},
        {},
    ),
    (
        "SEC-ADV",
        "Advanced Security",
        ProductKind.ADDON,
        "SUITE",
        "Security",
        "user",
        {MONTHLY: ("3.50", "3.80", "3.00"), ANNUAL: ("38.50", "41.80", "33.00")},
        {},
    ),
    (
        "BACKUP-GB",
        "Cloud Backup (per GB)",
        ProductKind.PRIMARY,
        "BACKUP",
        "Backup & storage",
        "GB",
        {USAGE: ("0.0500", "0.0550", "0.0450")},
        {"min_quantity": 1},
    ),
    (
        "ONBOARDING",
        "Onboarding and setup service",
        ProductKind.PRIMARY,
        "SERVICES",
        "Professional services",
        "project",
        {ONE_OFF: ("450.00", "490.00", "390.00")},
        {"max_quantity": 1},
    ),
    (
        "MAILBOX",
        "Business Mailbox",
        ProductKind.PRIMARY,
        "MAIL",
        "Productivity",
        "mailbox",
        {MONTHLY: ("4.00", "4.40", "3.50")},
        {},
    ),
    (
        "OFFICE-SECURE",
        "Office Secure Pack",
        ProductKind.BUNDLE,
        None,
        "Bundles",
        "user",
        {MONTHLY: ("14.90", "16.00", "12.90")},
        {},
    ),
]
ADDON_PARENTS = {
    "STORAGE-100": ["SUITE-BASIC", "SUITE-STD", "SUITE-PREM"],
    "SEC-ADV": ["SUITE-STD", "SUITE-PREM"],
}
BUNDLE_COMPONENTS = {"OFFICE-SECURE": ["SUITE-STD", "SEC-ADV"]}
PUBLISHED = [
    "SUITE-BASIC",
    "SUITE-STD",
    "SUITE-PREM",
    "STORAGE-100",
    "SEC-ADV",
    "BACKUP-GB",
    "MAILBOX",
]
MAILBOX_TIERS = {
    "EUR": [(1, 20, D("4.00")), (21, 100, D("3.40")), (101, None, D("2.90"))],
    "USD": [(1, 20, D("4.40")), (21, 100, D("3.75")), (101, None, D("3.20"))],
}


def _currencies(stdout: Any) -> list[str]:
    active = set(active_currency_codes())
    if not set(CURRENCIES) <= active:
        from bss.setup.currencies.seed import seed_currencies

        seed_currencies(stdout)
        active = set(active_currency_codes())
    return [code for code in CURRENCIES if code in active]


def _owner() -> User | None:
    return (
        User.objects.filter(email="admin@example.com").first()
        or User.objects.filter(is_superuser=True).order_by("pk").first()
    )


def _categories() -> dict[str, Category]:
    result = {}
    for name, position in CATEGORIES:
        result[name] = Category.objects.filter(name=name, parent=None).first() or (
            services.category_create(
                actor=None, name=name, position=position, publish_to_storefront=True
            )
        )
    return result


def _product_types() -> dict[str, ProductType]:
    result = {}
    for fields in PRODUCT_TYPES:
        result[fields["code"]] = ProductType.objects.filter(
            code=fields["code"]
        ).first() or services.product_type_create(actor=None, **fields)
    return result


def _volume_discounts(currencies: list[str]) -> dict[str, VolumeDiscount]:
    result = {}
    for currency, tiers in MAILBOX_TIERS.items():
        if currency not in currencies:
            continue
        name = f"Mailbox seats {currency}"
        result[currency] = VolumeDiscount.objects.filter(
            name=name
        ).first() or services.volume_discount_create(
            actor=None, name=name, mode="scale", currency=currency, tiers=tiers
        )
    return result


def _products(currencies: list[str], stdout: Any) -> dict[str, Product]:
    categories = _categories()
    types = _product_types()
    discounts = _volume_discounts(currencies)
    products: dict[str, Product] = {}
    for code, name, kind, type_code, category, unit, plans, extra in PRODUCTS:
        product = Product.objects.filter(code=code).first()
        if product is None:
            product = services.product_create(
                actor=None,
                kind=kind,
                code=code,
                name=name,
                product_type=types[type_code] if type_code else None,
                category=categories[category],
                unit_of_measure=unit,
                primary_products=[products[parent] for parent in ADDON_PARENTS.get(code, [])],
                **extra,
            )
            stdout.write(f"  product {code}")
        products[code] = product
        for (cycle, commitment, charge_type), amounts in plans.items():
            if product.plans.filter(
                billing_cycle=cycle, commitment_months=commitment, charge_type=charge_type
            ).exists():
                continue
            prices = {
                currency: PriceInput(
                    price=D(amount),
                    volume_discount=discounts.get(currency) if code == "MAILBOX" else None,
                )
                for currency, amount in zip(CURRENCIES, amounts, strict=True)
                if currency in currencies
            }
            trial = (
                {"trial_enabled": True, "trial_days": 30, "trial_max_quantity": 25}
                if code == "SUITE-STD" and cycle == BillingCycle.MONTHLY
                else {}
            )
            services.plan_create(
                actor=None,
                product=product,
                billing_cycle=cycle,
                commitment_months=commitment,
                charge_type=charge_type,
                usage_charge_rule="full_period"
                if charge_type == ChargeType.RECURRING_PAY_PER_USE
                else "per_diem",
                prices=prices,
                **trial,
            )
    return products


def _relations(products: dict[str, Product]) -> None:
    editions = [products["SUITE-BASIC"], products["SUITE-STD"], products["SUITE-PREM"]]
    for lower, higher in itertools.pairwise(editions):
        if not lower.changes_from.filter(target=higher).exists():
            services.upgrade_add(actor=None, source=lower, target=higher)
    for index, first in enumerate(editions):
        for second in editions[index + 1 :]:
            services.exclusion_add(actor=None, product=first, other=second)
    for bundle_code, component_codes in BUNDLE_COMPONENTS.items():
        bundle = products[bundle_code]
        for code in component_codes:
            if not bundle.components.filter(component=products[code]).exists():
                services.bundle_component_add(actor=None, bundle=bundle, component=products[code])
    for code in PUBLISHED:
        if not products[code].publish_to_storefront:
            services.product_update(actor=None, product=products[code], publish_to_storefront=True)
    for bundle_code in BUNDLE_COMPONENTS:
        if not products[bundle_code].publish_to_storefront:
            services.product_update(
                actor=None, product=products[bundle_code], publish_to_storefront=True
            )


def _price_lists(currencies: list[str], owner: User | None, stdout: Any) -> None:
    if owner is None:
        stdout.write("  price lists skipped: no administrator to own them")
        return
    wanted = [(f"Standard {currency}", currency, True, D("0")) for currency in currencies]
    wanted += [
        (f"Resellers {currency} (-20 %)", currency, False, D("-20"))
        for currency in ("EUR", "GBP")
        if currency in currencies
    ]
    for name, currency, is_default, percent in wanted:
        if PriceList.objects.filter(name=name).exists():
            continue
        price_list = services.price_list_create(
            actor=None,
            owner=owner,
            name=name,
            currency=currency,
            is_default=is_default,
            description="Reseller prices: 20 % below the list price."
            if percent
            else "List prices of every product sold in this currency.",
        )
        for product in Product.objects.filter(plans__prices__currency=currency).distinct():
            services.price_list_add_product(
                actor=None,
                price_list=price_list,
                product=product,
                method="percent",
                percent=percent,
            )
        stdout.write(f"  price list {name}")


def _promotion(products: dict[str, Product]) -> None:
    name = "Spring into Standard"
    if Promotion.objects.filter(name=name).exists():
        return
    today = timezone.localdate()
    services.promotion_create(
        actor=None,
        products=[products["SUITE-STD"]],
        name=name,
        description="20 % off the first two months of Office Standard for new customers.",
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=60),
        kind="limited_recurring",
        cycles=2,
        discount_type="percentage",
        percent=D("20"),
        for_monthly=True,
        for_annual=False,
        for_triennial=False,
        eligibility="new",
    )


def seed(stdout: Any) -> None:
    currencies = _currencies(stdout)
    if not currencies:
        stdout.write("  catalogue skipped: none of EUR, USD, GBP is an active currency")
        return
    products = _products(currencies, stdout)
    _relations(products)
    _price_lists(currencies, _owner(), stdout)
    _promotion(products)
    stdout.write(f"  {Product.objects.count()} products, {PriceList.objects.count()} price lists")
