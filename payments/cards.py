"""Card payments through the gateway: stored cards, charges on issue with a retry plan,
gateway refunds, and the webhook inbox.

Every gateway call happens outside a database transaction and is logged in the payment
transactions log. Exactly-once rules:

* A charge attempt's idempotency key is ``bss-invoice-<invoice>-attempt-<n>``. An
  attempt that got no answer stays pending and is sent again with the same key, so the
  gateway returns the first outcome instead of charging twice.
* A payment is unique per gateway payment intent; the charge's answer and the webhook
  reporting the same intent record one payment between them, whichever comes first.
* A webhook delivery is stored raw, then its signature is checked, then its event id is
  claimed (unique) and it is processed; a redelivered event finds its id taken.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from billing.models import OPEN_STATUSES, Invoice, InvoiceKind
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.numbering import next_number
from payments import services
from payments.gateways import (
    ChargeResult,
    Gateway,
    GatewayError,
    GatewayTimeout,
    SignatureInvalid,
    from_minor_units,
    gateway,
)
from payments.models import (
    AccountPaymentSettings,
    ChargeAttempt,
    ChargeAttemptStatus,
    GatewayEvent,
    GatewayEventStatus,
    Payment,
    PaymentStatus,
    PaymentTransaction,
    PaymentType,
    Refund,
    RefundStatus,
    TransactionKind,
    TransactionOutcome,
)

logger = logging.getLogger(__name__)


def _log(**fields: Any) -> PaymentTransaction:
    fields["message"] = (fields.get("message") or "")[:300]
    return PaymentTransaction.objects.create(**fields)


def _is_no_answer(error: GatewayError) -> bool:
    """Timeouts, unreachable gateways and 5xx answers: resend the same request later."""
    return isinstance(error, GatewayTimeout) or (
        not error.reference and (not error.code or error.code.startswith("5"))
    )


# ------------------------------------------------------------------------------- cards


def card_attach(
    *, actor: Any, account: Account, token: str, gw: Gateway | None = None
) -> AccountPaymentSettings:
    """Attach a card token (from the gateway's own form) to the account's gateway customer."""
    token = (token or "").strip()
    if not token:
        raise ValidationError({"token": _("Enter the card token the gateway gave.")})
    gw = gw or gateway()
    row = services.payment_settings_of(account)
    customer_id = row.gateway_customer_id
    if not customer_id:
        try:
            customer_id = gw.create_customer(
                name=account.name,
                email=account.email,
                account_number=account.number,
                key=f"bss-customer-{account.pk}",
            )
        except GatewayError as error:
            _log(
                account=account,
                kind=TransactionKind.CUSTOMER,
                outcome=TransactionOutcome.FAILED,
                message=error.message,
            )
            raise ValidationError({"token": error.message}) from None
        _log(
            account=account,
            kind=TransactionKind.CUSTOMER,
            outcome=TransactionOutcome.SUCCEEDED,
            gateway_reference=customer_id,
        )
    try:
        card = gw.attach_card(
            token=token, customer_id=customer_id, key=f"bss-card-{account.pk}-{token}"
        )
    except GatewayError as error:
        _log(
            account=account,
            kind=TransactionKind.CARD,
            outcome=TransactionOutcome.FAILED,
            message=error.message,
        )
        if customer_id != row.gateway_customer_id:
            services.card_details_store(
                actor=actor,
                account=account,
                customer_id=customer_id,
                token=row.gateway_payment_method_id,
                brand=row.card_brand,
                last4=row.card_last4,
            )
        raise ValidationError({"token": error.message}) from None
    _log(
        account=account,
        kind=TransactionKind.CARD,
        outcome=TransactionOutcome.SUCCEEDED,
        gateway_reference=card.token,
        message=f"{card.brand} •••• {card.last4}",
    )
    return services.card_details_store(
        actor=actor,
        account=account,
        customer_id=customer_id,
        token=card.token,
        brand=card.brand,
        last4=card.last4,
    )


# ----------------------------------------------------------------------------- charges


def attempt_key(invoice: Invoice, attempt: int) -> str:
    return f"bss-invoice-{invoice.pk}-attempt-{attempt}"


def _auto_charge_settings(account_id: int) -> AccountPaymentSettings | None:
    row = (
        AccountPaymentSettings.objects.select_related("payment_method")
        .filter(account_id=account_id)
        .first()
    )
    if row is None or not row.auto_charge or not row.has_card:
        return None
    if row.payment_method is None or not row.payment_method.is_gateway:
        return None
    return row


def charge_attempt_create(
    *, invoice: Invoice, attempt: int, send_at: Any = None
) -> ChargeAttempt | None:
    """The ``attempt``-th charge of the invoice's balance (once: unique per invoice and number)."""
    if invoice.kind != InvoiceKind.DEBIT or invoice.status not in OPEN_STATUSES:
        return None
    if invoice.balance_due <= 0:
        return None
    row, _created = ChargeAttempt.objects.get_or_create(
        invoice=invoice,
        attempt=attempt,
        defaults={
            "idempotency_key": attempt_key(invoice, attempt),
            "amount": invoice.balance_due,
            "currency": invoice.currency,
            "next_try_at": send_at or timezone.now(),
        },
    )
    return row


def charge_on_issue(*, invoice: Invoice) -> ChargeAttempt | None:
    """For an auto-charge account, plan the first charge and send it after commit."""
    if _auto_charge_settings(invoice.billing_account_id) is None:
        return None
    attempt = charge_attempt_create(invoice=invoice, attempt=1)
    if attempt is not None and attempt.status == ChargeAttemptStatus.PENDING:
        attempt_id = attempt.pk
        transaction.on_commit(lambda: _enqueue_send(attempt_id))
    return attempt


def _enqueue_send(attempt_id: int) -> None:
    from payments.tasks import send_charge_attempt

    try:
        send_charge_attempt.delay(attempt_id)
    except Exception as error:
        # The attempt is committed and due; the beat task sends every due attempt.
        logger.warning("payments: charge attempt %s not queued (%s)", attempt_id, error)


def _claim(attempt_id: int, *, force: bool) -> bool:
    """Take a due attempt so two workers never send it at once; it is due again later."""
    now = timezone.now()
    due = ChargeAttempt.objects.filter(pk=attempt_id, status=ChargeAttemptStatus.PENDING)
    if not force:
        due = due.filter(next_try_at__lte=now)
    resend_after = timedelta(minutes=settings.PAYMENTS_CARD_RESEND_MINUTES)
    return bool(due.update(sends=F("sends") + 1, next_try_at=now + resend_after))


def charge_attempt_send(
    *, attempt_id: int, gw: Gateway | None = None, force: bool = False
) -> ChargeAttempt:
    """Send one due attempt to the gateway and record the outcome.

    ``force`` sends a pending attempt before its time (an operator's "retry now");
    without an answer the attempt stays pending and is resent with the same key.
    """
    if not _claim(attempt_id, force=force):
        return ChargeAttempt.objects.get(pk=attempt_id)
    attempt = ChargeAttempt.objects.select_related("invoice__billing_account").get(pk=attempt_id)
    invoice = attempt.invoice
    account = invoice.billing_account
    if invoice.status not in OPEN_STATUSES or invoice.balance_due <= 0:
        ChargeAttempt.objects.filter(pk=attempt.pk, status=ChargeAttemptStatus.PENDING).update(
            status=ChargeAttemptStatus.CANCELED, message=_("The invoice was settled otherwise.")
        )
        attempt.refresh_from_db()
        return attempt
    card = _auto_charge_settings(account.pk) or services.payment_settings_of(account)
    if not card.has_card:
        return card_charge_failed(attempt=attempt, reference="", message=_("No card is stored."))
    gw = gw or gateway()
    try:
        result = gw.charge(
            amount=attempt.amount,
            currency=attempt.currency,
            customer_id=card.gateway_customer_id,
            token=card.gateway_payment_method_id,
            key=attempt.idempotency_key,
            description=_("Invoice %s") % invoice.number,
            metadata={
                "invoice_id": str(invoice.pk),
                "account_id": str(account.pk),
                "attempt_key": attempt.idempotency_key,
            },
        )
    except GatewayError as error:
        if _is_no_answer(error):
            _log(
                account=account,
                kind=TransactionKind.CHARGE,
                outcome=TransactionOutcome.TIMEOUT,
                invoice=invoice,
                amount=attempt.amount,
                currency=attempt.currency,
                idempotency_key=attempt.idempotency_key,
                message=error.message,
            )
            ChargeAttempt.objects.filter(pk=attempt.pk).update(message=error.message[:300])
            attempt.refresh_from_db()
            return attempt
        result = ChargeResult(reference=error.reference, succeeded=False, message=error.message)
    if result.succeeded:
        card_payment_succeeded(
            reference=result.reference,
            account=account,
            invoice=invoice,
            amount=attempt.amount,
            currency=attempt.currency,
            attempt_key=attempt.idempotency_key,
        )
    else:
        card_charge_failed(attempt=attempt, reference=result.reference, message=result.message)
    attempt.refresh_from_db()
    return attempt


def card_payment_succeeded(
    *,
    reference: str,
    account: Account,
    invoice: Invoice | None,
    amount: Decimal,
    currency: str,
    attempt_key: str = "",
    actor: Any = None,
) -> Payment:
    """Record the card payment of a payment intent once, and settle the invoice with it."""
    row = services.payment_settings_of(account)
    with transaction.atomic(), acting_as(actor):
        attempt = (
            ChargeAttempt.objects.select_for_update().filter(idempotency_key=attempt_key).first()
            if attempt_key
            else None
        )
        existing = Payment.objects.select_for_update().filter(gateway_reference=reference).first()
        if existing is not None and existing.status == PaymentStatus.COMPLETED:
            return existing
        if existing is not None:
            # A decline reported first, a success after (e.g. a 3-D Secure completion).
            existing.status = PaymentStatus.COMPLETED
            existing.failure_message = ""
            existing.save(update_fields=["status", "failure_message", "updated_at"])
            payment = existing
        else:
            try:
                with transaction.atomic():
                    payment = Payment.objects.create(
                        number=next_number("payment", prefix="PAY-"),
                        account=account,
                        payment_type=PaymentType.CARD,
                        payment_date=timezone.localdate(),
                        amount=amount,
                        currency=currency,
                        gateway_reference=reference,
                        reference=reference,
                        card_brand=row.card_brand,
                        card_last4=row.card_last4,
                        invoice=invoice,
                    )
            except IntegrityError:
                # The webhook and the charge's answer raced; the other one recorded it.
                return Payment.objects.get(gateway_reference=reference)
        allocations = None
        if invoice is not None and invoice.status in OPEN_STATUSES and invoice.balance_due > 0:
            allocations = [services.Allocation(invoice=invoice)]
        services._allocate(actor, payment, allocations)
        if payment.unapplied_amount > 0:
            services._allocate(actor, payment, None)
        if attempt is not None:
            attempt.status = ChargeAttemptStatus.SUCCEEDED
            attempt.payment = payment
            attempt.gateway_reference = reference
            attempt.message = ""
            attempt.save(
                update_fields=["status", "payment", "gateway_reference", "message", "updated_at"]
            )
        emit_event(
            "payment.received",
            actor=actor,
            aggregate=payment,
            payload=services.payment_payload(payment),
        )
    _log(
        account=account,
        kind=TransactionKind.CHARGE,
        outcome=TransactionOutcome.SUCCEEDED,
        invoice=invoice,
        payment=payment,
        amount=amount,
        currency=currency,
        idempotency_key=attempt_key,
        gateway_reference=reference,
    )
    return payment


def card_charge_failed(*, attempt: ChargeAttempt, reference: str, message: str) -> ChargeAttempt:
    """Record the failed payment, and plan the next attempt by the retry plan."""
    message = (message or _("The card was declined."))[:300]
    with transaction.atomic():
        attempt = (
            ChargeAttempt.objects.select_for_update()
            .select_related("invoice__billing_account")
            .get(pk=attempt.pk)
        )
        if attempt.status != ChargeAttemptStatus.PENDING:
            return attempt
        invoice = attempt.invoice
        account = invoice.billing_account
        row = services.payment_settings_of(account)
        failed = Payment.objects.filter(gateway_reference=reference).first() if reference else None
        if failed is None:
            failed = Payment.objects.create(
                number=next_number("payment", prefix="PAY-"),
                account=account,
                payment_type=PaymentType.CARD,
                status=PaymentStatus.FAILED,
                payment_date=timezone.localdate(),
                amount=attempt.amount,
                currency=attempt.currency,
                gateway_reference=reference,
                reference=reference,
                failure_message=message,
                card_brand=row.card_brand,
                card_last4=row.card_last4,
                invoice=invoice,
            )
        attempt.status = ChargeAttemptStatus.FAILED
        attempt.message = message
        attempt.gateway_reference = reference
        attempt.payment = failed
        attempt.save(
            update_fields=["status", "message", "gateway_reference", "payment", "updated_at"]
        )
        plan = list(settings.PAYMENTS_CARD_RETRY_HOURS)
        next_attempt = None
        if attempt.attempt <= len(plan):
            next_attempt = charge_attempt_create(
                invoice=invoice,
                attempt=attempt.attempt + 1,
                send_at=timezone.now() + timedelta(hours=plan[attempt.attempt - 1]),
            )
        payload = services.payment_payload(failed)
        payload["attempt"] = attempt.attempt
        payload["next_attempt_at"] = (
            next_attempt.next_try_at.isoformat() if next_attempt is not None else None
        )
        emit_event("payment.failed", aggregate=failed, payload=payload)
    _log(
        account=account,
        kind=TransactionKind.CHARGE,
        outcome=TransactionOutcome.FAILED,
        invoice=invoice,
        payment=failed,
        amount=attempt.amount,
        currency=attempt.currency,
        idempotency_key=attempt.idempotency_key,
        gateway_reference=reference,
        message=message,
    )
    return attempt


def due_attempt_ids(now: Any = None) -> list[int]:
    return list(
        ChargeAttempt.objects.filter(
            status=ChargeAttemptStatus.PENDING, next_try_at__lte=now or timezone.now()
        )
        .order_by("next_try_at", "pk")
        .values_list("pk", flat=True)
    )


# ----------------------------------------------------------------------------- refunds


def refund_through_gateway(
    *,
    actor: Any,
    payment: Payment,
    amount: Any,
    reason: str = "",
    gw: Gateway | None = None,
) -> Refund:
    """Refund a card payment at the gateway; booked when the gateway confirms it."""
    if payment.payment_type != PaymentType.CARD or not payment.gateway_reference:
        raise ValidationError(_("Only a card payment is refunded through the gateway."))
    with transaction.atomic(), acting_as(actor):
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        checked = services.refund_check(locked, amount)
        refund = Refund.objects.create(
            number=next_number("refund", prefix="REF-"),
            payment=locked,
            amount=checked,
            currency=locked.currency,
            refund_date=timezone.localdate(),
            status=RefundStatus.PENDING,
            via_gateway=True,
            reason=reason.strip()[:300],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    gw = gw or gateway()
    key = f"bss-refund-{refund.pk}"
    try:
        result = gw.refund(
            payment_reference=payment.gateway_reference,
            amount=refund.amount,
            currency=refund.currency,
            key=key,
        )
    except GatewayError as error:
        outcome = TransactionOutcome.TIMEOUT if _is_no_answer(error) else TransactionOutcome.FAILED
        _log(
            account=payment.account,
            kind=TransactionKind.REFUND,
            outcome=outcome,
            payment=payment,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=key,
            message=error.message,
        )
        if outcome == TransactionOutcome.FAILED:
            Refund.objects.filter(pk=refund.pk).update(
                status=RefundStatus.FAILED, failure_message=error.message[:300]
            )
            raise ValidationError({"amount": error.message}) from None
        refund.refresh_from_db()
        return refund
    _log(
        account=payment.account,
        kind=TransactionKind.REFUND,
        outcome=TransactionOutcome.SUCCEEDED if not result.message else TransactionOutcome.FAILED,
        payment=payment,
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=key,
        gateway_reference=result.reference,
        message=result.message,
    )
    Refund.objects.filter(pk=refund.pk).update(gateway_reference=result.reference)
    if result.succeeded:
        return services.refund_apply(actor=actor, refund=refund)
    if not result.pending:
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.FAILED, failure_message=(result.message or "failed")[:300]
        )
    refund.refresh_from_db()
    return refund


# ---------------------------------------------------------------------------- webhooks


def webhook_receive(*, body: bytes, signature: str, gw: Gateway | None = None) -> GatewayEvent:
    """Store the delivery, verify it, claim its event id, then process it once."""
    gw = gw or gateway()
    row = GatewayEvent.objects.create(
        gateway=gw.name, body=body.decode("utf-8", "replace"), signature=signature[:500]
    )
    try:
        event = gw.verify(body, signature)
    except SignatureInvalid as invalid:
        GatewayEvent.objects.filter(pk=row.pk).update(
            status=GatewayEventStatus.REJECTED, error=str(invalid)[:500]
        )
        row.refresh_from_db()
        return row
    try:
        with transaction.atomic():
            GatewayEvent.objects.filter(pk=row.pk).update(
                event_id=str(event["id"])[:100], event_type=str(event.get("type", ""))[:100]
            )
    except IntegrityError:
        GatewayEvent.objects.filter(pk=row.pk).update(status=GatewayEventStatus.DUPLICATE)
        row.refresh_from_db()
        return row
    try:
        with transaction.atomic():
            handled = _process(event)
            GatewayEvent.objects.filter(pk=row.pk).update(
                status=GatewayEventStatus.PROCESSED if handled else GatewayEventStatus.IGNORED,
                processed_at=timezone.now(),
            )
    except Exception as error:
        logger.exception("payments: webhook event %s failed", event.get("id"))
        # Give the id back, so the gateway's redelivery is processed instead of skipped.
        GatewayEvent.objects.filter(pk=row.pk).update(
            event_id=None, status=GatewayEventStatus.FAILED, error=str(error)[:500]
        )
    row.refresh_from_db()
    return row


def _process(event: dict[str, Any]) -> bool:
    kind = event.get("type", "")
    data = (event.get("data") or {}).get("object") or {}
    metadata = data.get("metadata") or {}
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        account_id = str(metadata.get("account_id", ""))
        if not account_id.isdigit():
            return False
        account = Account.objects.filter(pk=int(account_id)).first()
        if account is None:
            return False
        invoice_id = str(metadata.get("invoice_id", ""))
        invoice = (
            Invoice.objects.filter(pk=int(invoice_id), billing_account=account).first()
            if invoice_id.isdigit()
            else None
        )
        currency = str(data.get("currency", account.currency)).upper()
        if kind == "payment_intent.succeeded":
            card_payment_succeeded(
                reference=str(data["id"]),
                account=account,
                invoice=invoice,
                amount=from_minor_units(
                    int(data.get("amount_received") or data.get("amount") or 0), currency
                ),
                currency=currency,
                attempt_key=str(metadata.get("attempt_key", "")),
            )
            return True
        attempt = ChargeAttempt.objects.filter(
            idempotency_key=str(metadata.get("attempt_key", ""))
        ).first()
        if attempt is None:
            return False
        problem = data.get("last_payment_error") or {}
        card_charge_failed(
            attempt=attempt, reference=str(data["id"]), message=problem.get("message", "")
        )
        return True
    if kind in ("refund.updated", "refund.succeeded", "refund.failed", "charge.refund.updated"):
        refund = Refund.objects.filter(gateway_reference=str(data.get("id", ""))).first()
        if refund is None or refund.status != RefundStatus.PENDING:
            return False
        if data.get("status") == "succeeded":
            services.refund_apply(actor=None, refund=refund)
            return True
        if data.get("status") in ("failed", "canceled"):
            Refund.objects.filter(pk=refund.pk).update(
                status=RefundStatus.FAILED,
                failure_message=str(data.get("failure_reason") or data.get("status"))[:300],
            )
            return True
    return False
