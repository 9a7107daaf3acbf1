"""Charges, draft invoices, issuing, numbering, taxes and currencies, to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from billing import services
from billing.models import (
    INVOICE_TRANSITIONS,
    Charge,
    ChargeKind,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceSeries,
    InvoiceStatus,
    VatNumberCheck,
)
from billing.taxes import REVERSE_CHARGE_NOTE, OfflineVatChecker, UnavailableVatChecker
from bss.core.models import Event
from bss.setup.models import ExchangeRate
from tests.billing.factories import BillingAddressFactory, CustomerFactory, ProductFactory
from tests.billing.helpers import charge, draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db

D = Decimal
JULY = date(2026, 7, 1)


def tax_rows(invoice: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [
        (line.code, line.rate, line.taxable_amount, line.amount)
        for line in invoice.tax_lines.order_by("code")
    ]


def totals(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    invoice.refresh_from_db()
    return invoice.net_total, invoice.tax_total, invoice.gross_total, invoice.balance_due


# ------------------------------------------------------------------------------ charges


def test_a_charge_with_the_same_natural_key_is_written_once() -> None:
    account = CustomerFactory()
    monthly = charge(account, "60.00", subscription_id=7)

    first = services.charge_record(actor=None, charges=[monthly])
    again = services.charge_record(actor=None, charges=[monthly, monthly])

    assert Charge.objects.count() == 1
    assert [row.pk for row in first] == [row.pk for row in again]


def test_a_different_change_or_kind_is_a_different_charge() -> None:
    account = CustomerFactory()
    base = charge(account, "60.00", subscription_id=7)
    services.charge_record(
        actor=None,
        charges=[
            base,
            charge(account, "10.00", subscription_id=7, kind=ChargeKind.SETUP_FEE),
            charge(account, "-5.00", subscription_id=7, kind=ChargeKind.PRORATED_CREDIT),
        ],
    )
    from dataclasses import replace

    services.charge_record(actor=None, charges=[replace(base, source_change_id=3)])

    assert Charge.objects.count() == 4


def test_account_level_charges_use_their_idempotency_key() -> None:
    account = CustomerFactory()
    rebate = services.ChargeInput(
        account=account,
        kind=ChargeKind.REBATE_CREDIT,
        description="Rebate Q2",
        period_start=date(2026, 4, 1),
        period_end=JULY,
        amount=D("-12.50"),
        idempotency_key="rebate:1:2026-Q2",
    )
    services.charge_record(actor=None, charges=[rebate])
    services.charge_record(actor=None, charges=[rebate])

    assert Charge.objects.get().amount == D("-12.50")


def test_charges_are_rounded_and_their_sign_follows_the_kind() -> None:
    account = CustomerFactory()
    [row] = services.charge_record(actor=None, charges=[charge(account, "33.335")])
    assert row.amount == D("33.34")
    with pytest.raises(ValidationError, match="negative amount"):
        services.charge_record(
            actor=None, charges=[charge(account, "5", kind=ChargeKind.PRORATED_CREDIT)]
        )
    with pytest.raises(ValidationError, match="ends after it starts"):
        services.charge_record(actor=None, charges=[charge(account, "5", end=JULY)])
    assert Charge.objects.count() == 1


# ------------------------------------------------------------------------------- drafts


def test_a_draft_groups_the_due_charges_of_one_account_and_currency(eu_vat: None) -> None:
    # given
    account = CustomerFactory()
    other = CustomerFactory()
    services.charge_record(
        actor=None,
        charges=[
            charge(account, "60.00", description="Suite, 10 seats"),
            charge(account, "15.00", description="Backup", kind=ChargeKind.ONE_TIME),
            charge(account, "99.00", description="August", bill_on=date(2026, 8, 1)),
            charge(other, "5.00"),
        ],
    )

    # when
    invoice = services.invoice_from_charges(actor=None, billing_account=account, up_to=JULY)

    # then
    assert invoice is not None
    assert invoice.status == InvoiceStatus.DRAFT
    assert invoice.number is None
    assert [(line.description, line.net) for line in invoice.lines.order_by("position")] == [
        ("Suite, 10 seats", D("60.00")),
        ("Backup", D("15.00")),
    ]
    assert totals(invoice) == (D("75.00"), D("18.00"), D("93.00"), D("93.00"))
    assert Charge.objects.filter(invoice__isnull=True).count() == 2
    assert services.invoice_from_charges(actor=None, billing_account=account, up_to=JULY) is None


def test_charges_that_sum_below_zero_make_a_credit_invoice() -> None:
    account = CustomerFactory(is_taxable=False)
    invoice = draft_invoice(
        account,
        charge(account, "10.00"),
        charge(account, "-25.00", kind=ChargeKind.REFUND_CREDIT),
    )

    assert invoice.kind == InvoiceKind.CREDIT
    assert [line.net for line in invoice.lines.order_by("position")] == [D("-10.00"), D("25.00")]
    assert totals(invoice) == (D("15.00"), D("0"), D("15.00"), D("15.00"))


# ------------------------------------------------------------------------------ issuing


def test_issuing_numbers_taxes_and_freezes_the_invoice(eu_vat: None) -> None:
    # given: a Greek customer with 30 days to pay and a billing address
    address = BillingAddressFactory(account__name="Aegean Logistics S.A.")
    account = address.account
    invoice = draft_invoice(account, charge(account, "60.00"))

    # when
    services.invoice_issue(actor=None, invoice=invoice, invoice_date=date(2026, 7, 1))

    # then
    invoice.refresh_from_db()
    assert invoice.number == "INV-2026-000001"
    assert invoice.status == InvoiceStatus.UNPAID
    assert (invoice.invoice_date, invoice.due_date) == (date(2026, 7, 1), date(2026, 7, 31))
    assert tax_rows(invoice) == [("VAT-GR", D("24"), D("60.00"), D("14.40"))]
    assert totals(invoice) == (D("60.00"), D("14.40"), D("74.40"), D("74.40"))
    assert invoice.customer_name == "Aegean Logistics S.A."
    assert invoice.customer_address == "Aegean Logistics S.A.\nErmou 12\n105 63 Athens"
    assert invoice.customer_country == "GR"
    assert invoice.seller_details["legal_name"] == "Cloudwave S.A."
    assert invoice.lines.get().applied_taxes == [
        {
            "tax_id": invoice.tax_lines.get().tax_id,
            "code": "VAT-GR",
            "name": "VAT",
            "rate": "24.0000",
        }
    ]
    event = Event.objects.get(name="invoice.issued")
    assert event.payload["number"] == "INV-2026-000001"
    assert event.payload["gross_total"] == "74.40"

    # and: renaming the customer later leaves the issued invoice as it was
    account.name = "Renamed"
    account.save(update_fields=["name"])
    invoice.refresh_from_db()
    assert invoice.customer_name == "Aegean Logistics S.A."


def test_lines_are_rounded_and_each_tax_is_rounded_once_on_its_base(eu_vat: None) -> None:
    # given: three lines of 33.333 each and three of 0.05 at 24 % Greek VAT
    account = CustomerFactory()
    invoice = draft_invoice(
        account,
        *[charge(account, "33.333") for _ in range(3)],
        *[charge(account, "0.05") for _ in range(3)],
    )

    # when
    services.invoice_issue(actor=None, invoice=invoice, invoice_date=JULY)

    # then: lines 33.33 (not 33.333), net 100.14; VAT 24 % of 100.14 = 24.0336 → 24.03
    assert [line.net for line in invoice.lines.order_by("position")] == [
        D("33.33"),
        D("33.33"),
        D("33.33"),
        D("0.05"),
        D("0.05"),
        D("0.05"),
    ]
    assert totals(invoice) == (D("100.14"), D("24.03"), D("124.17"), D("124.17"))


def test_a_discount_reduces_the_line_and_the_tax_base(eu_vat: None) -> None:
    account = CustomerFactory()
    invoice = issued_invoice(
        account, charge(account, "120.00", quantity="10", unit_price="12", discount="12.00")
    )
    line = invoice.lines.get()
    assert (line.quantity, line.unit_price, line.amount, line.discount, line.net) == (
        D("10"),
        D("12"),
        D("120.00"),
        D("12.00"),
        D("108.00"),
    )
    assert totals(invoice) == (D("108.00"), D("25.92"), D("133.92"), D("133.92"))


def test_tax_exempt_products_and_accounts_are_invoiced_without_tax(eu_vat: None) -> None:
    account = CustomerFactory()
    exempt_product = ProductFactory(is_taxable=False)
    invoice = issued_invoice(
        account, charge(account, "50.00"), charge(account, "20.00", product=exempt_product)
    )
    assert tax_rows(invoice) == [("VAT-GR", D("24"), D("50.00"), D("12.00"))]
    assert totals(invoice) == (D("70.00"), D("12.00"), D("82.00"), D("82.00"))

    exempt_account = CustomerFactory(is_taxable=False)
    untaxed = issued_invoice(exempt_account, charge(exempt_account, "50.00"))
    assert tax_rows(untaxed) == []
    assert totals(untaxed) == (D("50.00"), D("0"), D("50.00"), D("50.00"))


def test_a_jpy_invoice_has_no_minor_unit() -> None:
    # given: a Japanese customer, 10 % consumption tax, prices with fractions of a yen
    consumption_tax = services.tax_save(
        actor=None, code="JCT", name="Consumption tax", rate=D("10")
    )
    services.tax_rule_save(actor=None, tax=consumption_tax, country="JP")
    account = CustomerFactory(currency="JPY", country="JP")

    # when
    invoice = issued_invoice(
        account,
        charge(account, "1234.5", quantity="3", unit_price="411.5"),
        charge(account, "999.4"),
        charge(account, "2470.5"),
    )

    # then: 1235 + 999 + 2471 = 4705; 10 % = 470.5 → 471
    assert [line.net for line in invoice.lines.order_by("position")] == [
        D("1235"),
        D("999"),
        D("2471"),
    ]
    assert totals(invoice) == (D("4705"), D("471"), D("5176"), D("5176"))
    assert str(services.quantize(invoice.gross_total, "JPY")) == "5176"


def test_a_transaction_currency_invoice_keeps_both_amounts_at_the_invoice_date_rate(
    eu_vat: None, usd_rate: ExchangeRate
) -> None:
    # given: 1 USD = 0.92 EUR from 1 January, 0.90 EUR from 1 March (after the invoice date)
    ExchangeRate.objects.create(
        currency=usd_rate.currency, rate=D("0.90"), valid_from=date(2026, 3, 1)
    )
    account = CustomerFactory(currency="EUR", transaction_currency="USD")

    # when
    invoice = issued_invoice(
        account,
        charge(account, "100.00", start=date(2026, 2, 1), end=date(2026, 3, 1)),
        on=date(2026, 2, 15),
    )

    # then: 1 EUR = 1 / 0.92 USD = 1.0869565217 USD
    invoice.refresh_from_db()
    assert invoice.exchange_rate == D("1.0869565217")
    assert totals(invoice) == (D("100.00"), D("24.00"), D("124.00"), D("124.00"))
    assert (
        invoice.transaction_net_total,
        invoice.transaction_tax_total,
        invoice.transaction_gross_total,
    ) == (D("108.70"), D("26.09"), D("134.79"))
    assert invoice.tax_lines.get().transaction_amount == D("26.09")


def test_a_missing_exchange_rate_refuses_the_issue_and_takes_no_number(eu_vat: None) -> None:
    account = CustomerFactory(transaction_currency="USD")
    invoice = draft_invoice(account, charge(account, "100.00"))

    with pytest.raises(ValidationError, match="No exchange rate for USD"):
        services.invoice_issue(actor=None, invoice=invoice, invoice_date=JULY)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)
    assert not InvoiceCounter.objects.filter(next_value__gt=1).exists()


# ----------------------------------------------------------------------- reverse charge


def test_a_valid_eu_vat_number_of_another_state_is_reverse_charged(eu_vat: None) -> None:
    # given: a German business customer of the Greek seller
    account = CustomerFactory(country="DE", vat_number="DE123456789")
    invoice = draft_invoice(account, charge(account, "60.00"))

    # when
    services.invoice_issue(
        actor=None, invoice=invoice, invoice_date=JULY, vat_checker=OfflineVatChecker()
    )

    # then: no tax line, a reverse-charge note, the VAT number on the invoice
    invoice.refresh_from_db()
    assert tax_rows(invoice) == []
    assert totals(invoice) == (D("60.00"), D("0"), D("60.00"), D("60.00"))
    assert invoice.is_reverse_charge
    assert invoice.tax_note == str(REVERSE_CHARGE_NOTE)
    assert invoice.customer_vat_number == "DE123456789"
    assert VatNumberCheck.objects.get().status == "valid"


def test_vies_unavailable_holds_the_invoice_in_draft_until_rechecked(eu_vat: None) -> None:
    # given
    account = CustomerFactory(country="DE", vat_number="DE123456789")
    invoice = draft_invoice(account, charge(account, "60.00"))

    # when: VIES does not answer
    with pytest.raises(services.InvoiceHeld, match="VIES unavailable"):
        services.invoice_issue(
            actor=None, invoice=invoice, invoice_date=JULY, vat_checker=UnavailableVatChecker()
        )

    # then: still a draft, held, no number spent
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)
    assert invoice.hold_reason.startswith("VIES unavailable")
    assert Event.objects.filter(name="invoice.held").count() == 1
    assert not InvoiceCounter.objects.exists()

    # when: VIES answers again
    services.invoice_issue(
        actor=None, invoice=invoice, invoice_date=JULY, vat_checker=OfflineVatChecker()
    )

    # then: the first number, reverse charged, no longer held
    invoice.refresh_from_db()
    assert (invoice.number, invoice.hold_reason, invoice.is_reverse_charge) == (
        "INV-2026-000001",
        "",
        True,
    )


def test_an_invalid_vat_number_pays_the_vat_of_the_customer_country(eu_vat: None) -> None:
    account = CustomerFactory(country="DE", vat_number="DE123")
    invoice = issued_invoice(account, charge(account, "60.00"), vat_checker=OfflineVatChecker())
    assert tax_rows(invoice) == [("VAT-DE", D("19"), D("60.00"), D("11.40"))]
    assert not invoice.is_reverse_charge


# -------------------------------------------------------------------- immutability etc.


def test_an_issued_invoice_cannot_change(eu_vat: None) -> None:
    account = CustomerFactory()
    invoice = issued_invoice(account, charge(account, "60.00"))

    with pytest.raises(ValidationError, match="correct it with a credit invoice"):
        services.invoice_issue(actor=None, invoice=invoice)
    with pytest.raises(ValidationError, match="Only a draft can be voided"):
        services.invoice_void(actor=None, invoice=invoice)
    with pytest.raises(ValidationError, match="correct it with a credit invoice"):
        services.invoice_line_remove(actor=None, line=invoice.lines.get())

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.gross_total) == (
        InvoiceStatus.UNPAID,
        "INV-2026-000001",
        D("74.40"),
    )


def test_voiding_a_draft_gives_its_charges_back(eu_vat: None) -> None:
    account = CustomerFactory()
    draft = draft_invoice(account, charge(account, "60.00"))

    services.invoice_void(actor=None, invoice=draft)
    again = services.invoice_from_charges(actor=None, billing_account=account, up_to=JULY)

    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.VOID
    assert draft.number is None
    assert again is not None
    assert Charge.objects.get().invoice == again


def test_the_status_table_refuses_every_other_change() -> None:
    account = CustomerFactory()
    invoice = draft_invoice(account, charge(account, "10.00"))
    for status in InvoiceStatus.values:
        for target in InvoiceStatus.values:
            invoice.status = status
            if target in INVOICE_TRANSITIONS[status]:
                services._check_transition(invoice, target)
            else:
                with pytest.raises(ValidationError, match="cannot go from"):
                    services._check_transition(invoice, target)
    assert INVOICE_TRANSITIONS[InvoiceStatus.VOID] == frozenset()


def test_a_zero_invoice_is_paid_when_issued() -> None:
    account = CustomerFactory()
    invoice = issued_invoice(account, charge(account, "0.00"))
    assert (invoice.status, invoice.balance_due) == (InvoiceStatus.PAID, D("0"))


# ---------------------------------------------------------------------------- numbering


def test_numbers_follow_each_other_per_series_and_restart_each_year(eu_vat: None) -> None:
    account = CustomerFactory()
    first = issued_invoice(account, charge(account, "1.00"), on=date(2026, 12, 30))
    second = issued_invoice(account, charge(account, "1.00"), on=date(2026, 12, 31))
    next_year = issued_invoice(account, charge(account, "1.00"), on=date(2027, 1, 2))

    assert [first.number, second.number, next_year.number] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2027-000001",
    ]


def test_a_rolled_back_issue_gives_its_number_back(eu_vat: None) -> None:
    account = CustomerFactory()
    doomed = draft_invoice(account, charge(account, "1.00"))
    kept = draft_invoice(account, charge(account, "2.00"))

    def issue_then_fail() -> None:
        with transaction.atomic():
            services.invoice_issue(actor=None, invoice=doomed, invoice_date=JULY)
            raise RuntimeError("the caller failed after issuing")

    with pytest.raises(RuntimeError):
        issue_then_fail()
    services.invoice_issue(actor=None, invoice=kept, invoice_date=JULY)

    kept.refresh_from_db()
    doomed.refresh_from_db()
    assert kept.number == "INV-2026-000001"
    assert doomed.number is None


def test_an_invoice_date_before_the_last_issued_one_is_refused(eu_vat: None) -> None:
    account = CustomerFactory()
    issued_invoice(account, charge(account, "1.00"), on=date(2026, 7, 10))
    late = draft_invoice(account, charge(account, "1.00"))

    with pytest.raises(ValidationError, match="before 2026-07-10"):
        services.invoice_issue(actor=None, invoice=late, invoice_date=date(2026, 7, 9))


def test_a_custom_pattern_without_yearly_restart(eu_vat: None) -> None:
    services.invoice_series_update(
        actor=None,
        series=InvoiceSeries.objects.get(kind=InvoiceKind.DEBIT, is_default=True),
        name="Invoices",
        prefix="F",
        pattern="{prefix}{number}",
        padding=4,
        resets_yearly=False,
    )
    account = CustomerFactory()
    first = issued_invoice(account, charge(account, "1.00"), on=date(2026, 12, 31))
    second = issued_invoice(account, charge(account, "1.00"), on=date(2027, 1, 1))
    assert [first.number, second.number] == ["F0001", "F0002"]
    with pytest.raises(ValidationError, match="start a new series"):
        services.invoice_series_update(
            actor=None,
            series=first.series,
            name="Invoices",
            prefix="F",
            pattern="{prefix}-{year}-{number}",
            padding=4,
            resets_yearly=True,
        )


def test_patterns_are_checked() -> None:
    from billing.numbering import check_pattern

    check_pattern("{prefix}-{year}-{number}", resets_yearly=True)
    with pytest.raises(ValidationError, match="must contain"):
        check_pattern("{prefix}-{year}", resets_yearly=True)
    with pytest.raises(ValidationError, match="show"):
        check_pattern("{prefix}{number}", resets_yearly=True)
    with pytest.raises(ValidationError, match="Unknown placeholders: month"):
        check_pattern("{month}{number}", resets_yearly=False)


# ------------------------------------------------------------------------------ overdue


def test_unpaid_invoices_past_due_become_overdue_once(eu_vat: None) -> None:
    account = CustomerFactory(payment_days=30)
    january = charge(account, "10.00", start=date(2026, 1, 10), end=date(2026, 2, 10))
    invoice = issued_invoice(account, january, on=date(2026, 1, 10))
    assert invoice.due_date == date(2026, 2, 9)

    assert services.invoices_mark_overdue(actor=None, today=date(2026, 2, 9)) == 0
    assert services.invoices_mark_overdue(actor=None, today=date(2026, 2, 10)) == 1
    assert services.invoices_mark_overdue(actor=None, today=date(2026, 2, 11)) == 0

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERDUE
    assert Event.objects.filter(name="invoice.overdue").count() == 1


def test_the_overdue_task_runs_the_service(eu_vat: None, time_machine: Any) -> None:
    from billing.tasks import mark_overdue_invoices

    account = CustomerFactory(payment_days=0)
    january = charge(account, "10.00", start=date(2026, 1, 10), end=date(2026, 2, 10))
    issued_invoice(account, january, on=date(2026, 1, 10))
    time_machine.move_to("2026-01-12 08:00:00+00:00")

    assert mark_overdue_invoices() == 1
    assert Invoice.objects.get().status == InvoiceStatus.OVERDUE


def test_held_invoices_are_issued_on_the_day_vies_answers_again(
    eu_vat: None, settings: Any, time_machine: Any
) -> None:
    from billing.tasks import retry_held_invoices

    # given: a draft held for VIES, and a later invoice issued meanwhile
    german = CustomerFactory(country="DE", vat_number="DE123456789")
    held = draft_invoice(german, charge(german, "60.00"))
    with pytest.raises(services.InvoiceHeld):
        services.invoice_issue(
            actor=None, invoice=held, invoice_date=JULY, vat_checker=UnavailableVatChecker()
        )
    greek = CustomerFactory()
    issued_invoice(greek, charge(greek, "10.00"), on=date(2026, 7, 3))
    time_machine.move_to("2026-07-04 09:00:00+00:00")

    # when: the retry runs with VIES back (the offline checker)
    settings.BILLING_VAT_CHECKER = "billing.taxes.OfflineVatChecker"
    assert retry_held_invoices() == 1

    # then
    held.refresh_from_db()
    assert (held.number, held.invoice_date, held.is_reverse_charge) == (
        "INV-2026-000002",
        date(2026, 7, 4),
        True,
    )
    assert retry_held_invoices() == 0
