"""Asset API: read and create assets, PATCH their custom fields and expiry, POST operations.

The same services, rights and visibility as the asset pages: creating needs
``assets.create``, a pricing edit ``assets.edit_pricing``, cancel and PATCH
``assets.edit``, and every write edit access to the asset's account. A refusal of a
service answers 400 naming the field it concerns, and nothing is written.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from subscriptions import assets
from subscriptions.asset_invoices import repricing_invoices
from subscriptions.models import Asset, AssetStatus
from subscriptions.serializers_assets import (
    AssetCancelSerializer,
    AssetCreateSerializer,
    AssetEditPricingSerializer,
    AssetRepricedSerializer,
    AssetSerializer,
    AssetUpdateSerializer,
)


class AssetFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AssetStatus.choices)
    account = django_filters.NumberFilter(field_name="account_id")
    billing_account = django_filters.NumberFilter(field_name="billing_account_id")
    product = django_filters.NumberFilter(field_name="product_id")
    code = django_filters.CharFilter(lookup_expr="iexact")
    expiring_before = django_filters.DateFilter(
        field_name="expiration_date",
        lookup_expr="lt",
        label="Expiring before this date (exclusive)",
    )
    expiration_date = django_filters.DateFromToRangeFilter(label="Expiring between")
    purchase_date = django_filters.DateFromToRangeFilter(label="Purchased between")

    class Meta:
        model = Asset
        fields: list[str] = []


class AssetViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Assets of the accounts the user may see; PATCH changes custom fields and expiry."""

    permission_module = "assets"
    permission_actions = {"edit_pricing": "edit_pricing", "cancel": "edit"}
    serializer_class = AssetSerializer
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    filterset_class = AssetFilter
    search_fields = ["code", "account__name", "account__number", "product__name"]
    ordering_fields = ["code", "purchase_date", "expiration_date", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Asset]:
        queryset = Asset.objects.select_related("account", "product").order_by("-pk")
        return self.visible(queryset)

    def _answer(self, asset: Asset, code: int = status.HTTP_200_OK) -> Response:
        fresh = Asset.objects.select_related("account", "product").get(pk=asset.pk)
        return Response(
            AssetSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=AssetCreateSerializer, responses={201: AssetSerializer})
    def create(self, request: Request) -> Response:
        """Record a one-off or asset-type purchase; billing charges it once."""
        data = self.validated_body(AssetCreateSerializer)
        asset = assets.asset_create(
            actor=request.user,
            account=data["account"],
            product=data["product"],
            plan=data["plan"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            discount_percent=data["discount_percent"],
            purchase_date=data["purchase_date"],
            start_date=data["start_date"],
            expiration_date=data["expiration_date"],
            custom_data=data["custom_data"],
        )
        return self._answer(asset, status.HTTP_201_CREATED)

    @extend_schema(request=AssetUpdateSerializer, responses=AssetSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change the expiration date (active assets only) and custom fields (any status)."""
        asset = self.get_object()
        data = self.validated_body(AssetUpdateSerializer, instance=asset)
        try:
            assets.asset_update(
                actor=request.user,
                asset=asset,
                expiration_date=data.get("expiration_date", asset.expiration_date),
                custom_data=data.get("custom_data"),
            )
        except ValidationError as refused:
            # The service names the status that forbids the change; the client sent a date.
            if hasattr(refused, "error_dict") and "status" in refused.error_dict:
                raise ValidationError({"expiration_date": refused.error_dict["status"]}) from None
            raise
        return self._answer(asset)

    @extend_schema(request=AssetEditPricingSerializer, responses=AssetRepricedSerializer)
    @action(detail=True, methods=["post"], url_path="edit-pricing")
    def edit_pricing(self, request: Request, pk: str | None = None) -> Response:
        """Re-price an active asset over its original period: the old price is credited and
        the new one billed; answers the credit and debit invoices (null until invoiced)."""
        asset = self.get_object()
        data = self.validated_body(AssetEditPricingSerializer)
        repriced = assets.asset_edit_pricing(
            actor=request.user,
            asset=asset,
            unit_price=data.get("unit_price", asset.unit_price),
            discount_percent=data.get("discount_percent", asset.discount_percent),
        )
        found = repricing_invoices(repriced, repriced.pricing_version)
        fresh = Asset.objects.select_related("account", "product").get(pk=asset.pk)
        body = AssetRepricedSerializer(
            {"asset": fresh, "credit_invoice": found.credit, "debit_invoice": found.debit},
            context=self.get_serializer_context(),
        ).data
        return Response(body)

    @extend_schema(request=AssetCancelSerializer, responses=AssetSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel an active asset; nothing is refunded, custom fields stay editable."""
        asset = self.get_object()
        data = self.validated_body(AssetCancelSerializer)
        assets.asset_cancel(actor=request.user, asset=asset, reason=data["reason"])
        return self._answer(asset)
