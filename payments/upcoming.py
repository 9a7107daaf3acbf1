"""Upcoming payments (spec §4.7): paid ahead for a subscription's next renewal.

Rules: cash, deposit or check only; only prepaid, auto-renewing subscriptions that are
active or suspended; once per renewal (a unique constraint on the subscription and its
renewal date); only users who may add payments. The payment is stored unapplied with
the subscription and its renewal date, and is applied to the renewal invoice when
billing issues it (the invoice line of that subscription starting on that date).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.numbering import next_number
from bss.core.permissions import user_has_permission
from payments import services
from payments.models import Payment, PaymentStatus, PaymentType
from subscriptions.models import BillingMethod, Subscription, SubscriptionStatus

UPCOMING_PAYMENT_TYPES = (PaymentType.CASH, PaymentType.DEPOSIT, PaymentType.CHECK)


def check_eligible(subscription: Subscription) -> None:
    if subscription.billing_method != BillingMethod.PREPAID:
        raise ValidationError(
            {"subscription": _("Only prepaid subscriptions take upcoming payments.")}
        )
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
        raise ValidationError(
            {"subscription": _("Only active or suspended subscriptions take upcoming payments.")}
        )
    if not subscription.auto_renew:
        raise ValidationError({"subscription": _("The subscription does not renew automatically.")})


def upcoming_payment_record(
    *,
    actor: Any,
    subscription: Subscription,
    payment_type: str,
    amount: Any,
    payment_date: date | None = None,
    reference: str = "",
) -> Payment:
    """A payment kept for the subscription's next renewal invoice."""
    if actor is not None and not user_has_permission(actor, "payments", "create"):
        raise PermissionDenied("You need the permission payments.create.")
    if payment_type not in UPCOMING_PAYMENT_TYPES:
        raise ValidationError({"payment_type": _("An upcoming payment is cash, deposit or check.")})
    check_eligible(subscription)
    currency = subscription.currency
    amount = services._amount(amount, currency)
    renewal = subscription.term_end
    taken = Payment.objects.filter(subscription_id=subscription.pk, renewal_date=renewal).exclude(
        status=PaymentStatus.VOID
    )
    if taken.exists():
        raise ValidationError(
            {
                "subscription": _("The renewal on %s already has an upcoming payment.")
                % renewal.isoformat()
            }
        )
    try:
        with transaction.atomic(), acting_as(actor):
            payment = Payment.objects.create(
                number=next_number("payment", prefix="PAY-"),
                account_id=subscription.billing_account_id,
                payment_type=payment_type,
                payment_date=payment_date or timezone.localdate(),
                amount=amount,
                currency=currency,
                reference=reference.strip()[:100],
                subscription_id=subscription.pk,
                renewal_date=renewal,
                created_by=services._user(actor),
            )
            payload = services.payment_payload(payment)
            payload.update(
                {"subscription_id": subscription.pk, "renewal_date": renewal.isoformat()}
            )
            emit_event("payment.received", actor=actor, aggregate=payment, payload=payload)
    except IntegrityError:
        raise ValidationError(
            {
                "subscription": _("The renewal on %s already has an upcoming payment.")
                % renewal.isoformat()
            }
        ) from None
    return payment


def apply_to_renewal_invoice(*, invoice: Invoice) -> Decimal:
    """Apply waiting upcoming payments to the invoice that bills their renewal."""
    renewals = set(
        invoice.lines.exclude(subscription_id=None).values_list("subscription_id", "period_start")
    )
    if not renewals:
        return Decimal(0)
    waiting = Payment.objects.filter(
        account_id=invoice.billing_account_id,
        currency=invoice.currency,
        status=PaymentStatus.COMPLETED,
        subscription_id__in={subscription_id for subscription_id, _start in renewals},
        amount__gt=F("applied_amount") + F("refunded_amount"),
    ).order_by("payment_date", "pk")
    applied = Decimal(0)
    for payment_id, subscription_id, renewal_date in list(
        waiting.values_list("pk", "subscription_id", "renewal_date")
    ):
        if (subscription_id, renewal_date) not in renewals:
            continue
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update().select_related("account").get(pk=payment_id)
            )
            invoice.refresh_from_db(fields=["status", "balance_due"])
            if payment.unapplied_amount <= 0 or invoice.balance_due <= 0:
                continue
            applied += services._allocate(None, payment, [services.Allocation(invoice=invoice)])
    return applied
