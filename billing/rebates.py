"""Rebates: at the end of each rebate term a credit invoice for what the period earned.

A rebate term of an account (``accounts.RebateTerm``) runs in calendar periods: months,
quarters, half-years or years. When a period has ended, its base is the net (pre-tax)
amount invoiced to the account in it, by invoice date: the nets of the lines of its
issued debit invoices minus those of its issued credit invoices, over all lines or only
the lines of the term's products. Earlier rebate credits are not part of the base. The
tiers turn the base into the rebate (``accounts.rebates.rebate_amount``, scale or
continuous), and the rebate becomes a REBATE_CREDIT charge keyed by
``(account, "rebate:<term>:<period start>")`` that is invoiced on its own as a credit
invoice. The key makes it exactly once: the daily job, a retry or a second worker find
the charge there and, once it is invoiced, do nothing.

Worked example (spec S18): tiers 0-10,000 at 3 % and 10,000-30,000 at 7 %; a month of
25,000.00 earns 1,350.00 in scale mode (300.00 + 1,050.00) and 1,750.00 in continuous
mode; a month of 8,000.00 earns 240.00 in both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RebateTerm
from accounts.rebates import Tier, rebate_amount
from accounts.selectors import billing_profile
from billing.models import Charge, ChargeKind, InvoiceKind, InvoiceLine, InvoiceStatus
from billing.services import (
    ChargeInput,
    InvoiceHeld,
    charge_record,
    invoice_from_charges,
    invoice_issue,
)
from bss.core.money import quantize

logger = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)
PERIOD_MONTHS = {
    RebateTerm.Period.MONTH: 1,
    RebateTerm.Period.QUARTER: 3,
    RebateTerm.Period.HALF_YEAR: 6,
    RebateTerm.Period.YEAR: 12,
}
NOT_ISSUED = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)


def period_containing(period: str, day: date) -> tuple[date, date]:
    """The calendar period ``[start, end)`` of the term kind that contains ``day``."""
    months = PERIOD_MONTHS[RebateTerm.Period(period)]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    index = day.year * 12 + first_month - 1 + months
    return start, date(index // 12, index % 12 + 1, 1)


def last_ended_period(period: str, today: date) -> tuple[date, date]:
    """The latest period that has ended by ``today`` (its end is on or before today)."""
    start, end = period_containing(period, today - ONE_DAY)
    if end > today:
        start, end = period_containing(period, start - ONE_DAY)
    return start, end


def net_invoiced(term: RebateTerm, start: date, end: date, currency: str) -> Decimal:
    """Debit invoice line nets minus credit invoice line nets, invoiced in ``[start, end)``."""
    lines = InvoiceLine.objects.filter(
        invoice__billing_account_id=term.account_id,
        invoice__currency=currency,
        invoice__invoice_date__gte=start,
        invoice__invoice_date__lt=end,
    ).exclude(invoice__status__in=NOT_ISSUED)
    lines = lines.exclude(Q(charge__kind=ChargeKind.REBATE_CREDIT))
    if term.applies_to == RebateTerm.AppliesTo.PRODUCTS:
        lines = lines.filter(product__in=term.products.all())
    sums = lines.aggregate(
        debit=Sum("net", filter=Q(invoice__kind=InvoiceKind.DEBIT)),
        credit=Sum("net", filter=Q(invoice__kind=InvoiceKind.CREDIT)),
    )
    return quantize((sums["debit"] or Decimal(0)) - (sums["credit"] or Decimal(0)), currency)


@dataclass(frozen=True)
class RebateOutcome:
    term_id: int
    period_start: date
    period_end: date
    base: Decimal
    amount: Decimal
    invoice_id: int | None


def rebate_key(term: RebateTerm, start: date) -> str:
    return f"rebate:{term.pk}:{start.isoformat()}"


def rebate_credit(
    *, actor: Any, term: RebateTerm, period_start: date, today: date | None = None
) -> RebateOutcome:
    """Credit the rebate of one ended period of ``term``, exactly once."""
    today = today or timezone.localdate()
    start, end = period_containing(term.period, period_start)
    if end > today:
        raise ValueError(f"The rebate period {start} to {end} has not ended on {today}.")
    account = term.account
    currency = billing_profile(account).currency
    with transaction.atomic():
        existing = Charge.objects.filter(
            account=account, subscription_id__isnull=True, idempotency_key=rebate_key(term, start)
        ).first()
        base = net_invoiced(term, start, end, currency)
        if existing is not None:
            amount = -existing.amount
        else:
            tiers = [
                Tier(tier.from_amount, tier.to_amount, tier.percent) for tier in term.tiers.all()
            ]
            amount = rebate_amount(base, tiers=tiers, mode=term.mode, currency=currency)
            if amount <= 0:
                return RebateOutcome(term.pk, start, end, base, amount, None)
            [existing] = charge_record(
                actor=actor,
                charges=[
                    ChargeInput(
                        account=account,
                        kind=ChargeKind.REBATE_CREDIT,
                        description=_(
                            "Rebate %(scope)s, %(start)s to %(last)s: %(base)s net invoiced (%(mode)s)"
                        )
                        % {
                            "scope": term.get_applies_to_display(),
                            "start": start.isoformat(),
                            "last": (end - ONE_DAY).isoformat(),
                            "base": base,
                            "mode": term.get_mode_display(),
                        },
                        period_start=start,
                        period_end=end,
                        amount=-amount,
                        quantity=Decimal(1),
                        unit_price=-amount,
                        idempotency_key=rebate_key(term, start),
                        bill_on=end,
                        currency=currency,
                    )
                ],
            )
        invoice_id = existing.invoice_id
        if invoice_id is None:
            draft = invoice_from_charges(
                actor=actor,
                billing_account=existing.billing_account,
                up_to=today,
                currency=existing.currency,
                charge_ids=[existing.pk],
            )
            if draft is not None:
                invoice_id = draft.pk
                try:
                    invoice_issue(actor=actor, invoice=draft, invoice_date=today)
                except InvoiceHeld as reason:
                    logger.info("billing: rebate credit invoice %s held: %s", draft.pk, reason)
    return RebateOutcome(term.pk, start, end, base, amount, invoice_id)


def rebates_due(*, actor: Any = None, today: date | None = None) -> list[RebateOutcome]:
    """The daily job: credit every term's last ended period that is not credited yet.

    Periods that ended before the term was created are not rebated.
    """
    today = today or timezone.localdate()
    outcomes = []
    terms = RebateTerm.objects.select_related("account").prefetch_related("tiers").order_by("pk")
    for term in terms:
        start, end = last_ended_period(term.period, today)
        if end <= timezone.localdate(term.created_at):
            continue
        try:
            outcomes.append(rebate_credit(actor=actor, term=term, period_start=start, today=today))
        except Exception:
            # One account's failure must not stop the others; tomorrow's run retries it.
            logger.exception("billing: rebate of term %s for %s failed", term.pk, start)
    return outcomes


@shared_task(acks_late=True, time_limit=1800)
def credit_due_rebates() -> int:
    """Daily: the rebate credit invoices of every term whose period has ended."""
    return sum(1 for outcome in rebates_due() if outcome.invoice_id is not None)
