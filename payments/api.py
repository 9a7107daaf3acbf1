"""Payments API under /api/v1/payments/: payments (record, allocate, void), refunds, the
statement of account, payment methods, and the gateway's webhook endpoint.

The same services as the pages, and the same visibility: a payment of an account the
user may not see is as absent as a missing one.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.visibility import get_visible_or_404
from payments import cards, selectors, services
from payments.gateways import SIGNATURE_HEADER
from payments.models import (
    GatewayEventStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    Refund,
)
from payments.serializers import (
    AllocateSerializer,
    PaymentCreateSerializer,
    PaymentMethodSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    VoidSerializer,
    statement_data,
)


class PaymentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    payment_type = django_filters.ChoiceFilter(choices=PaymentType.choices)
    account = django_filters.NumberFilter(field_name="account_id")
    payment_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Payment
        fields: list[str] = []


def _allocations(data: dict[str, Any]) -> list[services.Allocation] | None:
    items = data.get("allocations") or []
    return [
        services.Allocation(invoice=item["invoice"], amount=item.get("amount")) for item in items
    ] or None


class PaymentViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Payments with their allocations; POST records a manual payment."""

    permission_module = "payments"
    permission_actions = {"allocate": "edit", "void": "delete"}
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PaymentFilter

    def get_queryset(self) -> QuerySet[Payment]:
        return self.visible(
            Payment.objects.select_related("account").prefetch_related("allocations__invoice")
        ).order_by("-payment_date", "-pk")

    def get_serializer_class(self) -> Any:
        return PaymentCreateSerializer if self.action == "create" else PaymentSerializer

    def _fresh(self, payment: Payment) -> dict[str, Any]:
        fresh = Payment.objects.prefetch_related("allocations__invoice").get(pk=payment.pk)
        return PaymentSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = PaymentCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payment = services.payment_record(
            actor=request.user,
            account=data["account"],
            payment_type=data["payment_type"],
            amount=data["amount"],
            currency=data.get("currency"),
            payment_date=data.get("payment_date"),
            reference=data["reference"],
            notes=data["notes"],
            allocations=_allocations(data),
            auto_allocate=data["auto_allocate"],
        )
        return Response(self._fresh(payment), status=status.HTTP_201_CREATED)

    @extend_schema(request=AllocateSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk: str | None = None) -> Response:
        """Apply the unapplied amount to the given invoices, or to the oldest unpaid ones."""
        serializer = AllocateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        payment = services.payment_allocate(
            actor=request.user,
            payment=self.get_object(),
            allocations=_allocations(serializer.validated_data),
        )
        return Response(self._fresh(payment))

    @extend_schema(request=VoidSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str | None = None) -> Response:
        """Void a manual payment; the invoices it settled open again."""
        serializer = VoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.payment_void(
            actor=request.user,
            payment=self.get_object(),
            reason=serializer.validated_data["reason"],
        )
        return Response(self._fresh(payment))


class RefundViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Refunds; POST refunds a payment by hand or, for a card payment, through the gateway."""

    permission_module = "payments"
    permission_actions = {"create": "refund"}
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = RefundSerializer

    def get_queryset(self) -> QuerySet[Refund]:
        return self.visible(Refund.objects.select_related("payment")).order_by(
            "-refund_date", "-pk"
        )

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = RefundCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["via_gateway"]:
            refund = cards.refund_through_gateway(
                actor=request.user,
                payment=data["payment"],
                amount=data["amount"],
                reason=data["reason"],
            )
        else:
            refund = services.refund_record(
                actor=request.user,
                payment=data["payment"],
                amount=data["amount"],
                refund_date=data.get("refund_date"),
                reason=data["reason"],
                reference=data["reference"],
            )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class PaymentMethodViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """The organization's payment methods (Setup)."""

    permission_module = "payments"
    serializer_class = PaymentMethodSerializer
    queryset = PaymentMethod.objects.order_by("number")


class StatementView(api_views.APIView):
    """The statement of account: invoices, credits, payments and refunds with a running balance."""

    permission_module = "payments"

    @extend_schema(
        parameters=[
            OpenApiParameter("account", int, required=True),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("currency", str),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        from payments.forms import StatementForm

        account_id = request.query_params.get("account", "")
        if not account_id.isdigit():
            raise DRFValidationError({"account": ["Give the account's id, e.g. ?account=12."]})
        account = get_visible_or_404(Account.objects.all(), request.user, pk=int(account_id))
        form = StatementForm(request.query_params)
        if not form.is_valid():
            raise DRFValidationError({name: list(errors) for name, errors in form.errors.items()})
        statement = selectors.statement_of(
            account,
            currency=(form.cleaned_data["currency"] or account.currency).upper(),
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
        )
        return Response(statement_data(statement))


@extend_schema(exclude=True)
class GatewayWebhookView(api_views.APIView):
    """The gateway's webhook: public, trusted only once its signature checks out."""

    bss_public = True
    authentication_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        row = cards.webhook_receive(
            body=request.body, signature=request.headers.get(SIGNATURE_HEADER, "")
        )
        if row.status == GatewayEventStatus.REJECTED:
            return Response({"detail": row.error, "errors": {}}, status=status.HTTP_400_BAD_REQUEST)
        if row.status == GatewayEventStatus.FAILED:
            return Response(
                {"detail": "Processing failed; send it again.", "errors": {}}, status=500
            )
        return Response({"received": True, "status": row.status})
