"""Factories of Customers records; tests that check a rule go through the services instead."""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import Address, Contact
from bss.setup.fields.seed import seed_value_lists
from tests.factories import AccountFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Sequence(lambda n: f"Contact{n}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    account = factory.SubFactory(AccountFactory)
    kind = Address.Kind.OTHER
    street_address = "Ermou 10"
    city = "Athens"
    postal_code = "105 63"
    country_code = "GR"


class _Quiet:
    def write(self, text: str) -> None:
        pass


def seed_value_list_values() -> None:
    """The starting values of every systemic value list (industry, company role, document type…)."""
    seed_value_lists(_Quiet())


def quiet() -> Any:
    return _Quiet()
