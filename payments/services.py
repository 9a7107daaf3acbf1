"""Every write of payments: methods, account settings, payments, allocations, credits, refunds.

Invoices are settled only through ``billing.settlement`` (billing owns balance and
status). Locks are taken in one order: the payment (or credit invoice) first, then the
invoices it settles, oldest first. Card charges and gateway refunds live in
``payments.cards``; notification plans in ``payments.dunning``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import account_update
from billing.models import OPEN_STATUSES, Invoice, InvoiceKind
from billing.settlement import invoice_apply_amount, invoice_unapply_amount
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import minor_units, quantize
from bss.core.numbering import next_number
from payments.models import (
    MANUAL_PAYMENT_TYPES,
    AccountPaymentSettings,
    Collection,
    CreditApplication,
    NotificationPlan,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    Refund,
    RefundStatus,
)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _amount(value: Any, currency: str, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({field: _("Enter an amount, e.g. 120.50.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: _("An amount is more than zero.")})
    if quantize(amount, currency) != amount:
        raise ValidationError(
            {
                field: _("%(currency)s amounts have at most %(places)d decimals.")
                % {"currency": currency, "places": minor_units(currency)}
            }
        )
    return amount


def payment_payload(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.pk,
        "number": payment.number,
        "account_id": payment.account_id,
        "payment_type": payment.payment_type,
        "status": payment.status,
        "amount": str(quantize(payment.amount, payment.currency)),
        "currency": payment.currency,
        "payment_date": payment.payment_date.isoformat(),
        "invoice_id": payment.invoice_id,
        "failure_message": payment.failure_message,
    }


# ------------------------------------------------------------------------ payment methods


def payment_method_save(
    *,
    actor: Any,
    method: PaymentMethod | None = None,
    number: int,
    description: str,
    payment_days: int | None,
    collection: str,
    charges_before_activation: bool = False,
    notification_plan: NotificationPlan | None = None,
    is_active: bool = True,
) -> PaymentMethod:
    """Create or change a method; new payment days reach every account using it."""
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("A payment method needs a description.")})
    if collection not in Collection.values:
        raise ValidationError({"collection": _("Choose how invoices are collected.")})
    if payment_days is not None and not 0 <= payment_days <= 365:
        raise ValidationError({"payment_days": _("Payment days are 0 to 365.")})
    others = PaymentMethod.objects.exclude(pk=method.pk if method else None)
    if others.filter(number=number).exists():
        raise ValidationError({"number": _("Another payment method has no. %d.") % number})
    if others.filter(description__iexact=description).exists():
        raise ValidationError(
            {"description": _("Another payment method is called %s.") % description}
        )
    with transaction.atomic(), acting_as(actor):
        method = method or PaymentMethod()
        days_changed = method.payment_days != payment_days
        method.number, method.description, method.payment_days = number, description, payment_days
        method.collection = collection
        method.charges_before_activation = charges_before_activation
        method.notification_plan = notification_plan
        method.is_active = is_active
        method.save()
        if days_changed and payment_days is not None:
            for row in AccountPaymentSettings.objects.filter(payment_method=method).select_related(
                "account"
            ):
                _sync_payment_days(actor, row.account, payment_days)
    return method


def _sync_payment_days(actor: Any, account: Account, days: int) -> None:
    """The account's payment terms follow its method's payment days.

    Billing computes every due date from the account's ``payment_days``; a method with
    payment days overrides them by writing them onto the account (through the accounts
    service, so the change is audited). A method without payment days leaves the
    account's own terms as they are.
    """
    if account.payment_days != days:
        account_update(actor=actor, account=account, payment_days=days)


def payment_settings_of(account: Account) -> AccountPaymentSettings:
    found = AccountPaymentSettings.objects.filter(account=account).first()
    return found or AccountPaymentSettings(account=account)


def payment_settings_update(
    *,
    actor: Any,
    account: Account,
    payment_method: PaymentMethod | None,
    auto_charge: bool = False,
) -> AccountPaymentSettings:
    if payment_method is not None and not payment_method.is_active:
        raise ValidationError({"payment_method": _("%s is not active.") % payment_method})
    if auto_charge and (payment_method is None or not payment_method.is_gateway):
        raise ValidationError(
            {"auto_charge": _("Only a method charged through the gateway charges automatically.")}
        )
    with transaction.atomic(), acting_as(actor):
        AccountPaymentSettings.objects.get_or_create(account=account)
        row = AccountPaymentSettings.objects.select_for_update().get(account=account)
        row.payment_method, row.auto_charge = payment_method, auto_charge
        row.save(update_fields=["payment_method", "auto_charge", "updated_at"])
        if payment_method is not None and payment_method.payment_days is not None:
            _sync_payment_days(actor, account, payment_method.payment_days)
        emit_event(
            "account.payment_settings_changed",
            actor=actor,
            aggregate=account,
            payload={
                "account_id": account.pk,
                "payment_method_id": payment_method.pk if payment_method else None,
                "auto_charge": auto_charge,
            },
        )
    return row


def card_details_store(
    *, actor: Any, account: Account, customer_id: str, token: str, brand: str, last4: str
) -> AccountPaymentSettings:
    """Keep the gateway's customer and card token with the card's brand and last 4 only."""
    if last4 and (len(last4) != 4 or not last4.isdigit()):
        raise ValidationError({"card_last4": _("The last 4 digits are 4 digits.")})
    with transaction.atomic(), acting_as(actor):
        AccountPaymentSettings.objects.get_or_create(account=account)
        row = AccountPaymentSettings.objects.select_for_update().get(account=account)
        row.gateway_customer_id, row.gateway_payment_method_id = customer_id, token
        row.card_brand, row.card_last4 = brand[:30], last4
        row.save(
            update_fields=[
                "gateway_customer_id",
                "gateway_payment_method_id",
                "card_brand",
                "card_last4",
                "updated_at",
            ]
        )
    return row


# ------------------------------------------------------------------------------ payments


@dataclass(frozen=True)
class Allocation:
    """Apply ``amount`` of a payment to ``invoice`` (None = as much as the invoice needs)."""

    invoice: Invoice
    amount: Decimal | None = None


def _check_invoice_for(payment: Payment, invoice: Invoice) -> None:
    if invoice.billing_account_id != payment.account_id:
        raise ValidationError({"invoice": _("Invoice %s belongs to another account.") % invoice})
    if invoice.kind != InvoiceKind.DEBIT:
        raise ValidationError(
            {"invoice": _("%s is a credit invoice: payments settle debit invoices.") % invoice}
        )
    if invoice.currency != payment.currency:
        raise ValidationError(
            {
                "invoice": _("Invoice %(number)s is in %(currency)s, the payment in %(paid)s.")
                % {"number": invoice, "currency": invoice.currency, "paid": payment.currency}
            }
        )
    if invoice.status not in OPEN_STATUSES:
        raise ValidationError({"invoice": _("Invoice %s has nothing left to pay.") % invoice})


def _apply_payment(actor: Any, payment: Payment, invoice: Invoice, amount: Decimal) -> Decimal:
    """Settle up to ``amount`` of ``invoice`` from the (locked) payment; return what it took."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    take = min(amount, invoice.balance_due, payment.unapplied_amount)
    if take <= 0:
        return Decimal(0)
    invoice_apply_amount(actor=actor, invoice=invoice, amount=take)
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=take, created_by=_user(actor)
    )
    payment.applied_amount += take
    payment.save(update_fields=["applied_amount", "updated_at"])
    return take


