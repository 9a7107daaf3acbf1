"""API shape of payments: amounts as strings rounded to the payment currency."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account
from billing.serializers import AmountField, VisibleInvoiceField
from bss.core.money import quantize
from bss.core.visibility import visible_records
from payments.models import (
    MANUAL_PAYMENT_TYPES,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentType,
    Refund,
)


@extend_schema_field(OpenApiTypes.INT)
class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Account]:
        request = self.context.get("request")
        return visible_records(Account.objects.all(), getattr(request, "user", None))


@extend_schema_field(OpenApiTypes.INT)
class VisiblePaymentField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Payment]:
        request = self.context.get("request")
        return visible_records(
            Payment.objects.select_related("account"), getattr(request, "user", None), "edit"
        )


class AllocationSerializer(serializers.ModelSerializer):
    amount = AmountField(currency_path="payment.currency")
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "invoice_number", "amount", "created_at"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    amount = AmountField()

    class Meta:
        model = Refund
        fields = [
            "id",
            "number",
            "payment",
            "amount",
            "currency",
            "refund_date",
            "status",
            "via_gateway",
            "gateway_reference",
            "reference",
            "reason",
            "failure_message",
            "created_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    amount = AmountField()
    applied_amount = AmountField()
    refunded_amount = AmountField()
    unapplied_amount = AmountField()
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "number",
            "account",
            "payment_type",
            "status",
            "payment_date",
            "amount",
            "currency",
            "applied_amount",
            "refunded_amount",
            "unapplied_amount",
            "reference",
            "notes",
            "gateway_reference",
            "failure_message",
            "card_brand",
            "card_last4",
            "invoice",
            "void_reason",
            "allocations",
            "created_at",
        ]
        read_only_fields = fields


class AllocationRequestSerializer(serializers.Serializer):
    invoice = VisibleInvoiceField()
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=4, required=False, allow_null=True
    )


class PaymentCreateSerializer(serializers.Serializer):
    account = VisibleAccountField()
    payment_type = serializers.ChoiceField(
        choices=[
            (value, label) for value, label in PaymentType.choices if value in MANUAL_PAYMENT_TYPES
        ]
    )
    amount = serializers.DecimalField(max_digits=18, decimal_places=4)
    currency = serializers.CharField(max_length=3, required=False)
    payment_date = serializers.DateField(required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    allocations = AllocationRequestSerializer(many=True, required=False)
    auto_allocate = serializers.BooleanField(
        default=True, help_text="Without allocations, settle the oldest unpaid invoices."
    )


class AllocateSerializer(serializers.Serializer):
    allocations = AllocationRequestSerializer(many=True, required=False)


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class RefundCreateSerializer(serializers.Serializer):
    payment = VisiblePaymentField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=4)
    refund_date = serializers.DateField(required=False)
    via_gateway = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PaymentMethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "number",
            "description",
            "payment_days",
            "collection",
            "charges_before_activation",
            "notification_plan",
            "is_active",
        ]


def statement_data(statement: Any) -> dict[str, Any]:
    def amount(value: Any) -> str:
        return str(quantize(value, statement.currency))

    return {
        "account": statement.account.pk,
        "currency": statement.currency,
        "start": statement.start,
        "end": statement.end,
        "opening_balance": amount(statement.opening),
        "closing_balance": amount(statement.closing),
        "lines": [
            {
                "date": line.day,
                "kind": line.kind,
                "number": line.number,
                "description": line.description,
                "debit": amount(line.debit),
                "credit": amount(line.credit),
                "balance": amount(line.balance),
            }
            for line in statement.lines
        ],
    }
