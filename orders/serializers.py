"""API shapes of orders and their items: they parse; the services write."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import VisibleAccountField, owning_account_context
from bss.setup.fields.api import CustomFieldsField
from bss.setup.models import PermissionRule
from catalogue.models import PriceList, ProductPlan
from orders.models import Order, OrderItem, OrderStatus


class TaxLineSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    base = serializers.DecimalField(max_digits=16, decimal_places=4)
    amount = serializers.DecimalField(max_digits=16, decimal_places=4)


class OrderItemSerializer(serializers.ModelSerializer):
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
        queryset=OrderItem.objects.all(), required=False, allow_null=True
    )
    target_subscription = serializers.IntegerField(
        source="target_subscription_id", required=False, allow_null=True
    )

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "position",
            "action",
            "product",
            "plan",
            "quantity",
            "list_unit_price",
            "unit_price",
            "is_price_overridden",
            "discount_percent",
            "promotion",
            "promotion_discount",
            "start_date",
            "friendly_name",
            "provisioning_attributes",
            "parent_item",
            "target_subscription",
            "delivery_status",
            "delivered_at",
            "delivered_in",
            "created_subscription",
            "created_asset",
        ]
        read_only_fields = [
            "position",
            "list_unit_price",
            "is_price_overridden",
            "promotion",
            "promotion_discount",
            "delivery_status",
            "delivered_at",
            "delivered_in",
            "created_subscription",
            "created_asset",
        ]
        extra_kwargs = {"quantity": {"min_value": 1}}

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "plan" in data:
            data["product"] = data["plan"].product
        return data


class OrderSerializer(serializers.ModelSerializer):
    account = VisibleAccountField(help_text="The account receiving the products.")
    billing_account = VisibleAccountField(
        required=False, allow_null=True, help_text="Who pays; left out: the account's payer."
    )
    price_list = serializers.PrimaryKeyRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True
    )
    permission_rule = serializers.PrimaryKeyRelatedField(
        queryset=PermissionRule.objects.all(), required=False, allow_null=True
    )
    status = serializers.SlugRelatedField(slug_field="name", read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    custom_fields = CustomFieldsField("order", account_context=owning_account_context)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "name",
            "account",
            "billing_account",
            "currency",
            "price_list",
            "order_date",
            "status",
            "owner",
            "permission_rule",
            "notes",
            "parent_order",
            "source",
            "submitted_at",
            "executed_at",
            "start_date",
            "invoice_date",
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
            "parent_order",
            "source",
            "submitted_at",
            "executed_at",
            "start_date",
            "invoice_date",
            "net_total",
            "discount_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
        ]
        extra_kwargs = {"name": {"required": False}, "order_date": {"required": False}}


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.SlugRelatedField(
        slug_field="name", queryset=OrderStatus.objects.filter(is_active=True)
    )


class ExecuteSerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False)
    invoice_date = serializers.DateField(required=False)
    override_credit = serializers.BooleanField(required=False, default=False)


class DeliverSerializer(ExecuteSerializer):
    items = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class ExecutionResultSerializer(serializers.Serializer):
    order = OrderSerializer()
    sub_order = serializers.IntegerField(allow_null=True)
    subscriptions = serializers.ListField(child=serializers.IntegerField())
    assets = serializers.ListField(child=serializers.IntegerField())
    already_executed = serializers.BooleanField()
    went_to_manual = serializers.BooleanField()
    waiting_for_credit = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())
