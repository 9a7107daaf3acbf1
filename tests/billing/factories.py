"""Factories for billing tests; rules are exercised through the services, not these."""

from __future__ import annotations

import factory

from accounts.models import Account, Address
from catalogue.models import Product, ProductKind, ProductType
from tests.factories import UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"ACC-B{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    account_type = Account.Type.DIRECT
    currency = "EUR"
    country = "GR"
    language = "en"
    payment_days = 30
    owner = factory.SubFactory(UserFactory)


class BillingAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    account = factory.SubFactory(CustomerFactory)
    kind = Address.Kind.BILLING
    company_name = factory.LazyAttribute(lambda address: address.account.name)
    street_address = "Ermou 12"
    city = "Athens"
    postal_code = "105 63"
    country_code = "GR"


class ProductTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductType

    code = factory.Sequence(lambda n: f"BT-{n}")
    name = factory.Sequence(lambda n: f"Billing type {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    kind = ProductKind.PRIMARY
    code = factory.Sequence(lambda n: f"BSKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Cloud product {n}")
    product_type = factory.SubFactory(ProductTypeFactory)
