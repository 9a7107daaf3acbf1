"""Subscription API: read subscriptions with their history; each operation a POST on one.

The same services, rights and visibility as the pages: an operation needs the module
right of its dialog and edit access to the subscription's account. A refusal of a
service answers 400 with the field it concerns.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.money import quantize
from subscriptions import services
from subscriptions.models import (
    BillingMethod,
    FutureRequest,
    ProvisioningStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from subscriptions.serializers import (
    CancelSerializer,
    ChangeQuantitySerializer,
    DowngradeSerializer,
    EditPricingSerializer,
    FutureRequestCreateSerializer,
    FutureRequestSerializer,
    OperationSerializer,
    PriceProtectionSerializer,
    RefundPreviewSerializer,
    SubscriptionDetailSerializer,
    SubscriptionSerializer,
    SuspendSerializer,
    UpgradeSerializer,
)
from subscriptions.services import RefundChoice


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    account = django_filters.NumberFilter(field_name="account_id")
    billing_account = django_filters.NumberFilter(field_name="billing_account_id")
    product = django_filters.NumberFilter(field_name="product_id")
    number = django_filters.CharFilter(lookup_expr="iexact")
    term_end = django_filters.DateFromToRangeFilter(label="Next renewal between")
    external_pricing_status = django_filters.CharFilter()
    billing_method = django_filters.ChoiceFilter(choices=BillingMethod.choices)
    provisioning_status = django_filters.ChoiceFilter(choices=ProvisioningStatus.choices)

    class Meta:
        model = Subscription
        fields: list[str] = []


class SubscriptionViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Subscriptions of the accounts the user may see; operations are POSTs on one of them."""

    permission_module = "subscriptions"
    permission_actions = {
        "change_quantity": "change_quantity",
        "edit_pricing": "edit_pricing",
        "cancel": "cancel",
        "revoke_cancellation": "cancel",
        "upgrade": "upgrade",
        "downgrade": "upgrade",
        "renew": "edit",
        "suspend": "suspend",
        "activate": "suspend",
        "reprovision": "edit",
        "price_protection": "price_protection",
        "future_requests": "edit",
        "revoke_future_request": "edit",
    }
    serializer_class = SubscriptionSerializer
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    filterset_class = SubscriptionFilter
    search_fields = ["number", "friendly_name", "account__name"]
    ordering_fields = ["number", "term_end", "created_at", "quantity"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        queryset = Subscription.objects.select_related("account", "product").order_by("-pk")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch(
                    "changes",
                    queryset=SubscriptionChange.objects.select_related("actor").order_by(
                        "-effective_at", "-pk"
                    ),
                ),
                Prefetch(
                    "future_requests",
                    queryset=FutureRequest.objects.select_related("created_by", "revoked_by"),
                ),
            )
        return self.visible(queryset)

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return SubscriptionDetailSerializer
        return SubscriptionSerializer

    def _answer(self, subscription: Subscription, code: int = status.HTTP_200_OK) -> Response:
        fresh = Subscription.objects.select_related("account", "product").get(pk=subscription.pk)
        return Response(
            SubscriptionSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=ChangeQuantitySerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="change-quantity")
    def change_quantity(self, request: Request, pk: str | None = None) -> Response:
        """Set the new total quantity now (prorated), or for the renewal with ``at_renewal``."""
        subscription = self.get_object()
        data = self.validated_body(ChangeQuantitySerializer)
        if data["at_renewal"]:
            services.future_request_create(
                actor=request.user,
                subscription=subscription,
                request_type="quantity",
                renewal_value=str(data["new_quantity"]),
            )
        else:
            services.subscription_change_quantity(
                actor=request.user,
                subscription=subscription,
                new_quantity=data["new_quantity"],
                effective_at=data["effective_at"],
                source="api",
            )
        return self._answer(subscription)

    @extend_schema(request=EditPricingSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="edit-pricing")
    def edit_pricing(self, request: Request, pk: str | None = None) -> Response:
        """Price list, user price and discount for the current cycle (prorated) or the next."""
        subscription = self.get_object()
        data = self.validated_body(EditPricingSerializer)
        services.subscription_edit_pricing(
            actor=request.user,
            subscription=subscription,
            cycle=data["cycle"],
            user_unit_price=data["user_unit_price"],
            clear_user_price=data["clear_user_price"],
            discount_percent=data["discount_percent"],
            price_list=data["price_list"],
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=CancelSerializer, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel now, on a date of this cycle or at the period end; ``preview`` only computes
        the refund (``refund``, ``policy_refund``, ``paid``, ``basis``, ``explanation``)."""
        subscription = self.get_object()
        data = self.validated_body(CancelSerializer)
        if data["preview"]:
            decision = services.cancellation_preview(
                subscription,
                timing=data["timing"],
                cancel_date=data["cancel_date"],
                at=data["effective_at"],
            )
            refund = decision.amount
            if data["refund"] == RefundChoice.NONE:
                refund = 0
            elif data["refund"] == RefundChoice.CUSTOM and data["custom_refund"] is not None:
                refund = data["custom_refund"]
            currency = subscription.currency
            body = RefundPreviewSerializer(
                {
                    "refund": str(quantize(refund, currency)),
                    "policy_refund": str(quantize(decision.amount, currency)),
                    "paid": str(quantize(decision.paid, currency)),
                    "basis": decision.basis,
                    "explanation": decision.explanation,
                }
            ).data
            return Response(body)
        services.subscription_cancel(
            actor=request.user,
            subscription=subscription,
            timing=data["timing"],
            cancel_date=data["cancel_date"],
            refund=data["refund"],
            custom_refund=data["custom_refund"],
            reason=data["reason"],
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=OperationSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="revoke-cancellation")
    def revoke_cancellation(self, request: Request, pk: str | None = None) -> Response:
        """Revoke a cancellation scheduled for the end of the period."""
        subscription = self.get_object()
        data = self.validated_body(OperationSerializer)
        services.subscription_revoke_cancellation(
            actor=request.user,
            subscription=subscription,
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=UpgradeSerializer, responses={201: SubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def upgrade(self, request: Request, pk: str | None = None) -> Response:
        """Move seats to an upgrade target (a new or an existing subscription); answers the target."""
        subscription = self.get_object()
        data = self.validated_body(UpgradeSerializer)
        plan = data["target_plan"]
        target = services.subscription_upgrade(
            actor=request.user,
            subscription=subscription,
            target_product=plan.product,
            target_plan=plan,
            quantity=data["quantity"],
            target_subscription=data["target_subscription"],
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(target, status.HTTP_201_CREATED)

    @extend_schema(request=DowngradeSerializer, responses={201: FutureRequestSerializer})
    @action(detail=True, methods=["post"])
    def downgrade(self, request: Request, pk: str | None = None) -> Response:
        """Schedule a downgrade for the renewal (a future request)."""
        subscription = self.get_object()
        data = self.validated_body(DowngradeSerializer)
        plan = data["target_plan"]
        found = services.subscription_schedule_downgrade(
            actor=request.user,
            subscription=subscription,
            target_product=plan.product,
            target_plan=plan,
        )
        return Response(FutureRequestSerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OperationSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Confirm the renewal of a term in its last billing period."""
        subscription = self.get_object()
        data = self.validated_body(OperationSerializer)
        services.subscription_renew(
            actor=request.user,
            subscription=subscription,
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=SuspendSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        data = self.validated_body(SuspendSerializer)
        services.subscription_suspend(
            actor=request.user,
            subscription=subscription,
            reason=data["reason"],
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=OperationSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Activate a suspended subscription again."""
        subscription = self.get_object()
        data = self.validated_body(OperationSerializer)
        services.subscription_resume(
            actor=request.user,
            subscription=subscription,
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=OperationSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def reprovision(self, request: Request, pk: str | None = None) -> Response:
        """Send a failed subscription to provisioning again, or the vendor-refused action
        (suspend, resume, cancel, change_quantity, expire) of a provisioned one."""
        subscription = self.get_object()
        data = self.validated_body(OperationSerializer)
        services.subscription_reprovision(
            actor=request.user,
            subscription=subscription,
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=PriceProtectionSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="price-protection")
    def price_protection(self, request: Request, pk: str | None = None) -> Response:
        """Protect the price up to ``until`` (exclusive), or lift the protection with null."""
        subscription = self.get_object()
        data = self.validated_body(PriceProtectionSerializer)
        services.subscription_set_price_protection(
            actor=request.user,
            subscription=subscription,
            until=data["until"],
            effective_at=data["effective_at"],
            source="api",
        )
        return self._answer(subscription)

    @extend_schema(request=FutureRequestCreateSerializer, responses={201: FutureRequestSerializer})
    @action(detail=True, methods=["post"], url_path="future-requests")
    def future_requests(self, request: Request, pk: str | None = None) -> Response:
        """Schedule a quantity or term change for the renewal (replaces one of the same type)."""
        subscription = self.get_object()
        data = self.validated_body(FutureRequestCreateSerializer)
        found = services.future_request_create(
            actor=request.user,
            subscription=subscription,
            request_type=data["request_type"],
            renewal_value=data["renewal_value"],
        )
        return Response(FutureRequestSerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=FutureRequestSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"future-requests/(?P<request_pk>\d+)/revoke",
    )
    def revoke_future_request(
        self, request: Request, pk: str | None = None, request_pk: str | None = None
    ) -> Response:
        """Revoke a pending future request of the subscription."""
        subscription = self.get_object()
        found = get_object_or_404(FutureRequest, pk=request_pk, subscription=subscription)
        found = services.future_request_revoke(actor=request.user, request=found)
        return Response(FutureRequestSerializer(found).data)
