"""API shapes of the catalogue: they parse input; catalogue.services writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bss.core.visibility import visible_records
from catalogue import services
from catalogue.models import (
    Category,
    PriceList,
    PriceListItem,
    Product,
    ProductPlan,
    ProductPrice,
    ProductType,
    VolumeDiscount,
)

MONEY = {"max_digits": 18, "decimal_places": 4}


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "parent", "position", "description", "publish_to_storefront"]


class ProductTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductType
        fields = ["id", *services.PRODUCT_TYPE_FIELDS]


class PriceSerializer(serializers.ModelSerializer):
    volume_discount = serializers.PrimaryKeyRelatedField(
        queryset=VolumeDiscount.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = ProductPrice
        fields = ["currency", "price", "cost_price", "setup_fee", "volume_discount"]
        extra_kwargs: dict[str, Any] = {
            "currency": {"help_text": "ISO 4217 code of an active currency, e.g. EUR."},
            "setup_fee": {"required": False},
        }


class PlanSerializer(serializers.ModelSerializer):
    prices = PriceSerializer(many=True, required=False)

    class Meta:
        model = ProductPlan
        fields = ["id", *services.PLAN_FIELDS, "prices"]

    def price_inputs(self) -> dict[str, services.PriceInput]:
        return {
            row["currency"].strip().upper(): services.PriceInput(
                price=row["price"],
                cost_price=row.get("cost_price"),
                setup_fee=row.get("setup_fee") or Decimal(0),
                volume_discount=row.get("volume_discount"),
            )
            for row in self.validated_data.get("prices", [])
        }

    def plan_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.validated_data.items() if k in services.PLAN_FIELDS}


class ProductSerializer(serializers.ModelSerializer):
    primary_products = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        many=True,
        required=False,
        help_text="For an add-on: ids of the primary products it attaches to.",
    )
    plans = PlanSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            *services.PRODUCT_FIELDS,
            "status",
            "primary_products",
            "plans",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_at", "updated_at"]

    def product_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.validated_data.items() if k in services.PRODUCT_FIELDS}


@extend_schema_field(OpenApiTypes.INT)
class VisiblePriceListField(serializers.PrimaryKeyRelatedField):
    """A price list the requesting user may see (or change, with ``access="edit"``)."""

    def __init__(self, *, access: str = "view", **kwargs: Any) -> None:
        self.access = access
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[PriceList]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return visible_records(PriceList.objects.all(), user, self.access)  # type: ignore[arg-type]


class PriceListItemSerializer(serializers.ModelSerializer):
    price_list = VisiblePriceListField(access="edit")
    product = serializers.IntegerField(source="plan.product_id", read_only=True)
    product_code = serializers.CharField(source="plan.product.code", read_only=True)

    class Meta:
        model = PriceListItem
        fields = [
            "id",
            "price_list",
            "plan",
            "product",
            "product_code",
            "method",
            "fixed_price",
            "percent",
            "cost_price",
            "is_visible",
        ]

    def item_fields(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "method": data["method"],
            "fixed_price": data.get("fixed_price"),
            "percent": data.get("percent"),
            "cost_price": data.get("cost_price"),
            "is_visible": data.get("is_visible", True),
        }


class NestedPriceListItemSerializer(PriceListItemSerializer):
    class Meta(PriceListItemSerializer.Meta):
        fields = [name for name in PriceListItemSerializer.Meta.fields if name != "price_list"]


class PriceListSerializer(serializers.ModelSerializer):
    items = NestedPriceListItemSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = [
            "id",
            "name",
            "currency",
            "valid_from",
            "valid_until",
            "is_active",
            "is_default",
            "description",
            "permission_rule",
            "owner",
            "items",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["owner", "created_at", "updated_at"]

    def list_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.validated_data.items() if k in services.PRICE_LIST_FIELDS}


class PriceListCopySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)


class QuoteRequestSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    plan = serializers.PrimaryKeyRelatedField(queryset=ProductPlan.objects.all())
    currency = serializers.CharField(max_length=3)
    quantity = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=Decimal(0))
    date = serializers.DateField(required=False, help_text="Pricing date; today by default.")
    price_lists = serializers.ListField(
        child=VisiblePriceListField(),
        required=False,
        help_text="Price list ids in priority order (an account's lists, newest first).",
    )
    is_new_customer = serializers.BooleanField(required=False, default=False)
    owned_products = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        many=True,
        required=False,
        help_text="Products the customer already owns (for promotion prerequisites).",
    )
    cycle_number = serializers.IntegerField(required=False, default=1, min_value=1)
    ordered_on = serializers.DateField(
        required=False, help_text="When the subscription was ordered; promotions are judged then."
    )

    def validate_currency(self, value: str) -> str:
        return value.strip().upper()


class TierLineSerializer(serializers.Serializer):
    from_quantity = serializers.IntegerField()
    to_quantity = serializers.IntegerField(allow_null=True)
    quantity = serializers.CharField()
    unit_price = serializers.CharField()
    amount = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    """Amounts are decimal strings: unit prices with 4 places, lines in the currency's minor unit."""

    product_id = serializers.IntegerField()
    plan_id = serializers.IntegerField()
    currency = serializers.CharField()
    quantity = serializers.CharField()
    on_date = serializers.DateField()
    source = serializers.ChoiceField(
        choices=["list_price", "price_list_fixed", "price_list_percent"]
    )
    price_list_id = serializers.IntegerField(allow_null=True)
    price_list_name = serializers.CharField()
    list_unit_price = serializers.CharField()
    unit_price = serializers.CharField()
    volume_mode = serializers.CharField()
    tiers = TierLineSerializer(many=True)
    list_amount = serializers.CharField()
    subtotal = serializers.CharField()
    promotion_id = serializers.IntegerField(allow_null=True)
    promotion_name = serializers.CharField()
    discount_amount = serializers.CharField()
    total = serializers.CharField()
    final_unit_price = serializers.CharField()
    setup_fee = serializers.CharField()
    cost_price = serializers.CharField(allow_null=True)
