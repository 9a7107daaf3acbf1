"""Billing endpoints under /api/v1/billing/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import CreditInvoiceViewSet, InvoiceViewSet
from billing.run_api import AccountGenerateInvoicesView, BillingRunViewSet

router = SimpleRouter()
router.register("billing/invoices", InvoiceViewSet, basename="invoice")
router.register("billing/credit-invoices", CreditInvoiceViewSet, basename="credit-invoice")
router.register("billing/runs", BillingRunViewSet, basename="billing-run")

urlpatterns = [
    *router.urls,
    path(
        "billing/accounts/<int:pk>/generate-invoices/",
        AccountGenerateInvoicesView.as_view(),
        name="billing-account-generate-invoices",
    ),
]
