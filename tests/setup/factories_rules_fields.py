"""Factories for permission rules, systemic field values and custom field definitions."""

from __future__ import annotations

import factory

from bss.setup.models import (
    CustomFieldDefinition,
    PermissionRule,
    RuleGrant,
    RuleModule,
    RuleSharing,
    SystemFieldValue,
)


class PermissionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PermissionRule

    name = factory.Sequence(lambda n: f"Rule {n}")


class RuleModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleModule

    rule = factory.SubFactory(PermissionRuleFactory)
    entity = "account"


class RuleGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleGrant

    rule = factory.SubFactory(PermissionRuleFactory)
    access = "read"


class RuleSharingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleSharing

    rule = factory.SubFactory(PermissionRuleFactory)


class SystemFieldValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SystemFieldValue

    entity = "account"
    field = "industry"
    value = factory.Sequence(lambda n: f"value_{n}")
    label = factory.Sequence(lambda n: f"Value {n}")
    order_no = factory.Sequence(lambda n: n * 10)


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomFieldDefinition

    entity = "account"
    code = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = "text"
