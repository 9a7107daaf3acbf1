"""Billing jobs: invoice PDFs after issue, the daily overdue pass, held invoices retried.

Each task takes ids, re-checks that the work is still due, calls one service and is
safe to run twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing import selectors, services
from billing.models import Invoice, InvoiceStatus
from billing.pdf import render_invoice_pdf as render_pdf

logger = logging.getLogger(__name__)

PDF_TIME_LIMIT = 120
BATCH = 200


@shared_task(acks_late=True, time_limit=PDF_TIME_LIMIT)
def render_invoice_pdf(invoice_id: int) -> str:
    invoice = Invoice.objects.filter(pk=invoice_id).select_related("linked_invoice").first()
    if invoice is None or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return "not issued"
    if invoice.pdf:
        return "already rendered"
    services.invoice_pdf_store(invoice=invoice, content=render_pdf(invoice))
    return "rendered"


@shared_task(acks_late=True, time_limit=1800)
def render_missing_pdfs() -> int:
    """Beat: render the PDFs whose task was lost (broker down at issue time)."""
    rendered = 0
    for invoice_id in list(selectors.invoices_missing_pdf().values_list("pk", flat=True)[:BATCH]):
        if render_invoice_pdf(invoice_id) == "rendered":
            rendered += 1
    return rendered


@shared_task(acks_late=True, time_limit=1800)
def mark_overdue_invoices() -> int:
    """Daily: unpaid debit invoices past their due date become overdue (one event each)."""
    return services.invoices_mark_overdue(actor=None)


@shared_task(acks_late=True, time_limit=1800)
def retry_held_invoices() -> int:
    """Issue the drafts held for a VIES outage once VIES answers again."""
    issued = 0
    # Dated the day it is finally issued: later invoices of the series may exist by now.
    today = timezone.localdate()
    for invoice in selectors.held_invoices()[:BATCH]:
        try:
            services.invoice_issue(actor=None, invoice=invoice, invoice_date=today)
        except services.InvoiceHeld:
            continue
        except ValidationError as error:
            logger.warning("billing: held invoice %s not issued: %s", invoice.pk, error.messages)
            continue
        issued += 1
    return issued


@shared_task(acks_late=True, time_limit=600)
def billing_run_execute(run_id: int) -> str:
    """Start a queued billing run: find the accounts due and queue their chunks."""
    from billing import runs

    return runs.billing_run_execute(run_id)


@shared_task(acks_late=True, time_limit=3600)
def billing_run_chunk(run_id: int, chunk: int) -> int:
    """Bill one chunk of a run's accounts; redelivery skips the accounts already done."""
    from billing import runs

    return runs.billing_run_chunk(run_id, chunk)


@shared_task(acks_late=True, time_limit=600)
def start_daily_billing_run() -> str:
    """Beat: today's billing run (skipped while one for today is still running)."""
    from billing import runs

    today = timezone.localdate()
    if runs.active_run(today) is not None:
        return "already running"
    run = runs.billing_run_start(actor=None, run_date=today)
    return f"run {run.pk}"
