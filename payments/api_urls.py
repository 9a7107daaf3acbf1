"""Payments endpoints under /api/v1/payments/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api import (
    GatewayWebhookView,
    PaymentMethodViewSet,
    PaymentViewSet,
    RefundViewSet,
    StatementView,
)

router = SimpleRouter()
router.register("payments/refunds", RefundViewSet, basename="refund")
router.register("payments/methods", PaymentMethodViewSet, basename="payment-method")
router.register("payments", PaymentViewSet, basename="payment")

urlpatterns = [
    path("payments/statement/", StatementView.as_view(), name="payment-statement"),
    path("payments/webhooks/gateway/", GatewayWebhookView.as_view(), name="payment-webhook"),
    *router.urls,
]
