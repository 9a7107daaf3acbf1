"""Orders API: orders with items, status changes, submit, execute, deliver items, cancel.

The same services and visibility as the pages. Validation refusals come back as JSON
keyed by field, item refusals as ``items.<position>.<field>``, e.g.
``{"errors": {"items.2.quantity": ["Item 2 (Seats): Seats is sold in quantities of at
least 5."]}}``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import RecordIdFilter
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from orders import execution, selectors, services
from orders.execution import ExecutionResult
from orders.models import Order, OrderItem, StatusType
from orders.serializers import (
    DeliverSerializer,
    ExecuteSerializer,
    ExecutionResultSerializer,
    OrderItemSerializer,
    OrderSerializer,
    StatusChangeSerializer,
)
from orders.validation import validate_order


class OrderFilter(django_filters.FilterSet):
    account = RecordIdFilter(field_name="account_id", label="Account id")
    billing_account = RecordIdFilter(field_name="billing_account_id", label="Billing account id")
    status = django_filters.CharFilter(field_name="status__name", lookup_expr="iexact")
    status_type = django_filters.ChoiceFilter(
        field_name="status__status_type", choices=StatusType.choices
    )
    order_date = django_filters.DateFromToRangeFilter()
    number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Order
        fields: list[str] = []


def _result(result: ExecutionResult, context: dict[str, Any]) -> dict[str, Any]:
    order = selectors.order_with_details().prefetch_related("items").get(pk=result.order.pk)
    return ExecutionResultSerializer(
        {
            "order": order,
            "sub_order": result.sub_order.pk if result.sub_order is not None else None,
            "subscriptions": result.subscription_ids,
            "assets": result.asset_ids,
            "already_executed": result.already_executed,
            "went_to_manual": result.went_to_manual,
            "waiting_for_credit": result.waiting_for_credit,
            "warnings": result.warnings,
        },
        context=context,
    ).data


class OrderViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Orders the user may see, with their items and totals in the billing currency."""

    permission_module = "orders"
    permission_actions = {
        "items": "edit",
        "status": "edit",
        "validate": "view",
        "submit": "edit",
        "execute": "execute",
        "deliver": "deliver_partial",
        "cancel": "edit",
    }
    serializer_class = OrderSerializer
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    filterset_class = OrderFilter
    search_fields = ["number", "name", "account__name"]
    ordering_fields = ["order_date", "number", "gross_total", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Order]:
        items = OrderItem.objects.order_by("position", "pk")
        queryset = selectors.order_with_details().prefetch_related(Prefetch("items", items))
        return self.visible(queryset.order_by("-order_date", "-pk"))

    def _fresh(self, order: Order) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=order.pk)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("items", None)
        order = services.order_create(actor=request.user, source="api", **data)
        return Response(self._fresh(order), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        serializer = self.get_serializer(order, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("account", None)
        order = services.order_update(actor=request.user, order=order, **data)
        return Response(self._fresh(order))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.order_delete(actor=request.user, order=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=OrderItemSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def items(self, request: Request, pk: str | None = None) -> Response:
        """Add an item; the unit price comes from the resolver unless given (and allowed)."""
        order = self.get_object()
        serializer = OrderItemSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.order_item_add(actor=request.user, order=order, **serializer.service_arguments())
        return Response(self._fresh(order), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        """Check the order as execution would (credit included); 400 lists every refusal."""
        order = self.get_object()
        validate_order(order, actor=request.user, check_credit_limit=True).raise_if_refused()
        return Response(self._fresh(order))

    @extend_schema(request=StatusChangeSerializer, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        serializer = StatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_set_status(
            actor=request.user, order=order, status=serializer.validated_data["status"]
        )
        return Response(self._fresh(order))

    @extend_schema(request=None, responses={200: ExecutionResultSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """A checkout: submit, then execute unless manual provisioning or credit holds it."""
        result = execution.order_submit(actor=request.user, order=self.get_object())
        return Response(_result(result, self.get_serializer_context()))

    @extend_schema(request=ExecuteSerializer, responses={200: ExecutionResultSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """Execute every pending item; executing again answers ``already_executed``."""
        order = self.get_object()
        serializer = ExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = execution.order_execute(
            actor=request.user, order=order, **serializer.validated_data
        )
        return Response(_result(result, self.get_serializer_context()))

    @extend_schema(request=DeliverSerializer, responses={200: ExecutionResultSerializer})
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str | None = None) -> Response:
        """Deliver the listed items in a sub-order executed now."""
        order = self.get_object()
        serializer = DeliverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = list(order.items.filter(pk__in=data.pop("items")))
        result = execution.order_deliver_items(actor=request.user, order=order, items=items, **data)
        return Response(_result(result, self.get_serializer_context()))

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        services.order_cancel(
            actor=request.user, order=order, reason=str(request.data.get("reason", ""))
        )
        return Response(self._fresh(order))


class OrderItemViewSet(VisibleQuerysetMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """One order item: change its quantity, price, discount, dates; or remove it."""

    permission_module = "orders"
    serializer_class = OrderItemSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[OrderItem]:
        return self.visible(OrderItem.objects.select_related("order", "product", "plan"))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        serializer = self.get_serializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        for fixed in ("plan", "action", "target_subscription_id"):
            data.pop(fixed, None)
        item = services.order_item_update(actor=request.user, item=item, **data)
        return Response(self.get_serializer(item).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.order_item_remove(actor=request.user, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
