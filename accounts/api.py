"""API of customer accounts: the same services and the same visibility as the pages."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import Account
from accounts.serializers import AccountSerializer
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin


@extend_schema_field(OpenApiTypes.INT)
class RecordIdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class AccountFilter(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(choices=Account.Type.choices)
    status = django_filters.ChoiceFilter(choices=Account.Status.choices)
    # A plain number, not a choice of accounts: validating it against every account would
    # tell a user which account ids exist beyond the ones they may see.
    parent = RecordIdFilter(field_name="parent_id", label="Parent reseller id")
    currency = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Account
        fields: list[str] = []


class AccountViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Customer accounts the user may see: their own, plus what permission rules grant."""

    permission_module = "accounts"
    serializer_class = AccountSerializer
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = AccountFilter
    search_fields = ["name", "number", "email"]
    ordering_fields = ["name", "number", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        return self.visible(Account.objects.select_related("parent", "owner").order_by("name"))

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
