"""Reads of billing that pages, the API, tasks and other apps share."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Account
from billing.models import (
    OPEN_STATUSES,
    Charge,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    VatNumberCheck,
)
from bss.core.visibility import visible_records
from bss.setup.currencies.selectors import currency_by_code

DEFAULT_VAT_CHECK_MAX_AGE_DAYS = 30


def invoice_list() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("billing_account", "series")


def invoice_with_details() -> QuerySet[Invoice]:
    return Invoice.objects.select_related(
        "billing_account", "series", "linked_invoice", "issued_by"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=InvoiceLine.objects.select_related(
                "product", "credited_line__invoice"
            ).order_by("position", "pk"),
        ),
        "tax_lines",
    )


def credit_invoices_of(invoice: Invoice) -> QuerySet[Invoice]:
    return invoice.credit_invoices.exclude(status=InvoiceStatus.VOID).order_by("pk")


def visible_invoices(user: Any) -> QuerySet[Invoice]:
    return visible_records(invoice_list(), user)


def uninvoiced_charges(*, billing_account: Account, currency: str, up_to: date) -> QuerySet[Charge]:
    return Charge.objects.filter(
        billing_account=billing_account, currency=currency, invoice__isnull=True, bill_on__lte=up_to
    )


def pending_charges(billing_account: Account) -> QuerySet[Charge]:
    """Charges waiting for an invoice, with the day each is planned to be invoiced."""
    return (
        Charge.objects.filter(billing_account=billing_account, invoice__isnull=True)
        .select_related("product")
        .order_by("bill_on", "subscription_id", "period_start", "pk")
    )


def oldest_unpaid_debit_invoice(billing_account: Account) -> Invoice | None:
    return (
        Invoice.objects.filter(
            billing_account=billing_account, kind=InvoiceKind.DEBIT, status__in=OPEN_STATUSES
        )
        .order_by("invoice_date", "sequence_number", "pk")
        .first()
    )


def credited_so_far(line: InvoiceLine) -> Decimal:
    """What credit invoices (drafts included, voided ones not) already give back on a line."""
    total = (
        InvoiceLine.objects.filter(credited_line=line)
        .exclude(invoice__status=InvoiceStatus.VOID)
        .aggregate(total=Sum("net"))["total"]
    )
    return total or Decimal(0)


def latest_vat_check(vat_number: str) -> VatNumberCheck | None:
    return (
        VatNumberCheck.objects.filter(vat_number=vat_number.upper())
        .order_by("-checked_at", "-pk")
        .first()
    )


def fresh_vat_check(vat_number: str) -> VatNumberCheck | None:
    """The latest definite answer (valid or invalid) young enough to be trusted."""
    days = int(getattr(settings, "BILLING_VAT_CHECK_MAX_AGE_DAYS", DEFAULT_VAT_CHECK_MAX_AGE_DAYS))
    latest = latest_vat_check(vat_number)
    if latest is None or latest.status not in ("valid", "invalid"):
        return None
    if latest.checked_at < timezone.now() - timedelta(days=days):
        return None
    return latest


def currency_culture(code: str) -> str:
    """The Babel locale amounts in ``code`` are shown in (the currency's display culture)."""
    currency = currency_by_code(code)
    return currency.culture if currency is not None and currency.culture else "en_US"


def overdue_candidates(today: date) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        kind=InvoiceKind.DEBIT,
        status__in=[InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID],
        due_date__lt=today,
        balance_due__gt=0,
    ).order_by("pk")


def held_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.filter(status=InvoiceStatus.DRAFT).exclude(hold_reason="").order_by("pk")


def invoices_missing_pdf() -> QuerySet[Invoice]:
    return (
        Invoice.objects.exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
        .filter(Q(pdf="") | Q(pdf__isnull=True))
        .order_by("pk")
    )


# --------------------------------------------------------------------- account figures


def overdue_amount(account: Account) -> Decimal:
    total = Invoice.objects.filter(
        billing_account=account,
        currency=account.currency,
        kind=InvoiceKind.DEBIT,
        status=InvoiceStatus.OVERDUE,
    ).aggregate(total=Sum("balance_due"))["total"]
    return total or Decimal(0)


def unpaid_debits(account: Account) -> Decimal:
    total = Invoice.objects.filter(
        billing_account=account,
        currency=account.currency,
        kind=InvoiceKind.DEBIT,
        status__in=OPEN_STATUSES,
    ).aggregate(total=Sum("balance_due"))["total"]
    return total or Decimal(0)


def unapplied_credits(account: Account) -> Decimal:
    total = Invoice.objects.filter(
        billing_account=account,
        currency=account.currency,
        kind=InvoiceKind.CREDIT,
        status__in=OPEN_STATUSES,
    ).aggregate(total=Sum("balance_due"))["total"]
    return total or Decimal(0)
