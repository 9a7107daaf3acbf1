"""API shapes of accounts, contacts, addresses and documents: they parse; the services write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, Address, Contact, Document
from bss.core.visibility import visible_records
from bss.setup.fields.api import CustomFieldsField
from bss.setup.fields.values import account_context_of
from bss.setup.models import PermissionRule, User


class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    """A reference to an account, limited to those the requesting user may see (or edit)."""

    def __init__(self, *, access: str = "view", **kwargs: Any) -> None:
        self.access = access
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Account]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return visible_records(Account.objects.all(), user, self.access)  # type: ignore[arg-type]


class VisibleContactField(serializers.PrimaryKeyRelatedField):
    """A contact of an account the requesting user may see."""

    def get_queryset(self) -> QuerySet[Contact]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return visible_records(Contact.objects.all(), user)  # type: ignore[arg-type]


def _account_of(serializer: serializers.Serializer) -> Account | None:
    data = getattr(serializer, "initial_data", None)
    if isinstance(data, Mapping) and data.get("account"):
        found = Account.objects.filter(pk=data.get("account")).first()
        if found is not None:
            return found
    instance = getattr(serializer, "instance", None)
    return getattr(instance, "account", None)


def owning_account_context(serializer: serializers.Serializer) -> Mapping[str, Any] | None:
    """Display rules of contact and document fields read the account they belong to."""
    account = _account_of(serializer)
    return account_context_of(account) if account is not None else None


class AccountSerializer(serializers.ModelSerializer):
    parent = VisibleAccountField(
        required=False,
        allow_null=True,
        help_text="The parent reseller; required for, and only for, a reseller's client.",
    )
    billing_account = VisibleAccountField(
        required=False,
        allow_null=True,
        help_text="Bill through this account (it receives the invoices); null = bills itself.",
    )
    account_manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="The user who looks after the customer.",
    )
    permission_rule = serializers.PrimaryKeyRelatedField(
        queryset=PermissionRule.objects.all(),
        required=False,
        allow_null=True,
        help_text="Who else may see the account; left out on create, the default rule applies.",
    )
    vat_number_duplicates = serializers.SerializerMethodField(
        help_text="How many other accounts have the same VAT number (a warning, not an error)."
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
            "account_manager",
            "currency",
            "transaction_currency",
            "language",
            "industry",
            "lead_source",
            "vat_number",
            "vat_number_duplicates",
            "email",
            "phone",
            "website",
            "permission_rule",
            "is_ordering_enabled",
            "billing_account",
            "country",
            "state",
            "payment_method",
            "payment_days",
            "is_taxable",
            "credit_limit",
            "is_credit_unlimited",
            "is_prorated",
            "partial_charges",
            "billing_day_rule",
            "billing_day",
            "first_order_date",
            "custom_fields",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["number", "owner", "first_order_date", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {
            "currency": {"help_text": "ISO 4217 code, e.g. EUR."},
            "transaction_currency": {"help_text": "Optional second ISO 4217 code."},
            "industry": {"help_text": "A key of the industry value list."},
            "lead_source": {"help_text": "A key of the lead source value list."},
            "vat_number": {
                "help_text": "EU numbers are checked per country and stored with prefix."
            },
            "country": {"help_text": "ISO 3166-1 alpha-2 code: the tax basis."},
            "state": {"help_text": "ISO 3166-2 code, e.g. US-CA; required for US and CA."},
            "payment_days": {"help_text": "Net N: invoices are due N days after issue."},
            "billing_day": {"help_text": "1 to 28, with billing_day_rule = fixed."},
        }

    def validate_currency(self, currency: str) -> str:
        currency = currency.strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise serializers.ValidationError("Enter a three-letter ISO currency code, e.g. EUR.")
        return currency

    @extend_schema_field(OpenApiTypes.INT)
    def get_vat_number_duplicates(self, account: Account) -> int:
        annotated = getattr(account, "vat_duplicates", None)
        if annotated is not None:
            return int(annotated)
        if not account.vat_number:
            return 0
        return Account.objects.filter(vat_number=account.vat_number).exclude(pk=account.pk).count()


class ContactSerializer(serializers.ModelSerializer):
    account = VisibleAccountField(
        access="edit", help_text="The account; changing it moves the contact."
    )
    custom_fields = CustomFieldsField("contact", account_context=owning_account_context)

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "company_role",
            "email",
            "phone",
            "mobile",
            "fax",
            "is_primary",
            "is_bill_to",
            "has_opted_in",
            "opted_in_at",
            "has_storefront_access",
            "storefront_role",
            "custom_fields",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["opted_in_at", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {
            "email": {"validators": []},
            "company_role": {"help_text": "A key of the company role value list."},
            "storefront_role": {"help_text": "With Storefront access; admin when left empty."},
        }


class AddressSerializer(serializers.ModelSerializer):
    account = VisibleAccountField(access="edit")

    class Meta:
        model = Address
        fields = [
            "id",
            "account",
            "kind",
            "label",
            "name",
            "company_name",
            "street_address",
            "city",
            "city_area",
            "postal_code",
            "sorting_code",
            "country_area",
            "country_code",
            "validation_status",
            "validation_notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["validation_status", "validation_notes", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {
            "country_code": {"help_text": "ISO 3166-1 alpha-2 code, e.g. GR."},
            "country_area": {"help_text": "State or province where the country has them, e.g. CA."},
        }


class JsonCustomFieldsField(CustomFieldsField):
    """Custom fields that also arrive as a JSON string, as multipart uploads send them."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data or "{}")
            except ValueError:
                raise serializers.ValidationError("Send custom fields as a JSON object.") from None
        return super().to_internal_value(data)


class DocumentSerializer(serializers.ModelSerializer):
    account = VisibleAccountField(access="edit")
    contact = VisibleContactField(
        required=False, allow_null=True, help_text="A contact of the same account."
    )
    file = serializers.FileField(write_only=True, help_text="The file to upload (on create only).")
    download_url = serializers.SerializerMethodField()
    custom_fields = JsonCustomFieldsField("document", account_context=owning_account_context)

    class Meta:
        model = Document
        fields = [
            "id",
            "account",
            "contact",
            "name",
            "stage",
            "document_type",
            "is_published",
            "file",
            "original_filename",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "download_url",
            "custom_fields",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "original_filename",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "created_at",
            "updated_at",
        ]
        extra_kwargs: dict[str, Any] = {
            "stage": {"help_text": "A key of the document status value list."},
            "document_type": {"help_text": "A key of the document type value list."},
        }

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        if self.instance is not None:
            fields["file"].required = False
            fields["file"].read_only = True
        return fields

    def get_download_url(self, document: Document) -> str:
        return reverse("api:document-download", kwargs={"pk": document.pk})
