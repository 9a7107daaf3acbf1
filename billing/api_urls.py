"""Billing endpoints under /api/v1/billing/."""

from rest_framework.routers import SimpleRouter

from billing.api import CreditInvoiceViewSet, InvoiceViewSet

router = SimpleRouter()
router.register("billing/invoices", InvoiceViewSet, basename="invoice")
router.register("billing/credit-invoices", CreditInvoiceViewSet, basename="credit-invoice")

urlpatterns = router.urls
