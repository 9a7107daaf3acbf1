"""Factories for catalogue records; tests that check a rule call the services instead."""

from __future__ import annotations

from decimal import Decimal

import factory

from catalogue.models import (
    BillingCycle,
    ChargeType,
    PriceList,
    Product,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductType,
)
from tests.factories import UserFactory


class ProductTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductType

    code = factory.Sequence(lambda n: f"TYPE-{n}")
    name = factory.Sequence(lambda n: f"Service family {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    kind = ProductKind.PRIMARY
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    product_type = factory.SubFactory(ProductTypeFactory)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductPlan

    product = factory.SubFactory(ProductFactory)
    billing_cycle = BillingCycle.MONTHLY
    charge_type = ChargeType.RECURRING_PREPAID


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductPrice

    plan = factory.SubFactory(PlanFactory)
    currency = "EUR"
    price = Decimal("10.0000")


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    currency = "EUR"
    owner = factory.SubFactory(UserFactory)