def open_debit_invoices(account: Account, currency: str) -> Any:
    """The account's debit invoices with something to pay, oldest first."""
    return Invoice.objects.filter(
        billing_account=account,
        currency=currency,
        kind=InvoiceKind.DEBIT,
        status__in=OPEN_STATUSES,
        balance_due__gt=0,
    ).order_by("invoice_date", "sequence_number", "pk")


def _allocate(actor: Any, payment: Payment, allocations: Sequence[Allocation] | None) -> Decimal:
    """Apply the locked payment to the chosen invoices, or to the oldest unpaid ones."""
    applied = Decimal(0)
    if allocations:
        asked = Decimal(0)
        for item in allocations:
            _check_invoice_for(payment, item.invoice)
            if item.amount is not None:
                amount = _amount(item.amount, payment.currency)
                if amount > item.invoice.balance_due:
                    raise ValidationError(
                        {
                            "amount": _("Invoice %(number)s has only %(due)s left to pay.")
                            % {
                                "number": item.invoice,
                                "due": quantize(item.invoice.balance_due, payment.currency),
                            }
                        }
                    )
                asked += amount
        if asked > payment.unapplied_amount:
            raise ValidationError(
                {
                    "amount": _(
                        "The allocations add up to %(asked)s, more than the %(free)s unapplied."
                    )
                    % {
                        "asked": quantize(asked, payment.currency),
                        "free": quantize(payment.unapplied_amount, payment.currency),
                    }
                }
            )
        for item in sorted(
            allocations,
            key=lambda a: (a.invoice.invoice_date, a.invoice.sequence_number or 0, a.invoice.pk),
        ):
            wanted = item.amount if item.amount is not None else payment.unapplied_amount
            applied += _apply_payment(actor, payment, item.invoice, wanted)
        return applied
    for invoice in open_debit_invoices(payment.account, payment.currency):
        if payment.unapplied_amount <= 0:
            break
        applied += _apply_payment(actor, payment, invoice, payment.unapplied_amount)
    return applied


