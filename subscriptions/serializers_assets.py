"""API shapes of assets and of the operations on them: they parse; ``subscriptions.assets`` writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account
from accounts.serializers import VisibleAccountField
from bss.setup.fields.api import CustomFieldsField
from bss.setup.fields.values import account_context_of
from catalogue.models import Product, ProductPlan
from subscriptions.models import Asset

ASSET_ENTITY = "asset"
# What PATCH may change; everything else has its own operation or never changes.
PATCHABLE = frozenset({"expiration_date", "custom_fields"})
ELSEWHERE = {
    "unit_price": "POST /api/v1/assets/{id}/edit-pricing/",
    "discount_percent": "POST /api/v1/assets/{id}/edit-pricing/",
    "status": "POST /api/v1/assets/{id}/cancel/",
}


def asset_account_context(serializer: serializers.Serializer) -> Mapping[str, Any] | None:
    """Display rules of asset fields read the asset's account (the one named on create)."""
    instance = getattr(serializer, "instance", None)
    if isinstance(instance, Asset):
        return account_context_of(instance.account)
    data = getattr(serializer, "initial_data", None)
    account_id = data.get("account") if isinstance(data, Mapping) else None
    if isinstance(account_id, int) or (isinstance(account_id, str) and account_id.isdigit()):
        account = Account.objects.filter(pk=int(account_id)).first()
        if account is not None:
            return account_context_of(account)
    return None


@extend_schema_field(OpenApiTypes.INT)
class AccountIdField(VisibleAccountField):
    """An account id (the serializer has no model to tell the schema its type)."""


class AssetSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    product_code = serializers.CharField(source="product.code", read_only=True)
    custom_fields = CustomFieldsField(ASSET_ENTITY, read_only=True)

    class Meta:
        model = Asset
        fields = [
            "id",
            "code",
            "account",
            "account_number",
            "billing_account",
            "product",
            "product_code",
            "plan",
            "status",
            "quantity",
            "currency",
            "unit_price",
            "discount_percent",
            "purchase_date",
            "start_date",
            "expiration_date",
            "pricing_version",
            "origin_order_item_id",
            "custom_fields",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "pricing_version": {"help_text": "Raised by each pricing edit."},
        }


class AssetCreateSerializer(serializers.Serializer):
    account = AccountIdField(access="edit", help_text="An account you may edit.")
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.select_related("product_type"),
        help_text="A one-off product, or a product of an asset-type product type.",
    )
    plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.all(), help_text="A plan of the product."
    )
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="Empty = the account's price list price.",
    )
    discount_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, required=False, default=0
    )
    purchase_date = serializers.DateField(required=False, help_text="Empty = today.")
    start_date = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Empty = the purchase date."
    )
    expiration_date = serializers.DateField(required=False, allow_null=True, default=None)
    custom_fields = CustomFieldsField(ASSET_ENTITY, account_context=asset_account_context)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("purchase_date", timezone.localdate())
        attrs.setdefault("custom_data", {})
        return attrs


class AssetUpdateSerializer(serializers.Serializer):
    """PATCH: the expiration date (active assets) and custom fields (any status)."""

    expiration_date = serializers.DateField(required=False, allow_null=True)
    custom_fields = CustomFieldsField(ASSET_ENTITY, account_context=asset_account_context)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = self.initial_data if isinstance(self.initial_data, Mapping) else {}
        refused = {
            name: [
                f"Change it with {ELSEWHERE[name]}."
                if name in ELSEWHERE
                else "This field cannot be changed."
            ]
            for name in sorted(set(data) - PATCHABLE)
        }
        if refused:
            raise serializers.ValidationError(refused)
        if not attrs:
            raise serializers.ValidationError(
                "Send expiration_date or custom_fields: nothing else can change."
            )
        return attrs


class AssetEditPricingSerializer(serializers.Serializer):
    """The new pricing; a value left out keeps the asset's current one."""

    unit_price = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False
    )
    discount_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send unit_price, discount_percent or both.")
        return attrs


class AssetCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class AssetInvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="Empty while a draft.")
    kind = serializers.CharField(help_text="debit or credit")
    status = serializers.CharField()
    invoice_date = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    net_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    gross_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    linked_invoice_id = serializers.IntegerField(
        allow_null=True, help_text="The debit invoice a credit invoice corrects."
    )


class AssetRepricedSerializer(serializers.Serializer):
    asset = AssetSerializer()
    credit_invoice = AssetInvoiceSerializer(
        allow_null=True,
        help_text="The credit of the old price; null while it waits for the billing day.",
    )
    debit_invoice = AssetInvoiceSerializer(
        allow_null=True,
        help_text="The new price over the same period; null while it waits for the billing day.",
    )
