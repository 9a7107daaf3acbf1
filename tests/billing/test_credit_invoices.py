"""Manual credit invoices: items of a debit invoice, partial periods, the whole total, links."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Tax
from billing.services import CreditItem
from billing.taxes import REVERSE_CHARGE_NOTE, OfflineVatChecker
from bss.core.models import Event
from tests.billing.factories import CustomerFactory
from tests.billing.helpers import charge, issued_invoice

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def july_invoice(eu_vat: None) -> Invoice:
    """A debit invoice of July: 31 days of a 31.00 service and a 60.00 one-time setup."""
    account = CustomerFactory()
    return issued_invoice(
        account,
        charge(account, "31.00", quantity="10", unit_price="3.1", description="Suite, 10 seats"),
        charge(account, "60.00", description="Onboarding", end=date(2026, 7, 2)),
        on=date(2026, 7, 1),
    )


def suite_line(invoice: Invoice) -> InvoiceLine:
    return invoice.lines.get(description="Suite, 10 seats")


def money_of(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    invoice.refresh_from_db()
    return invoice.net_total, invoice.tax_total, invoice.gross_total


def test_crediting_the_last_15_days_of_a_line_prorates_by_days(july_invoice: Invoice) -> None:
    # when: 17 July up to the end of the period
    credit = services.credit_invoice_create(
        actor=None,
        debit_invoice=july_invoice,
        items=[
            CreditItem(
                line=suite_line(july_invoice),
                period_start=date(2026, 7, 17),
                period_end=date(2026, 8, 1),
            )
        ],
    )
    services.invoice_issue(actor=None, invoice=credit, invoice_date=date(2026, 7, 20))

    # then: 31.00 * 15/31 = 15.00, plus 24 % VAT = 3.60
    credit.refresh_from_db()
    line = credit.lines.get()
    assert (line.period_start, line.period_end, line.net) == (
        date(2026, 7, 17),
        date(2026, 8, 1),
        D("15.00"),
    )
    assert money_of(credit) == (D("15.00"), D("3.60"), D("18.60"))
    assert credit.kind == InvoiceKind.CREDIT
    assert credit.number == "CN-2026-000001"
    assert credit.linked_invoice == july_invoice
    assert Event.objects.filter(name="credit_invoice.issued").count() == 1


def test_a_period_outside_the_invoiced_one_is_an_invalid_billing_period(
    july_invoice: Invoice,
) -> None:
    line = suite_line(july_invoice)
    for start, end in [
        (date(2026, 6, 30), date(2026, 7, 10)),
        (date(2026, 7, 10), date(2026, 8, 2)),
        (date(2026, 7, 10), date(2026, 7, 10)),
    ]:
        with pytest.raises(ValidationError, match="Invalid billing period"):
            services.credit_invoice_create(
                actor=None,
                debit_invoice=july_invoice,
                items=[CreditItem(line=line, period_start=start, period_end=end)],
            )
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT).exists()


def test_a_credit_by_quantity_and_an_explicit_amount(july_invoice: Invoice) -> None:
    credit = services.credit_invoice_create(
        actor=None,
        debit_invoice=july_invoice,
        items=[
            CreditItem(line=suite_line(july_invoice), quantity=D("4")),
            CreditItem(line=july_invoice.lines.get(description="Onboarding"), amount=D("20")),
        ],
    )
    # 4 of 10 seats: 31.00 * 4/10 = 12.40; plus 20.00; VAT 24 % of 32.40 = 7.776 → 7.78
    assert [(line.quantity, line.net) for line in credit.lines.order_by("position")] == [
        (D("4"), D("12.40")),
        (D("1"), D("20.00")),
    ]
    assert money_of(credit) == (D("32.40"), D("7.78"), D("40.18"))


def test_what_is_credited_never_exceeds_what_was_billed(july_invoice: Invoice) -> None:
    line = suite_line(july_invoice)
    services.credit_invoice_create(
        actor=None, debit_invoice=july_invoice, items=[CreditItem(line=line, amount=D("30"))]
    )

    with pytest.raises(ValidationError, match=r"more than the 1\.00 still creditable"):
        services.credit_invoice_create(
            actor=None, debit_invoice=july_invoice, items=[CreditItem(line=line, amount=D("2"))]
        )
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT).count() == 1


def test_crediting_the_whole_total_mirrors_the_debit_invoice(july_invoice: Invoice) -> None:
    credit = services.credit_invoice_create(
        actor=None, debit_invoice=july_invoice, credit_whole=True
    )
    services.invoice_issue(actor=None, invoice=credit, invoice_date=date(2026, 7, 2))

    assert money_of(credit) == money_of(july_invoice) == (D("91.00"), D("21.84"), D("112.84"))
    with pytest.raises(ValidationError, match="nothing left to credit in full"):
        services.credit_invoice_create(actor=None, debit_invoice=july_invoice, credit_whole=True)


def test_a_credit_links_to_the_oldest_unpaid_debit_invoice_or_the_one_chosen(
    eu_vat: None,
) -> None:
    account = CustomerFactory()
    older = issued_invoice(account, charge(account, "10.00"), on=date(2026, 7, 1))
    newer = issued_invoice(account, charge(account, "20.00"), on=date(2026, 7, 5))

    automatic = services.credit_invoice_create(
        actor=None, debit_invoice=newer, items=[CreditItem(line=newer.lines.get(), amount=D("5"))]
    )
    chosen = services.credit_invoice_create(
        actor=None,
        debit_invoice=newer,
        items=[CreditItem(line=newer.lines.get(), amount=D("5"))],
        linked_invoice=newer,
    )
    services.credit_invoice_link(actor=None, invoice=automatic, linked_invoice=newer)

    assert chosen.linked_invoice == newer
    automatic.refresh_from_db()
    assert automatic.linked_invoice == newer
    assert older.credit_invoices.count() == 0


def test_a_credit_of_a_reverse_charged_invoice_stays_reverse_charged(eu_vat: None) -> None:
    account = CustomerFactory(country="DE", vat_number="DE123456789")
    debit = issued_invoice(account, charge(account, "60.00"), vat_checker=OfflineVatChecker())

    credit = services.credit_invoice_create(actor=None, debit_invoice=debit, credit_whole=True)
    services.invoice_issue(actor=None, invoice=credit, invoice_date=date(2026, 7, 1))

    credit.refresh_from_db()
    assert money_of(credit) == (D("60.00"), D("0"), D("60.00"))
    assert credit.is_reverse_charge
    assert credit.tax_note == str(REVERSE_CHARGE_NOTE)


def test_a_credit_keeps_the_tax_rate_of_the_line_it_credits(july_invoice: Invoice) -> None:
    # given: Greek VAT rises after the debit invoice was issued

    Tax.objects.filter(code="VAT-GR").update(rate=D("25"))

    credit = services.credit_invoice_create(
        actor=None, debit_invoice=july_invoice, items=[CreditItem(line=suite_line(july_invoice))]
    )

    # then: credited at the 24 % it was billed at
    assert money_of(credit) == (D("31.00"), D("7.44"), D("38.44"))


def test_credits_come_only_from_issued_debit_invoices(eu_vat: None) -> None:
    account = CustomerFactory()
    debit = issued_invoice(account, charge(account, "10.00"))
    credit = services.credit_invoice_create(actor=None, debit_invoice=debit, credit_whole=True)

    with pytest.raises(ValidationError, match="issued debit invoices"):
        services.credit_invoice_create(actor=None, debit_invoice=credit, credit_whole=True)
    other_line = issued_invoice(account, charge(account, "5.00"), on=date(2026, 7, 2)).lines.get()
    with pytest.raises(ValidationError, match="is not on invoice"):
        services.credit_invoice_create(
            actor=None, debit_invoice=debit, items=[CreditItem(line=other_line)]
        )


def test_lines_of_a_manual_credit_draft_can_be_removed_but_one_stays(
    july_invoice: Invoice,
) -> None:
    credit = services.credit_invoice_create(
        actor=None, debit_invoice=july_invoice, credit_whole=True
    )
    first, second = credit.lines.order_by("position")

    services.invoice_line_remove(actor=None, line=first)
    with pytest.raises(ValidationError, match="keeps at least one line"):
        services.invoice_line_remove(actor=None, line=second)

    assert money_of(credit) == (D("60.00"), D("14.40"), D("74.40"))
    assert credit.status == InvoiceStatus.DRAFT