def payment_record(
    *,
    actor: Any,
    account: Account,
    payment_type: str,
    amount: Any,
    payment_date: date | None = None,
    currency: str | None = None,
    reference: str = "",
    notes: str = "",
    allocations: Sequence[Allocation] | None = None,
    auto_allocate: bool = True,
) -> Payment:
    """Record a manual payment and settle invoices with it; the rest stays unapplied credit.

    With ``allocations`` the payment settles exactly those invoices; without, the oldest
    unpaid debit invoices of the account in the payment's currency, unless
    ``auto_allocate`` is off.
    """
    if payment_type not in MANUAL_PAYMENT_TYPES:
        raise ValidationError(
            {"payment_type": _("Record cash, deposit, check or bank transfer; cards are charged.")}
        )
    currency = (currency or account.currency).upper()
    amount = _amount(amount, currency)
    payment_date = payment_date or timezone.localdate()
    if payment_date > timezone.localdate():
        raise ValidationError({"payment_date": _("A payment date is not in the future.")})
    with transaction.atomic(), acting_as(actor):
        payment = Payment.objects.create(
            number=next_number("payment", prefix="PAY-"),
            account=account,
            payment_type=payment_type,
            payment_date=payment_date,
            amount=amount,
            currency=currency,
            reference=reference.strip()[:100],
            notes=notes,
            created_by=_user(actor),
        )
        if allocations or auto_allocate:
            _allocate(actor, payment, allocations)
        emit_event(
            "payment.received", actor=actor, aggregate=payment, payload=payment_payload(payment)
        )
    return payment


def payment_allocate(
    *, actor: Any, payment: Payment, allocations: Sequence[Allocation] | None = None
) -> Payment:
    """Apply a payment's unapplied amount to chosen invoices, or the oldest unpaid ones."""
    with transaction.atomic(), acting_as(actor):
        payment = Payment.objects.select_for_update().select_related("account").get(pk=payment.pk)
        if payment.status != PaymentStatus.COMPLETED:
            raise ValidationError(_("Only a completed payment settles invoices."))
        if payment.unapplied_amount <= 0:
            raise ValidationError(_("Payment %s has nothing left to apply.") % payment)
        _allocate(actor, payment, allocations)
    return payment


def _net_allocations(payment: Payment) -> list[tuple[Invoice, Decimal]]:
    """What the payment still settles per invoice, the newest allocation first."""
    rows = (
        PaymentAllocation.objects.filter(payment=payment)
        .values("invoice")
        .annotate(total=Sum("amount"), last=Max("pk"))
        .order_by("-last")
    )
    invoices = Invoice.objects.in_bulk([row["invoice"] for row in rows])
    return [(invoices[row["invoice"]], row["total"]) for row in rows if row["total"] > 0]


def _unapply_payment(actor: Any, payment: Payment, invoice: Invoice, amount: Decimal) -> None:
    invoice_unapply_amount(actor=actor, invoice=invoice, amount=amount)
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=-amount, created_by=_user(actor)
    )
    payment.applied_amount -= amount
    payment.save(update_fields=["applied_amount", "updated_at"])


