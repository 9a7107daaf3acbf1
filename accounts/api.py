"""API of accounts, contacts, addresses and documents: the same services and visibility as the pages.

Lists filter by their columns and by custom fields: ``?cf_<key>=value`` filters on an
active custom field of the entity the same way the list pages do.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.addresses import address_create, address_delete, address_update
from accounts.documents import document_delete, document_update, document_upload
from accounts.models import Account, Address, Contact, Document
from accounts.serializers import (
    AccountSerializer,
    AddressSerializer,
    ContactSerializer,
    DocumentSerializer,
)
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.consent import request_origin
from bss.core.custom_fields import custom_fields_of_model


@extend_schema_field(OpenApiTypes.INT)
class RecordIdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class CustomFieldFilterBackend(DjangoFilterBackend):
    """The view's filters, plus ``cf_<key>`` filters for the entity's active custom fields.

    The custom field definitions are read only when a ``cf_`` parameter is present, so a
    plain list costs no extra query.
    """

    def get_filterset_class(self, view: Any, queryset: QuerySet | None = None) -> Any:
        base = super().get_filterset_class(view, queryset)
        request = getattr(view, "request", None)
        params = getattr(request, "query_params", {}) if request is not None else {}
        if base is None or queryset is None or not any(key.startswith("cf_") for key in params):
            return base
        extra = {
            field.filter_name: field.list_filter()
            for field in custom_fields_of_model(queryset.model)
        }
        return type(f"{base.__name__}WithCustomFields", (base,), extra)


FILTER_BACKENDS = [CustomFieldFilterBackend, filters.SearchFilter, filters.OrderingFilter]


# ------------------------------------------------------------------------------ accounts


class AccountFilter(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(choices=Account.Type.choices)
    status = django_filters.ChoiceFilter(choices=Account.Status.choices)
    # A plain number, not a choice of accounts: validating it against every account would
    # tell a user which account ids exist beyond the ones they may see.
    parent = RecordIdFilter(field_name="parent_id", label="Parent reseller id")
    reseller = RecordIdFilter(field_name="parent_id", label="Reseller id (same as parent)")
    account_manager = RecordIdFilter(field_name="account_manager_id", label="Account manager id")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    vat_number = django_filters.CharFilter(lookup_expr="iexact")
    is_ordering_enabled = django_filters.BooleanFilter()

    class Meta:
        model = Account
        fields: list[str] = []


def _with_vat_duplicates(queryset: QuerySet[Account]) -> QuerySet[Account]:
    """Each account's count of other accounts with its VAT number, inside the list query."""
    others = (
        Account.objects.filter(vat_number=OuterRef("vat_number"))
        .exclude(pk=OuterRef("pk"))
        .exclude(vat_number="")
        .order_by()
        .values("vat_number")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return queryset.annotate(vat_duplicates=Coalesce(Subquery(others), Value(0)))


class AccountViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Customer accounts the user may see: their own, plus what permission rules grant."""

    permission_module = "accounts"
    serializer_class = AccountSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AccountFilter
    search_fields = ["name", "number", "email", "vat_number"]
    ordering_fields = ["name", "number", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        queryset = Account.objects.select_related("parent", "owner").order_by("name")
        return self.visible(_with_vat_duplicates(queryset))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(
            actor=request.user, account=account, **serializer.validated_data
        )
        return Response(self.get_serializer(account).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete an account without transactions (otherwise 400 with the reason)."""
        services.account_delete(actor=request.user, account=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------ contacts


class ContactFilter(django_filters.FilterSet):
    account = RecordIdFilter(field_name="account_id", label="Account id")
    reseller = RecordIdFilter(field_name="account__parent_id", label="Reseller id of the account")
    account_type = django_filters.ChoiceFilter(
        field_name="account__account_type", choices=Account.Type.choices
    )
    account_status = django_filters.ChoiceFilter(
        field_name="account__status", choices=Account.Status.choices
    )
    email = django_filters.CharFilter(lookup_expr="iexact")
    is_primary = django_filters.BooleanFilter()
    is_bill_to = django_filters.BooleanFilter()
    has_opted_in = django_filters.BooleanFilter()
    has_storefront_access = django_filters.BooleanFilter()

    class Meta:
        model = Contact
        fields: list[str] = []


class ContactViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Contacts of the accounts the user may see; an opt-in goes to the consent log."""

    permission_module = "contacts"
    serializer_class = ContactSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "account__name"]
    ordering_fields = ["last_name", "email", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Contact]:
        return self.visible(Contact.objects.order_by("last_name", "first_name", "pk"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(
            actor=request.user,
            consent_source="API",
            consent_origin=request_origin(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(
            actor=request.user,
            contact=contact,
            consent_source="API",
            consent_origin=request_origin(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(contact).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.contact_delete(actor=request.user, contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------------------- addresses


class AddressFilter(django_filters.FilterSet):
    account = RecordIdFilter(field_name="account_id", label="Account id")
    reseller = RecordIdFilter(field_name="account__parent_id", label="Reseller id of the account")
    kind = django_filters.ChoiceFilter(choices=Address.Kind.choices)
    country_code = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Address
        fields: list[str] = []


class AddressViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Addresses of visible accounts; writing one needs the right to edit accounts.

    Invalid addresses are refused (400, the field named) when validation is strict; in
    warn mode they are saved and ``validation_notes`` says what is wrong.
    """

    permission_module = "accounts"
    permission_actions = {"create": "edit", "destroy": "edit"}
    serializer_class = AddressSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = AddressFilter
    ordering_fields = ["created_at", "kind"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Address]:
        return self.visible(Address.objects.order_by("account_id", "kind", "pk"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = address_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(saved.address).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        address = self.get_object()
        serializer = self.get_serializer(address, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if changes.pop("account", address.account) != address.account:
            raise DjangoValidationError({"account": "An address cannot move to another account."})
        saved = address_update(actor=request.user, address=address, **changes)
        return Response(self.get_serializer(saved.address).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        address_delete(actor=request.user, address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------------------- documents


class DocumentFilter(django_filters.FilterSet):
    account = RecordIdFilter(field_name="account_id", label="Account id")
    reseller = RecordIdFilter(field_name="account__parent_id", label="Reseller id of the account")
    contact = RecordIdFilter(field_name="contact_id", label="Contact id")
    stage = django_filters.CharFilter()
    document_type = django_filters.CharFilter()
    is_published = django_filters.BooleanFilter()

    class Meta:
        model = Document
        fields: list[str] = []


class DocumentViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Documents of visible accounts; upload with multipart/form-data, download by its URL."""

    permission_module = "documents"
    permission_actions = {"download": "view"}
    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = DocumentFilter
    search_fields = ["name", "original_filename"]
    ordering_fields = ["created_at", "name", "size"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Document]:
        return self.visible(Document.objects.order_by("-created_at", "-pk"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        document = document_upload(
            actor=request.user,
            account=fields.pop("account"),
            file=fields.pop("file"),
            custom_data=fields.pop("custom_data", None),
            **fields,
        )
        return Response(self.get_serializer(document).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        document = self.get_object()
        serializer = self.get_serializer(document, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if fields.pop("account", document.account) != document.account:
            raise DjangoValidationError({"account": "A document cannot move to another account."})
        document = document_update(
            actor=request.user,
            document=document,
            custom_data=fields.pop("custom_data", None),
            **fields,
        )
        return Response(self.get_serializer(document).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        document_delete(actor=request.user, document=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as uploaded."
            )
        },
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        document = self.get_object()
        try:
            handle = document.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file of this document is missing.") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=document.original_filename,
            content_type=document.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response
