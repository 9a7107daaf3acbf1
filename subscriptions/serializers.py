"""API shapes of subscriptions and of the operations on them: they parse; the services write."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from bss.core.permissions import user_has_permission
from bss.setup.fields.api import CustomFieldsField
from catalogue.models import PriceList, ProductPlan
from subscriptions.models import (
    FutureRequest,
    FutureRequestType,
    Subscription,
    SubscriptionChange,
)
from subscriptions.services import CancelTiming, RefundChoice


class SubscriptionChangeSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = SubscriptionChange
        fields = [
            "id",
            "kind",
            "source",
            "effective_date",
            "effective_at",
            "old_quantity",
            "new_quantity",
            "old_unit_price",
            "new_unit_price",
            "old_status",
            "new_status",
            "period_start",
            "period_end",
            "refund_amount",
            "related_subscription",
            "origin_order_item_id",
            "note",
            "details",
            "actor",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"period_end": {"help_text": "Exclusive."}}


class FutureRequestSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField()
    revoked_by = serializers.StringRelatedField()

    class Meta:
        model = FutureRequest
        fields = [
            "id",
            "subscription",
            "request_type",
            "current_value",
            "renewal_value",
            "status",
            "created_at",
            "created_by",
            "revoked_at",
            "revoked_by",
            "completed_at",
            "via_storefront",
            "details",
        ]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account.number", read_only=True)
    product_code = serializers.CharField(source="product.code", read_only=True)
    custom_fields = CustomFieldsField("subscription", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "number",
            "friendly_name",
            "account",
            "account_number",
            "billing_account",
            "product",
            "product_code",
            "plan",
            "parent",
            "bundle",
            "status",
            "quantity",
            "currency",
            "price_list",
            "unit_price",
            "user_unit_price",
            "discount_percent",
            "final_unit_price",
            "setup_fee",
            "billing_cycle",
            "cycle_months",
            "term_months",
            "billing_method",
            "ordered_on",
            "start_date",
            "anchor_day",
            "cycle_number",
            "current_period_start",
            "current_period_end",
            "term_start",
            "term_end",
            "billed_through",
            "auto_renew",
            "trial_end",
            "price_protected_until",
            "external_pricing_status",
            "external_pricing_failure_reason",
            "external_pricing_first_failure",
            "provisioning_status",
            "provisioning_error",
            "provisioning_attributes",
            "cancel_on",
            "ended_on",
            "end_reason",
            "origin_order_item_id",
            "custom_fields",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "current_period_end": {"help_text": "Exclusive."},
            "term_end": {"help_text": "Exclusive end of the term: the next renewal date."},
            "price_protected_until": {"help_text": "Exclusive."},
        }


class SubscriptionDetailSerializer(SubscriptionSerializer):
    changes = SubscriptionChangeSerializer(many=True, read_only=True)
    future_requests = FutureRequestSerializer(many=True, read_only=True)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "changes", "future_requests"]
        read_only_fields = fields


# ----------------------------------------------------------------------------- operations


class OperationSerializer(serializers.Serializer):
    """Every operation takes ``effective_at`` (empty = now); a past day needs "backdate"."""

    effective_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the operation takes effect; empty = now. A day before today needs "
        "the subscriptions.backdate right.",
    )

    def _user(self) -> Any:
        request = self.context.get("request")
        return getattr(request, "user", None)

    def validate_effective_at(self, value: Any) -> Any:
        if value is None:
            return None
        if timezone.localdate(value) < timezone.localdate() and not user_has_permission(
            self._user(), "subscriptions", "backdate"
        ):
            raise serializers.ValidationError(
                _("You may not backdate operations (subscriptions.backdate).")
            )
        return value


class ChangeQuantitySerializer(OperationSerializer):
    new_quantity = serializers.IntegerField(min_value=1, help_text="The new total quantity.")
    at_renewal = serializers.BooleanField(
        default=False, help_text="Schedule the quantity for the renewal instead of now."
    )


class EditPricingSerializer(OperationSerializer):
    cycle = serializers.ChoiceField(choices=["current", "next"])
    user_unit_price = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False, allow_null=True, default=None
    )
    clear_user_price = serializers.BooleanField(default=False)
    discount_percent = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        default=None,
    )
    price_list = serializers.PrimaryKeyRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True, default=None
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("clear_user_price") and attrs.get("user_unit_price") is not None:
            raise serializers.ValidationError(
                {"user_unit_price": _("Send a user price or clear_user_price, not both.")}
            )
        return attrs


class RefundChoiceSerializer(OperationSerializer):
    """A cancellation's refund: the policy's, or (with the custom_refund right) none or an amount."""

    refund = serializers.ChoiceField(choices=list(RefundChoice.ALL), default=RefundChoice.POLICY)
    custom_refund = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False, allow_null=True, default=None
    )

    def validate_refund(self, value: str) -> str:
        if value != RefundChoice.POLICY and not user_has_permission(
            self._user(), "subscriptions", "custom_refund"
        ):
            raise serializers.ValidationError(
                _("No refund or a custom amount needs the subscriptions.custom_refund right.")
            )
        return value


class CancelSerializer(RefundChoiceSerializer):
    timing = serializers.ChoiceField(choices=list(CancelTiming.ALL))
    cancel_date = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    preview = serializers.BooleanField(
        default=False, help_text="Only compute the refund; cancel nothing."
    )


class UpgradeSerializer(OperationSerializer):
    target_plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product"),
        help_text="A plan of one of the product's upgrade targets.",
    )
    quantity = serializers.IntegerField(min_value=1, help_text="Seats to move.")
    target_subscription = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="An active subscription of the target product; empty = a new one.",
    )


class DowngradeSerializer(serializers.Serializer):
    target_plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product")
    )


class SuspendSerializer(OperationSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class PriceProtectionSerializer(OperationSerializer):
    until = serializers.DateField(
        allow_null=True, help_text="Exclusive end of the protection; null turns it off."
    )


class FutureRequestCreateSerializer(serializers.Serializer):
    request_type = serializers.ChoiceField(
        choices=[FutureRequestType.QUANTITY, FutureRequestType.BILLING_TERM]
    )
    renewal_value = serializers.CharField(max_length=100)


class RefundPreviewSerializer(serializers.Serializer):
    refund = serializers.CharField()
    policy_refund = serializers.CharField()
    paid = serializers.CharField()
    basis = serializers.CharField()
    explanation = serializers.CharField()
