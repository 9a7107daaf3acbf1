"""Offers API: offers with items, status changes, copy, share, convert; and the public
accept/decline endpoint the customer's link uses (no sign-in, the signed token is the key).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import RecordIdFilter
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.consent import request_origin
from offers import services
from offers.models import Offer, OfferItem, OfferStatusType
from offers.serializers import (
    OfferItemSerializer,
    OfferSerializer,
    OfferStatusChangeSerializer,
    PublicOfferSerializer,
    RespondSerializer,
    ShareResultSerializer,
    ShareSerializer,
)
from orders.serializers import OrderSerializer


class OfferFilter(django_filters.FilterSet):
    account = RecordIdFilter(field_name="account_id", label="Account id")
    status = django_filters.CharFilter(field_name="status__name", lookup_expr="iexact")
    status_type = django_filters.ChoiceFilter(
        field_name="status__status_type", choices=OfferStatusType.choices
    )
    offer_date = django_filters.DateFromToRangeFilter()
    number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Offer
        fields: list[str] = []


class OfferViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Offers the user may see, with their items and totals."""

    permission_module = "offers"
    permission_actions = {
        "items": "edit",
        "status": "edit",
        "copy": "create",
        "share": "edit",
        "convert": "convert",
    }
    serializer_class = OfferSerializer
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    filterset_class = OfferFilter
    search_fields = ["number", "name", "account__name"]
    ordering_fields = ["offer_date", "valid_until", "number", "gross_total", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Offer]:
        items = OfferItem.objects.order_by("position", "pk")
        queryset = Offer.objects.select_related("account", "status", "owner").prefetch_related(
            Prefetch("items", items)
        )
        return self.visible(queryset.order_by("-offer_date", "-pk"))

    def _fresh(self, offer: Offer) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=offer.pk)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offer = services.offer_create(actor=request.user, **serializer.validated_data)
        return Response(self._fresh(offer), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        offer = self.get_object()
        serializer = self.get_serializer(offer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("account", None)
        offer = services.offer_update(actor=request.user, offer=offer, **data)
        return Response(self._fresh(offer))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.offer_delete(actor=request.user, offer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=OfferItemSerializer, responses={201: OfferSerializer})
    @action(detail=True, methods=["post"])
    def items(self, request: Request, pk: str | None = None) -> Response:
        offer = self.get_object()
        serializer = OfferItemSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.offer_item_add(actor=request.user, offer=offer, **serializer.service_arguments())
        return Response(self._fresh(offer), status=status.HTTP_201_CREATED)

    @extend_schema(request=OfferStatusChangeSerializer, responses={200: OfferSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        offer = self.get_object()
        serializer = OfferStatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.offer_set_status(
            actor=request.user, offer=offer, status=serializer.validated_data["status"]
        )
        return Response(self._fresh(offer))

    @extend_schema(request=None, responses={201: OfferSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        copy = services.offer_copy(actor=request.user, offer=self.get_object())
        return Response(self._fresh(copy), status=status.HTTP_201_CREATED)

    @extend_schema(request=ShareSerializer, responses={200: ShareResultSerializer})
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk: str | None = None) -> Response:
        """Email the PDF to contacts and/or create the customer's signed, expiring link."""
        offer = self.get_object()
        serializer = ShareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.offer_share(
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
            offer=offer,
            **serializer.validated_data,
        )
        return Response(
            {
                "link": result.link,
                "recipients": result.recipients,
                "link_expires_at": result.offer.link_expires_at,
            }
        )

    @extend_schema(request=None, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        """Convert an accepted offer into an order, once; answers the new order."""
        order = services.offer_convert(actor=request.user, offer=self.get_object())
        return Response(
            OrderSerializer(order, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class OfferItemViewSet(VisibleQuerysetMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    permission_module = "offers"
    serializer_class = OfferItemSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[OfferItem]:
        return self.visible(OfferItem.objects.select_related("offer", "product", "plan"))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        serializer = self.get_serializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("plan", None)
        item = services.offer_item_update(actor=request.user, item=item, **data)
        return Response(self.get_serializer(item).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.offer_item_remove(actor=request.user, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LinkExpired(APIException):
    status_code = 410
    default_detail = "This link has expired; ask your contact for a new one."


class PublicOfferView(api_views.APIView):
    """The customer's side of a shared link: read the offer, accept or decline it."""

    bss_public = True
    authentication_classes: list[Any] = []

    def _offer(self, token: str) -> Offer:
        found = services.offer_from_token(token)
        if found.offer is None:
            raise Http404("No such offer link.")
        if found.is_expired:
            raise LinkExpired()
        return found.offer

    @extend_schema(responses={200: PublicOfferSerializer})
    def get(self, request: Request, token: str) -> Response:
        return Response(PublicOfferSerializer(self._offer(token)).data)

    @extend_schema(request=RespondSerializer, responses={200: PublicOfferSerializer})
    def post(self, request: Request, token: str) -> Response:
        offer = self._offer(token)
        serializer = RespondSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        origin = request_origin(request)
        offer = services.offer_respond(
            offer=offer,
            response=serializer.validated_data["response"],
            name=serializer.validated_data["name"],
            note=serializer.validated_data["note"],
            ip_address=origin["ip_address"],
            user_agent=origin["user_agent"],
        )
        return Response(PublicOfferSerializer(offer).data)
