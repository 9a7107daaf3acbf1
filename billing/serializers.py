"""API shape of invoices: amounts as strings rounded to the invoice currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceTaxLine
from billing.selectors import visible_invoices
from bss.core.money import quantize


@extend_schema_field(OpenApiTypes.STR)
class AmountField(serializers.Field):
    """A money amount as a string with exactly the currency's decimals ("74.40", "5176")."""

    def __init__(self, *, currency_path: str = "currency", **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)
        self.currency_path = currency_path.split(".")

    def get_attribute(self, instance: Any) -> tuple[Decimal | None, str]:
        currency: Any = instance
        for part in self.currency_path:
            currency = getattr(currency, part)
        return super().get_attribute(instance), currency

    def to_representation(self, value: tuple[Decimal | None, str]) -> str | None:
        amount, currency = value
        if amount is None or not currency:
            return None
        return str(quantize(amount, currency))


class InvoiceLineSerializer(serializers.ModelSerializer):
    amount = AmountField(currency_path="invoice.currency")
    discount = AmountField(currency_path="invoice.currency")
    net = AmountField(currency_path="invoice.currency")
    credited_line = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "product",
            "subscription_id",
            "description",
            "period_start",
            "period_end",
            "quantity",
            "unit_price",
            "amount",
            "discount",
            "net",
            "applied_taxes",
            "credited_line",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "period_end": {"help_text": "Exclusive: the day after the last day billed."},
            "unit_price": {"help_text": "Up to 4 decimals."},
        }


class InvoiceTaxLineSerializer(serializers.ModelSerializer):
    taxable_amount = AmountField(currency_path="invoice.currency")
    amount = AmountField(currency_path="invoice.currency")
    transaction_amount = AmountField(currency_path="invoice.transaction_currency")

    class Meta:
        model = InvoiceTaxLine
        fields = ["code", "name", "rate", "taxable_amount", "amount", "transaction_amount"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    net_total = AmountField()
    tax_total = AmountField()
    gross_total = AmountField()
    balance_due = AmountField()
    transaction_net_total = AmountField(currency_path="transaction_currency")
    transaction_tax_total = AmountField(currency_path="transaction_currency")
    transaction_gross_total = AmountField(currency_path="transaction_currency")
    lines = InvoiceLineSerializer(many=True, read_only=True)
    tax_lines = InvoiceTaxLineSerializer(many=True, read_only=True)
    has_pdf = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "origin",
            "invoice_date",
            "due_date",
            "billing_account",
            "currency",
            "transaction_currency",
            "exchange_rate",
            "net_total",
            "tax_total",
            "gross_total",
            "balance_due",
            "transaction_net_total",
            "transaction_tax_total",
            "transaction_gross_total",
            "linked_invoice",
            "is_reverse_charge",
            "tax_note",
            "hold_reason",
            "customer_name",
            "customer_address",
            "customer_country",
            "customer_vat_number",
            "notes",
            "issued_at",
            "lines",
            "tax_lines",
            "has_pdf",
        ]
        read_only_fields = fields

    def get_has_pdf(self, invoice: Invoice) -> bool:
        return bool(invoice.pdf)


class IssueSerializer(serializers.Serializer):
    invoice_date = serializers.DateField(
        required=False, allow_null=True, help_text="Defaults to the draft's date, else today."
    )


@extend_schema_field(OpenApiTypes.INT)
class VisibleInvoiceField(serializers.PrimaryKeyRelatedField):
    """An invoice the requesting user may see (others answer "does not exist")."""

    def get_queryset(self) -> QuerySet[Invoice]:
        request = self.context.get("request")
        return visible_invoices(getattr(request, "user", None)).filter(kind=InvoiceKind.DEBIT)


class CreditItemSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Id of a line of the debit invoice.")
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(
        required=False, allow_null=True, help_text="Exclusive, like the line's own period_end."
    )
    quantity = serializers.DecimalField(
        max_digits=18, decimal_places=4, required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text="Empty = the line's net prorated by days and quantity.",
    )


class CreditInvoiceCreateSerializer(serializers.Serializer):
    debit_invoice = VisibleInvoiceField(help_text="The issued debit invoice to credit.")
    items = CreditItemSerializer(many=True, required=False)
    credit_whole = serializers.BooleanField(required=False, default=False)
    invoice_date = serializers.DateField(required=False, allow_null=True)
    linked_invoice = VisibleInvoiceField(
        required=False,
        allow_null=True,
        help_text="Empty = the customer's oldest unpaid debit invoice.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    issue = serializers.BooleanField(
        required=False, default=False, help_text="Issue the credit invoice at once."
    )
