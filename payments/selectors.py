"""Reads of payments: account balance, unapplied credit, statement of account, ageing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet, Sum
from django.utils.translation import gettext as _

from accounts.models import Account
from billing.models import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from bss.core.money import quantize
from bss.core.visibility import visible_records
from payments.models import Payment, PaymentStatus, Refund, RefundStatus

ZERO = Decimal(0)
ISSUED_STATUSES = (*OPEN_STATUSES, InvoiceStatus.PAID)


def _sum(queryset: QuerySet, field_name: str) -> Decimal:
    return queryset.aggregate(total=Sum(field_name))["total"] or ZERO


def issued_invoices(account: Account, currency: str) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        billing_account=account, currency=currency, status__in=ISSUED_STATUSES
    )


def completed_payments(account: Account, currency: str) -> QuerySet[Payment]:
    return Payment.objects.filter(
        account=account, currency=currency, status=PaymentStatus.COMPLETED
    )


def completed_refunds(account: Account, currency: str) -> QuerySet[Refund]:
    return Refund.objects.filter(
        payment__account=account, currency=currency, status=RefundStatus.COMPLETED
    )


def account_balance(account: Account, currency: str | None = None) -> Decimal:
    """Debit invoices - credit invoices - payments + refunds (spec §9.3), in one currency.

    Negative = the customer has credit with us. It equals the open debit balances less
    unapplied credit invoices and unapplied payments, since every settlement moves both.
    """
    currency = currency or account.currency
    invoices = issued_invoices(account, currency)
    debits = _sum(invoices.filter(kind=InvoiceKind.DEBIT), "gross_total")
    credits = _sum(invoices.filter(kind=InvoiceKind.CREDIT), "gross_total")
    paid = _sum(completed_payments(account, currency), "amount")
    refunded = _sum(completed_refunds(account, currency), "amount")
    return quantize(debits - credits - paid + refunded, currency)


def unapplied_payments(account: Account, currency: str | None = None) -> Decimal:
    """Money received and not yet settling an invoice (available credit counts it)."""
    currency = currency or account.currency
    return _sum(
        completed_payments(account, currency).annotate(
            free=F("amount") - F("applied_amount") - F("refunded_amount")
        ),
        "free",
    )


# ------------------------------------------------------------------------------ statement


@dataclass(frozen=True)
class StatementLine:
    day: date
    kind: str
    label: Any
    number: str
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    url: str = ""


@dataclass
class Statement:
    account: Account
    currency: str
    start: date | None
    end: date | None
    opening: Decimal
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


# Same-day order: what is billed first, then what settles it.
_KIND_ORDER = {"invoice": 0, "credit_invoice": 1, "payment": 2, "refund": 3}


def statement_of(
    account: Account,
    *,
    currency: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Statement:
    """Debit and credit invoices, payments and refunds by date with a running balance.

    Lines before ``start`` are summed into the opening balance; ``end`` is inclusive.
    """
    currency = currency or account.currency
    entries: list[tuple[date, int, int, str, Any, str, str, Decimal, Decimal, str]] = []
    for invoice in issued_invoices(account, currency).order_by("invoice_date", "pk"):
        assert invoice.invoice_date is not None
        if invoice.kind == InvoiceKind.DEBIT:
            entries.append(
                (
                    invoice.invoice_date,
                    0,
                    invoice.pk,
                    "invoice",
                    _("Invoice"),
                    invoice.number or "",
                    _("Due %s") % invoice.due_date.isoformat() if invoice.due_date else "",
                    invoice.gross_total,
                    ZERO,
                    invoice.get_absolute_url(),
                )
            )
        else:
            entries.append(
                (
                    invoice.invoice_date,
                    1,
                    invoice.pk,
                    "credit_invoice",
                    _("Credit invoice"),
                    invoice.number or "",
                    "",
                    ZERO,
                    invoice.gross_total,
                    invoice.get_absolute_url(),
                )
            )
    for payment in completed_payments(account, currency).order_by("payment_date", "pk"):
        entries.append(
            (
                payment.payment_date,
                2,
                payment.pk,
                "payment",
                _("Payment"),
                payment.number,
                " ".join(p for p in (payment.get_payment_type_display(), payment.reference) if p),
                ZERO,
                payment.amount,
                payment.get_absolute_url(),
            )
        )
    for refund in (
        completed_refunds(account, currency).select_related("payment").order_by("refund_date", "pk")
    ):
        entries.append(
            (
                refund.refund_date,
                3,
                refund.pk,
                "refund",
                _("Refund"),
                refund.number,
                _("of %s") % refund.payment.number,
                refund.amount,
                ZERO,
                refund.payment.get_absolute_url(),
            )
        )
    entries.sort(key=lambda entry: (entry[0], entry[1], entry[2]))
    opening = ZERO
    statement = Statement(account=account, currency=currency, start=start, end=end, opening=ZERO)
    balance = ZERO
    for day, _order, _pk, kind, label, number, description, debit, credit, url in entries:
        if end is not None and day > end:
            break
        if start is not None and day < start:
            opening += debit - credit
            balance = opening
            continue
        balance += debit - credit
        statement.lines.append(
            StatementLine(day, kind, label, number, description, debit, credit, balance, url)
        )
    statement.opening = opening
    return statement


# ---------------------------------------------------------------------------------- ageing

AGEING_BUCKETS = [
    ("current", _("Current"), None, 0),
    ("1_30", "1-30", 1, 30),
    ("31_60", "31-60", 31, 60),
    ("61_90", "61-90", 61, 90),
    ("90_plus", "90+", 91, None),
]


def ageing_bucket(days_overdue: int) -> str:
    for key, _label, low, high in AGEING_BUCKETS:
        if (low is None or days_overdue >= low) and (high is None or days_overdue <= high):
            return key
    return "current"


def days_overdue(invoice: Invoice, today: date) -> int:
    if invoice.due_date is None or invoice.due_date >= today:
        return 0
    return (today - invoice.due_date).days


def bucket_due_dates(bucket: str, today: date) -> dict[str, date]:
    """The due-date filter of one ageing bucket (e.g. 1-30 = due 1 to 30 days ago)."""
    for key, _label, low, high in AGEING_BUCKETS:
        if key != bucket:
            continue
        if low is None:
            return {"due_date__gte": today}
        condition = {"due_date__lte": today - timedelta(days=low)}
        if high is not None:
            condition["due_date__gte"] = today - timedelta(days=high)
        return condition
    raise ValueError(f"unknown ageing bucket {bucket!r}")


def open_debit_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        kind=InvoiceKind.DEBIT, status__in=OPEN_STATUSES, balance_due__gt=0
    ).select_related("billing_account")


def ageing_totals(invoices: QuerySet[Invoice], today: date) -> dict[tuple[str, str], Decimal]:
    """Balance due per (currency, bucket) of the given open invoices."""
    totals: dict[tuple[str, str], Decimal] = {}
    rows = invoices.order_by().values("currency", "due_date").annotate(total=Sum("balance_due"))
    for row in rows:
        days = max((today - row["due_date"]).days, 0) if row["due_date"] else 0
        key = (row["currency"], ageing_bucket(days))
        totals[key] = totals.get(key, ZERO) + (row["total"] or ZERO)
    return totals


def visible_payments(user: Any) -> QuerySet[Payment]:
    return visible_records(Payment.objects.select_related("account"), user)
