"""Upcoming payments (spec §4.7): paid ahead for a subscription's next renewal.

The payment is stored unapplied with the subscription and its renewal date, and is
applied automatically to the renewal invoice when billing issues it (the invoice line
carries the subscription).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from billing.models import Invoice
from payments import services
from payments.models import Payment, PaymentStatus


def apply_to_renewal_invoice(*, invoice: Invoice) -> Decimal:
    """Apply waiting upcoming payments of the invoice's subscriptions to it."""
    subscription_ids = set(
        invoice.lines.exclude(subscription_id=None).values_list("subscription_id", flat=True)
    )
    if not subscription_ids:
        return Decimal(0)
    waiting = Payment.objects.filter(
        account_id=invoice.billing_account_id,
        currency=invoice.currency,
        status=PaymentStatus.COMPLETED,
        subscription_id__in=subscription_ids,
        amount__gt=F("applied_amount") + F("refunded_amount"),
    ).order_by("payment_date", "pk")
    applied = Decimal(0)
    for payment_id in list(waiting.values_list("pk", flat=True)):
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update().select_related("account").get(pk=payment_id)
            )
            invoice.refresh_from_db(fields=["status", "balance_due"])
            if payment.unapplied_amount <= 0 or invoice.balance_due <= 0:
                continue
            applied += services._allocate(None, payment, [services.Allocation(invoice=invoice)])
    return applied
