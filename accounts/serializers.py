"""API shape of customer accounts: it parses input; accounts.services writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from accounts.models import Account
from bss.core.visibility import visible_records
from bss.setup.fields.api import CustomFieldsField
from bss.setup.models import PermissionRule


class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    """A reference to another account, limited to those the requesting user may see."""

    def get_queryset(self) -> QuerySet[Account]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return visible_records(Account.objects.all(), user)


class AccountSerializer(serializers.ModelSerializer):
    parent = VisibleAccountField(
        required=False,
        allow_null=True,
        help_text="The parent reseller; required for, and only for, a reseller's client.",
    )
    permission_rule = serializers.PrimaryKeyRelatedField(
        queryset=PermissionRule.objects.all(),
        required=False,
        allow_null=True,
        help_text="Who else may see the account; left out on create, the default rule applies.",
    )
    custom_fields = CustomFieldsField("account")

    class Meta:
        model = Account
        fields = [
            "id",
            "number",
            "name",
            "account_type",
            "parent",
            "status",
            "currency",
            "email",
            "phone",
            "website",
            "permission_rule",
            "custom_fields",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["number", "owner", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {
            "currency": {"help_text": "ISO 4217 code, e.g. EUR."},
        }

    def validate_currency(self, currency: str) -> str:
        currency = currency.strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise serializers.ValidationError("Enter a three-letter ISO currency code, e.g. EUR.")
        return currency
