"""What payments does when billing issues or settles an invoice (outbox event handlers).

Each handler runs once per event, in the transaction that records its delivery; the
gateway is never called here: a card charge is sent by a task after commit.
"""

from __future__ import annotations

from billing.models import Invoice, InvoiceKind
from bss.core.models import Event
from payments import cards, dunning, services, upcoming


def _invoice(event: Event) -> Invoice | None:
    invoice_id = event.payload.get("invoice_id") or event.aggregate_id
    return Invoice.objects.select_related("billing_account").filter(pk=invoice_id).first()


def on_invoice_issued(event: Event) -> None:
    """Settle a new debit invoice from what the account already paid, then charge the card."""
    invoice = _invoice(event)
    if invoice is None or invoice.kind != InvoiceKind.DEBIT:
        return
    upcoming.apply_to_renewal_invoice(invoice=invoice)
    services.account_apply_unapplied(
        actor=None, account=invoice.billing_account, currency=invoice.currency
    )
    invoice.refresh_from_db()
    cards.charge_on_issue(invoice=invoice)


def on_credit_invoice_issued(event: Event) -> None:
    """A new credit invoice settles its related debit invoice, then the oldest unpaid ones."""
    invoice = _invoice(event)
    if invoice is None or invoice.kind != InvoiceKind.CREDIT:
        return
    services.credit_invoice_apply_auto(actor=None, credit_invoice=invoice)


def on_invoice_paid(event: Event) -> None:
    """Paying the invoice stops its notification plan and resumes what the plan held."""
    invoice = _invoice(event)
    if invoice is None:
        return
    dunning.resume_after_payment(invoice=invoice)
