"""Spec S18: rebate credit invoices at the end of each term, scale and continuous, to the cent."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account, RebateTerm
from accounts.rebates import Tier
from accounts.services import rebate_term_save
from billing.engine import invoice_due_charges
from billing.models import Charge, ChargeKind, Invoice, InvoiceKind
from billing.rebates import last_ended_period, net_invoiced, rebates_due
from billing.services import (
    ChargeInput,
    CreditItem,
    charge_record,
    credit_invoice_create,
    invoice_issue,
)
from tests.billing.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

S18_TIERS = [
    Tier(Decimal("0"), Decimal("10000"), Decimal("3")),
    Tier(Decimal("10000"), Decimal("30000"), Decimal("7")),
]


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture(autouse=True)
def no_pdf_rendering(settings: Any) -> None:
    settings.BILLING_RENDER_PDF_ON_ISSUE = False


def customer() -> Account:
    return CustomerFactory(is_taxable=False, payment_days=10)


def term(admin_user: Any, account: Account, mode: str, **kwargs: Any) -> RebateTerm:
    with time_machine.travel(at(2026, 2, 20, 9), tick=False):
        return rebate_term_save(
            actor=admin_user,
            account=account,
            applies_to=kwargs.pop("applies_to", RebateTerm.AppliesTo.ALL),
            period=kwargs.pop("period", RebateTerm.Period.MONTH),
            mode=mode,
            tiers=S18_TIERS,
            **kwargs,
        )


def invoice(account: Account, day: date, *amounts: str, product: Any = None) -> Invoice:
    """One issued debit invoice dated ``day`` with a one-time line per amount."""
    charge_record(
        actor=None,
        charges=[
            ChargeInput(
                account=account,
                kind=ChargeKind.ONE_TIME,
                description=f"Services {index}",
                period_start=day,
                period_end=date.fromordinal(day.toordinal() + 1),
                amount=Decimal(amount),
                product=product,
                bill_on=day,
            )
            for index, amount in enumerate(amounts)
        ],
    )
    [issued] = invoice_due_charges(actor=None, billing_account=account, up_to=day)
    return issued


def credit(debit: Invoice, amount: str, day: date) -> Invoice:
    draft = credit_invoice_create(
        actor=None,
        debit_invoice=debit,
        items=[CreditItem(line=debit.lines.first(), amount=Decimal(amount))],
        invoice_date=day,
    )
    return invoice_issue(actor=None, invoice=draft, invoice_date=day)


def rebate_invoices(account: Account) -> list[Invoice]:
    return list(
        Invoice.objects.filter(
            billing_account=account, kind=InvoiceKind.CREDIT, charges__kind="rebate_credit"
        ).order_by("pk")
    )


def test_s18_a_month_of_25000_earns_1350_in_scale_and_1750_in_continuous(
    admin_user: Any,
) -> None:
    # given two accounts that each invoiced 26,000.00 and credited 1,000.00 in March
    scale, continuous = customer(), customer()
    term(admin_user, scale, RebateTerm.Mode.SCALE)
    term(admin_user, continuous, RebateTerm.Mode.CONTINUOUS)
    debits = [
        invoice(account, date(2026, 3, 5), "20000.00", "6000.00") for account in (scale, continuous)
    ]
    for debit in debits:
        credit(debit, "1000.00", date(2026, 3, 20))
    for account in (scale, continuous):
        invoice(account, date(2026, 4, 1), "999.00")  # April: not in March's base

    # when the daily job runs on 1 April
    outcomes = rebates_due(today=date(2026, 4, 1))

    # then each account has one rebate credit invoice dated 1 April
    assert sorted((o.base, o.amount) for o in outcomes) == [
        (Decimal("25000.00"), Decimal("1350.00")),
        (Decimal("25000.00"), Decimal("1750.00")),
    ]
    [scale_rebate] = rebate_invoices(scale)
    [continuous_rebate] = rebate_invoices(continuous)
    assert scale_rebate.gross_total == Decimal("1350.00")
    assert continuous_rebate.gross_total == Decimal("1750.00")
    assert scale_rebate.invoice_date == date(2026, 4, 1)
    [line] = scale_rebate.lines.all()
    assert (line.period_start, line.last_day, line.net) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        Decimal("1350.00"),
    )


def test_s18_a_month_of_8000_earns_240_in_both_modes(admin_user: Any) -> None:
    scale, continuous = customer(), customer()
    term(admin_user, scale, RebateTerm.Mode.SCALE)
    term(admin_user, continuous, RebateTerm.Mode.CONTINUOUS)
    for account in (scale, continuous):
        invoice(account, date(2026, 3, 31), "8000.00")
    rebates_due(today=date(2026, 4, 2))
    assert [i.gross_total for i in rebate_invoices(scale)] == [Decimal("240.00")]
    assert [i.gross_total for i in rebate_invoices(continuous)] == [Decimal("240.00")]


def test_the_rebate_of_a_period_is_credited_exactly_once(admin_user: Any) -> None:
    # given
    account = customer()
    term(admin_user, account, RebateTerm.Mode.SCALE)
    invoice(account, date(2026, 3, 5), "25000.00")
    # when the job runs on every day of April
    for day in range(1, 31):
        rebates_due(today=date(2026, 4, day))
    # then one credit of 1,350.00, and its own credit does not lower April's base
    assert [i.gross_total for i in rebate_invoices(account)] == [Decimal("1350.00")]
    assert Charge.objects.filter(account=account, kind=ChargeKind.REBATE_CREDIT).count() == 1
    [april_term] = RebateTerm.objects.filter(account=account)
    assert net_invoiced(april_term, date(2026, 4, 1), date(2026, 5, 1), "EUR") == Decimal("0.00")


def test_a_products_term_counts_only_its_products(admin_user: Any) -> None:
    account = customer()
    exchange, other = ProductFactory(), ProductFactory()
    term(
        admin_user,
        account,
        RebateTerm.Mode.CONTINUOUS,
        applies_to=RebateTerm.AppliesTo.PRODUCTS,
        products=[exchange],
    )
    invoice(account, date(2026, 3, 5), "12000.00", product=exchange)
    invoice(account, date(2026, 3, 6), "50000.00", product=other)
    [outcome] = rebates_due(today=date(2026, 4, 1))
    assert (outcome.base, outcome.amount) == (Decimal("12000.00"), Decimal("840.00"))


def test_periods_are_calendar_months_quarters_halves_and_years() -> None:
    today = date(2026, 7, 1)
    assert last_ended_period(RebateTerm.Period.MONTH, today) == (date(2026, 6, 1), today)
    assert last_ended_period(RebateTerm.Period.QUARTER, today) == (date(2026, 4, 1), today)
    assert last_ended_period(RebateTerm.Period.HALF_YEAR, today) == (date(2026, 1, 1), today)
    assert last_ended_period(RebateTerm.Period.YEAR, today) == (
        date(2025, 1, 1),
        date(2026, 1, 1),
    )
    assert last_ended_period(RebateTerm.Period.MONTH, date(2026, 7, 15)) == (
        date(2026, 6, 1),
        date(2026, 7, 1),
    )
