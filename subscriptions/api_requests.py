"""Customer request API (spec 4.3, 4.5): cancellations, add-on cancellations, downgrades.

``POST /api/v1/subscriptions/{id}/requests/`` records what the customer asked for, on
their behalf (a Storefront or a partner portal); the product type decides whether it
runs at once or waits for a person. Asking and revoking need edit access to the
subscription and the right of the operation asked for: subscriptions.cancel for a
cancellation, subscriptions.upgrade for a downgrade. The queue,
``/api/v1/customer-requests/`` (``?status=pending``), and its approve and reject POSTs
need subscriptions.approve_requests, like the "Pending cancellation requests" page.

A request is handled once: approving, rejecting or revoking one that is no longer
pending answers 400 on ``status`` and changes nothing.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.permissions import user_has_permission
from catalogue.models import ProductPlan
from subscriptions import requests as customer_requests
from subscriptions.models import (
    CustomerRequest,
    CustomerRequestKind,
    CustomerRequestStatus,
    Subscription,
)
from subscriptions.serializers import OperationSerializer, RefundChoiceSerializer
from subscriptions.services import CancelTiming

# ----------------------------------------------------------------------------- shapes


class CustomerRequestSerializer(serializers.ModelSerializer):
    subscription_number = serializers.CharField(source="subscription.number", read_only=True)
    account = serializers.IntegerField(source="subscription.account_id", read_only=True)
    account_name = serializers.CharField(source="subscription.account.name", read_only=True)
    requested_by = serializers.StringRelatedField()
    handled_by = serializers.StringRelatedField()

    class Meta:
        model = CustomerRequest
        fields = [
            "id",
            "subscription",
            "subscription_number",
            "account",
            "account_name",
            "kind",
            "status",
            "timing",
            "requested_date",
            "target_product",
            "target_plan",
            "amount",
            "reason",
            "requested_by",
            "handled_by",
            "handled_at",
            "effective_date",
            "via_storefront",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "amount": {"help_text": "The refund the policy gives (cancellations)."},
            "effective_date": {"help_text": "When the cancellation or downgrade takes effect."},
        }


class RequestSubmitSerializer(OperationSerializer):
    kind = serializers.ChoiceField(choices=CustomerRequestKind.choices)
    timing = serializers.ChoiceField(
        choices=list(CancelTiming.ALL),
        default=CancelTiming.END_OF_PERIOD,
        help_text="Cancellations only; a downgrade always waits for the renewal.",
    )
    cancel_date = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="With timing specific_date."
    )
    target_plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Downgrades: a plan of one of the product's downgrade targets.",
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    via_storefront = serializers.BooleanField(
        default=False, help_text="The customer asked in a self-service portal."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == CustomerRequestKind.DOWNGRADE and attrs["target_plan"] is None:
            raise serializers.ValidationError(
                {"target_plan": _("Choose the plan to downgrade to.")}
            )
        return attrs


class RequestApproveSerializer(RefundChoiceSerializer):
    timing = serializers.ChoiceField(
        choices=list(CancelTiming.ALL),
        required=False,
        allow_null=True,
        default=None,
        help_text="Cancellations: empty = as the customer asked.",
    )
    cancel_date = serializers.DateField(required=False, allow_null=True, default=None)


class RequestRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CustomerRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CustomerRequestStatus.choices)
    kind = django_filters.ChoiceFilter(choices=CustomerRequestKind.choices)
    subscription = django_filters.NumberFilter(field_name="subscription_id")
    account = django_filters.NumberFilter(field_name="subscription__account_id")

    class Meta:
        model = CustomerRequest
        fields: list[str] = []


# ------------------------------------------------------------------------------ rules

KIND_RIGHT = {
    CustomerRequestKind.CANCEL: "cancel",
    CustomerRequestKind.ADDON_CANCEL: "cancel",
    CustomerRequestKind.DOWNGRADE: "upgrade",
}


def _require_kind_right(user: Any, kind: str) -> None:
    if not user_has_permission(user, "subscriptions", KIND_RIGHT[kind]):
        raise PermissionDenied(
            _t("This request needs the subscriptions.%(right)s right.")
            % {"right": KIND_RIGHT[kind]}
        )


def _as_api_fields(error: DjangoValidationError) -> DjangoValidationError:
    """The service names the target product; the API takes the target plan."""
    if hasattr(error, "error_dict") and "target_product" in error.error_dict:
        fields = dict(error.error_dict)
        fields["target_plan"] = fields.pop("target_product")
        return DjangoValidationError(fields)
    return error


# ------------------------------------------------------------------------------ views


class SubscriptionRequestViewSet(VisibleQuerysetMixin, api_views.GenericViewSet):
    """``POST /subscriptions/{id}/requests/``: ask for a cancellation or a downgrade."""

    permission_module = "subscriptions"
    # The right of the operation asked for (cancel or upgrade) is checked per kind.
    permission_actions = {"submit_request": "edit"}
    serializer_class = CustomerRequestSerializer
    http_method_names = ["post", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return self.visible(
            Subscription.objects.select_related("account", "product").order_by("pk")
        )

    @extend_schema(request=RequestSubmitSerializer, responses={201: CustomerRequestSerializer})
    @action(detail=True, methods=["post"], url_path="requests")
    def submit_request(self, request: Request, pk: str | None = None) -> Response:
        """Record the customer's request; it runs at once when the product type says so
        (answer ``status`` executed), else it waits for approval (``status`` pending)."""
        subscription = self.get_object()
        serializer = RequestSubmitSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _require_kind_right(request.user, data["kind"])
        plan = data["target_plan"]
        try:
            found = customer_requests.customer_request_submit(
                actor=request.user,
                subscription=subscription,
                kind=data["kind"],
                timing=data["timing"],
                cancel_date=data["cancel_date"],
                target_product=plan.product if plan is not None else None,
                target_plan=plan,
                reason=data["reason"],
                via_storefront=data["via_storefront"],
                effective_at=data["effective_at"],
            )
        except DjangoValidationError as error:
            raise _as_api_fields(error) from error
        return _answer(found, status.HTTP_201_CREATED)


def _answer(found: CustomerRequest, code: int = status.HTTP_200_OK) -> Response:
    fresh = _requests_with_relations().get(pk=found.pk)
    return Response(CustomerRequestSerializer(fresh).data, status=code)


def _requests_with_relations() -> QuerySet[CustomerRequest]:
    return CustomerRequest.objects.select_related(
        "subscription__account", "requested_by", "handled_by"
    )


class CustomerRequestViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Customer requests of the accounts the user may see; decisions are POSTs on one."""

    permission_module = "subscriptions"
    permission_actions = {
        "list": "approve_requests",
        "retrieve": "approve_requests",
        "approve": "approve_requests",
        "reject": "approve_requests",
        # Revoking is the customer's side, with the right it took to ask (checked per kind).
        "revoke": "edit",
    }
    serializer_class = CustomerRequestSerializer
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_class = CustomerRequestFilter
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[CustomerRequest]:
        return self.visible(_requests_with_relations().order_by("created_at", "pk"))

    @extend_schema(request=RequestApproveSerializer, responses=CustomerRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Carry the request out; cancellations with the timing and refund chosen here."""
        found = self.get_object()
        data = self.validated_body(RequestApproveSerializer)
        is_cancel = found.kind in customer_requests.CANCEL_KINDS
        customer_requests.customer_request_approve(
            actor=request.user,
            request=found,
            timing=data["timing"] if is_cancel else None,
            cancel_date=data["cancel_date"],
            refund=data["refund"],
            custom_refund=data["custom_refund"],
            effective_at=data["effective_at"],
        )
        return _answer(found)

    @extend_schema(request=RequestRejectSerializer, responses=CustomerRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Refuse the request; the subscription stays as it is."""
        found = self.get_object()
        data = self.validated_body(RequestRejectSerializer)
        customer_requests.customer_request_reject(
            actor=request.user, request=found, reason=data["reason"]
        )
        return _answer(found)

    @extend_schema(request=None, responses=CustomerRequestSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """The customer withdraws a request nobody handled yet."""
        found = self.get_object()
        _require_kind_right(request.user, found.kind)
        customer_requests.customer_request_revoke(actor=request.user, request=found)
        return _answer(found)