def payment_unallocate(*, actor: Any, payment: Payment, invoice: Invoice) -> Payment:
    """Take a payment off one invoice; the amount becomes unapplied credit again."""
    with transaction.atomic(), acting_as(actor):
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        settled = {row.pk: amount for row, amount in _net_allocations(payment)}
        if invoice.pk not in settled:
            raise ValidationError(
                {
                    "invoice": _("Payment %(payment)s does not settle %(invoice)s.")
                    % {"payment": payment, "invoice": invoice}
                }
            )
        _unapply_payment(actor, payment, invoice, settled[invoice.pk])
    return payment


def payment_void(*, actor: Any, payment: Payment, reason: str = "") -> Payment:
    """Void a manual payment entered by mistake: its allocations are reversed."""
    with transaction.atomic(), acting_as(actor):
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.COMPLETED:
            raise ValidationError(_("Only a completed payment can be voided."))
        if payment.payment_type == PaymentType.CARD:
            raise ValidationError(_("A card payment is given back with a refund, not voided."))
        if payment.refunded_amount > 0:
            raise ValidationError(_("Payment %s has refunds; it cannot be voided.") % payment)
        for invoice, amount in _net_allocations(payment):
            _unapply_payment(actor, payment, invoice, amount)
        payment.status = PaymentStatus.VOID
        payment.voided_at = timezone.now()
        payment.void_reason = reason.strip()[:300]
        payment.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
        emit_event(
            "payment.voided", actor=actor, aggregate=payment, payload=payment_payload(payment)
        )
    return payment


# ------------------------------------------------------------------------ credit invoices


def credit_unapplied(credit_invoice: Invoice) -> Decimal:
    if credit_invoice.kind != InvoiceKind.CREDIT or credit_invoice.status not in OPEN_STATUSES:
        return Decimal(0)
    return credit_invoice.balance_due


def credit_invoice_apply(
    *, actor: Any, credit_invoice: Invoice, debit_invoice: Invoice, amount: Decimal | None = None
) -> Decimal:
    """Apply an unapplied credit invoice to an open debit invoice of the same account."""
    with transaction.atomic(), acting_as(actor):
        credit = Invoice.objects.select_for_update().get(pk=credit_invoice.pk)
        if credit.kind != InvoiceKind.CREDIT:
            raise ValidationError({"credit_invoice": _("%s is not a credit invoice.") % credit})
        if (
            debit_invoice.billing_account_id != credit.billing_account_id
            or debit_invoice.kind != InvoiceKind.DEBIT
            or debit_invoice.currency != credit.currency
        ):
            raise ValidationError(
                {
                    "debit_invoice": _(
                        "Apply a credit to a debit invoice of the same account and currency."
                    )
                }
            )
        debit = Invoice.objects.get(pk=debit_invoice.pk)
        if debit.status not in OPEN_STATUSES:
            raise ValidationError(
                {"debit_invoice": _("Invoice %s has nothing left to pay.") % debit}
            )
        free = credit_unapplied(credit)
        wanted = free if amount is None else _amount(amount, credit.currency)
        if wanted > free:
            raise ValidationError(
                {
                    "amount": _("Only %s of the credit is unapplied.")
                    % quantize(free, credit.currency)
                }
            )
        take = min(wanted, debit.balance_due)
        if take <= 0:
            return Decimal(0)
        invoice_apply_amount(actor=actor, invoice=credit, amount=take)
        invoice_apply_amount(actor=actor, invoice=debit, amount=take)
        CreditApplication.objects.create(credit_invoice=credit, debit_invoice=debit, amount=take)
    return take


def credit_invoice_apply_auto(*, actor: Any, credit_invoice: Invoice) -> Decimal:
    """A new credit goes to its related debit invoice first, then the oldest unpaid ones."""
    applied = Decimal(0)
    targets: list[Invoice] = []
    if credit_invoice.linked_invoice_id:
        targets.append(Invoice.objects.get(pk=credit_invoice.linked_invoice_id))
    targets += [
        invoice
        for invoice in open_debit_invoices(credit_invoice.billing_account, credit_invoice.currency)
        if invoice.pk != credit_invoice.linked_invoice_id
    ]
    for debit in targets:
        credit_invoice.refresh_from_db(fields=["balance_due", "status"])
        if credit_unapplied(credit_invoice) <= 0:
            break
        if debit.status in OPEN_STATUSES and debit.balance_due > 0:
            applied += credit_invoice_apply(
                actor=actor, credit_invoice=credit_invoice, debit_invoice=debit
            )
    return applied


