"""factory-boy factories for every model the tests build."""

from __future__ import annotations

import factory

from accounts.models import Account
from bss.setup.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@test.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    name = factory.Sequence(lambda n: f"Group {n}")
    permissions = factory.LazyFunction(list)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"ACC-T{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    account_type = Account.Type.DIRECT
    currency = "EUR"
    owner = factory.SubFactory(UserFactory)
