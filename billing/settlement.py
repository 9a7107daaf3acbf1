"""How money received or given back moves an issued invoice's balance and status.

Payments (a higher app) settle invoices only through these two services, so the
balance due and the status of an invoice stay billing's business: every status change
goes through ``INVOICE_TRANSITIONS``. The same services settle a credit invoice, whose
balance due is the credit not yet applied to debit invoices.

Status after a change of balance:

* nothing left to pay → paid (``invoice.paid`` is emitted when it becomes paid);
* an overdue invoice with something left stays overdue;
* the whole total left → unpaid, part of it → partially paid. A paid invoice whose
  payment is reversed after its due date reopens as unpaid or partially paid, and the
  daily overdue job moves it to overdue again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import INVOICE_TRANSITIONS, OPEN_STATUSES, Invoice, InvoiceStatus
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize

SETTLEABLE_STATUSES = (*OPEN_STATUSES, InvoiceStatus.PAID)


def _status_for(invoice: Invoice, balance: Decimal) -> str:
    if balance == 0:
        return InvoiceStatus.PAID
    if invoice.status == InvoiceStatus.OVERDUE:
        return InvoiceStatus.OVERDUE
    if balance >= invoice.gross_total:
        return InvoiceStatus.UNPAID
    return InvoiceStatus.PARTIALLY_PAID


def _payload(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "billing_account_id": invoice.billing_account_id,
        "account_id": invoice.billing_account_id,
        "currency": invoice.currency,
        "gross_total": str(quantize(invoice.gross_total, invoice.currency)),
        "balance_due": str(quantize(invoice.balance_due, invoice.currency)),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
    }


def _move(*, actor: Any, invoice: Invoice, delta: Decimal) -> Invoice:
    """Change the balance due by ``delta`` (negative = settled) under the invoice's row lock."""
    with transaction.atomic(), acting_as(actor):
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status not in SETTLEABLE_STATUSES:
            raise ValidationError(
                _("Invoice %(number)s is %(status)s: only issued invoices are settled.")
                % {"number": locked, "status": InvoiceStatus(locked.status).label}
            )
        delta = quantize(delta, locked.currency)
        balance = locked.balance_due + delta
        if balance < 0:
            raise ValidationError(
                {
                    "amount": _("Invoice %(number)s has only %(due)s left to settle.")
                    % {"number": locked, "due": quantize(locked.balance_due, locked.currency)}
                }
            )
        if balance > locked.gross_total:
            raise ValidationError(
                {
                    "amount": _("Only %(settled)s of invoice %(number)s is settled.")
                    % {
                        "number": locked,
                        "settled": quantize(
                            locked.gross_total - locked.balance_due, locked.currency
                        ),
                    }
                }
            )
        target = _status_for(locked, balance)
        if target != locked.status and target not in INVOICE_TRANSITIONS[locked.status]:
            raise ValidationError(
                _("An invoice cannot go from %(current)s to %(target)s.")
                % {
                    "current": InvoiceStatus(locked.status).label,
                    "target": InvoiceStatus(target).label,
                }
            )
        became_paid = target == InvoiceStatus.PAID and locked.status != InvoiceStatus.PAID
        locked.balance_due = balance
        locked.status = target
        locked.save(update_fields=["balance_due", "status", "updated_at"])
        if became_paid:
            emit_event("invoice.paid", actor=actor, aggregate=locked, payload=_payload(locked))
    return locked


def invoice_apply_amount(*, actor: Any, invoice: Invoice, amount: Decimal) -> Invoice:
    """Settle ``amount`` of an issued invoice (a payment or a credit applied to it)."""
    if amount <= 0:
        raise ValidationError({"amount": _("An applied amount is more than zero.")})
    return _move(actor=actor, invoice=invoice, delta=-amount)


def invoice_unapply_amount(*, actor: Any, invoice: Invoice, amount: Decimal) -> Invoice:
    """Reopen ``amount`` of an invoice (a voided or refunded payment, a reversed credit)."""
    if amount <= 0:
        raise ValidationError({"amount": _("A reversed amount is more than zero.")})
    return _move(actor=actor, invoice=invoice, delta=amount)
