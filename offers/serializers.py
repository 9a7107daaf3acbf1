"""API shapes of offers and their items: they parse; the services write."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Contact
from accounts.serializers import VisibleAccountField, owning_account_context
from bss.setup.fields.api import CustomFieldsField
from bss.setup.models import PermissionRule
from catalogue.models import PriceList, ProductPlan
from offers.models import Offer, OfferItem, OfferStatus, Response


class OfferItemSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(read_only=True)
    plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product"),
        help_text="The billing plan; it names the product.",
    )
    unit_price = serializers.DecimalField(
        max_digits=14,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text="Leave out for the price list's price; another price needs orders.override_price.",
    )
    parent_item = serializers.PrimaryKeyRelatedField(
        queryset=OfferItem.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = OfferItem
        fields = [
            "id",
            "position",
            "product",
            "plan",
            "quantity",
            "list_unit_price",
            "unit_price",
            "is_price_overridden",
            "discount_percent",
            "promotion",
            "promotion_discount",
            "friendly_name",
            "parent_item",
        ]
        read_only_fields = [
            "position",
            "list_unit_price",
            "is_price_overridden",
            "promotion",
            "promotion_discount",
        ]
        extra_kwargs = {"quantity": {"min_value": 1}}

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["product"] = data["plan"].product
        return data


class OfferSerializer(serializers.ModelSerializer):
    account = VisibleAccountField(help_text="The customer or prospect the offer is for.")
    billing_account = VisibleAccountField(required=False, allow_null=True)
    price_list = serializers.PrimaryKeyRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True
    )
    permission_rule = serializers.PrimaryKeyRelatedField(
        queryset=PermissionRule.objects.all(), required=False, allow_null=True
    )
    status = serializers.SlugRelatedField(slug_field="name", read_only=True)
    response = serializers.CharField(
        read_only=True, help_text="The customer's answer: accepted, declined or empty."
    )
    items = OfferItemSerializer(many=True, read_only=True)
    custom_fields = CustomFieldsField("offer", account_context=owning_account_context)

    class Meta:
        model = Offer
        fields = [
            "id",
            "number",
            "name",
            "account",
            "billing_account",
            "currency",
            "price_list",
            "billing_plan",
            "offer_date",
            "valid_until",
            "status",
            "owner",
            "permission_rule",
            "terms",
            "notes",
            "shared_at",
            "link_expires_at",
            "response",
            "responded_at",
            "responder_name",
            "converted_order",
            "copied_from",
            "net_total",
            "discount_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
            "items",
            "custom_fields",
        ]
        read_only_fields = [
            "number",
            "currency",
            "owner",
            "shared_at",
            "link_expires_at",
            "response",
            "responded_at",
            "responder_name",
            "converted_order",
            "copied_from",
            "net_total",
            "discount_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
        ]
        extra_kwargs = {
            "name": {"required": False},
            "offer_date": {"required": False},
            "valid_until": {"required": False},
        }


class OfferStatusChangeSerializer(serializers.Serializer):
    status = serializers.SlugRelatedField(
        slug_field="name", queryset=OfferStatus.objects.filter(is_active=True)
    )


class ShareSerializer(serializers.Serializer):
    contacts = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), many=True, required=False
    )
    create_link = serializers.BooleanField(required=False, default=True)
    message = serializers.CharField(required=False, allow_blank=True, default="")


class ShareResultSerializer(serializers.Serializer):
    link = serializers.CharField()
    recipients = serializers.ListField(child=serializers.EmailField())
    link_expires_at = serializers.DateTimeField()


class RespondSerializer(serializers.Serializer):
    response = serializers.ChoiceField(choices=Response.choices)
    name = serializers.CharField(max_length=200)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PublicOfferSerializer(serializers.ModelSerializer):
    status = serializers.SlugRelatedField(slug_field="name", read_only=True)
    response = serializers.CharField(read_only=True)
    items = OfferItemSerializer(many=True, read_only=True)

    class Meta:
        model = Offer
        fields = [
            "number",
            "name",
            "currency",
            "offer_date",
            "valid_until",
            "status",
            "response",
            "responded_at",
            "net_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
            "items",
        ]