def account_apply_unapplied(*, actor: Any, account: Account, currency: str) -> Decimal:
    """Settle open debit invoices with the account's unapplied credit invoices, then payments.

    Upcoming payments (kept for a subscription's renewal) wait for their own invoice.
    """
    applied = Decimal(0)
    credits = Invoice.objects.filter(
        billing_account=account,
        currency=currency,
        kind=InvoiceKind.CREDIT,
        status__in=OPEN_STATUSES,
        balance_due__gt=0,
    ).order_by("invoice_date", "sequence_number", "pk")
    for credit in credits:
        for debit in open_debit_invoices(account, currency):
            credit.refresh_from_db(fields=["balance_due", "status"])
            if credit_unapplied(credit) <= 0:
                break
            applied += credit_invoice_apply(actor=actor, credit_invoice=credit, debit_invoice=debit)
    payment_ids = list(
        Payment.objects.filter(
            account=account,
            currency=currency,
            status=PaymentStatus.COMPLETED,
            subscription_id__isnull=True,
            amount__gt=F("applied_amount") + F("refunded_amount"),
        )
        .order_by("payment_date", "pk")
        .values_list("pk", flat=True)
    )
    for payment_id in payment_ids:
        if not open_debit_invoices(account, currency).exists():
            break
        with transaction.atomic(), acting_as(actor):
            payment = (
                Payment.objects.select_for_update().select_related("account").get(pk=payment_id)
            )
            if payment.unapplied_amount > 0:
                applied += _allocate(actor, payment, None)
    return applied


# -------------------------------------------------------------------------------- refunds


def _refund_number() -> str:
    return next_number("refund", prefix="REF-")


def refund_apply(*, actor: Any, refund: Refund) -> Refund:
    """Book a refund that went through: take it from the unapplied amount, then reopen
    invoices the payment settled (newest first) for the rest."""
    with transaction.atomic(), acting_as(actor):
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        if refund.status == RefundStatus.COMPLETED:
            return refund
        remaining = refund.amount - payment.unapplied_amount
        for invoice, settled in _net_allocations(payment):
            if remaining <= 0:
                break
            take = min(settled, remaining)
            _unapply_payment(actor, payment, invoice, take)
            remaining -= take
        payment.refunded_amount += refund.amount
        payment.save(update_fields=["refunded_amount", "updated_at"])
        refund.status = RefundStatus.COMPLETED
        refund.save(update_fields=["status", "updated_at"])
        emit_event(
            "refund.issued",
            actor=actor,
            aggregate=refund,
            payload={
                "refund_id": refund.pk,
                "number": refund.number,
                "payment_id": payment.pk,
                "payment_number": payment.number,
                "account_id": payment.account_id,
                "amount": str(quantize(refund.amount, refund.currency)),
                "currency": refund.currency,
                "via_gateway": refund.via_gateway,
            },
        )
    return refund


def refund_check(payment: Payment, amount: Any) -> Decimal:
    if payment.status != PaymentStatus.COMPLETED:
        raise ValidationError(_("Only a completed payment can be refunded."))
    amount = _amount(amount, payment.currency)
    refundable = payment.amount - payment.refunded_amount
    pending = payment.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)
    if amount > refundable - pending:
        raise ValidationError(
            {
                "amount": _("At most %s of this payment can still be refunded.")
                % quantize(refundable - pending, payment.currency)
            }
        )
    return amount


def refund_record(
    *,
    actor: Any,
    payment: Payment,
    amount: Any,
    refund_date: date | None = None,
    reason: str = "",
    reference: str = "",
) -> Refund:
    """A refund paid out by hand (cash, transfer): booked at once."""
    with transaction.atomic(), acting_as(actor):
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = refund_check(payment, amount)
        refund = Refund.objects.create(
            number=_refund_number(),
            payment=payment,
            amount=amount,
            currency=payment.currency,
            refund_date=refund_date or timezone.localdate(),
            status=RefundStatus.PENDING,
            reason=reason.strip()[:300],
            reference=reference.strip()[:100],
            created_by=_user(actor),
        )
        return refund_apply(actor=actor, refund=refund)
