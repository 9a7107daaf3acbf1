"""The account balance to the cent through payments, a credit invoice and a refund.

Balance = debit invoices - credit invoices - payments + refunds (spec §9.3); it must
also equal open debit balances - unapplied credit invoices - unapplied payments.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts import registry
from accounts.selectors import available_credit, financial_summary
from billing.models import Invoice, InvoiceStatus
from bss.core.models import Event
from payments import selectors, services
from payments.models import Payment, PaymentAllocation, PaymentType

pytestmark = pytest.mark.django_db


def open_balances(account: Any) -> Decimal:
    invoices = Invoice.objects.filter(
        billing_account=account, status__in=["unpaid", "partially_paid", "overdue"]
    )
    debits = sum((i.balance_due for i in invoices if i.kind == "debit"), Decimal(0))
    credits = sum((i.balance_due for i in invoices if i.kind == "credit"), Decimal(0))
    return debits - credits - selectors.unapplied_payments(account)


def test_balances_to_the_cent_through_payments_credit_and_refund(
    customer: Any,
    invoice_for: Callable[..., Invoice],
    credit_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: an invoice of 100.00
    invoice = invoice_for(customer, "100.00")
    assert selectors.account_balance(customer) == Decimal("100.00")

    # when: a partial payment of 40.00
    first = services.payment_record(
        actor=None,
        account=customer,
        payment_type=PaymentType.BANK_TRANSFER,
        amount="40.00",
        reference="TRX-1",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == (InvoiceStatus.PARTIALLY_PAID, Decimal("60.00"))
    assert selectors.account_balance(customer) == Decimal("60.00")

    # when: a credit invoice of 10.00 is issued; it settles its related debit invoice
    with django_capture_on_commit_callbacks(execute=True):
        credit = credit_for(invoice, "10.00")
    credit.refresh_from_db()
    invoice.refresh_from_db()
    assert (credit.status, credit.balance_due) == (InvoiceStatus.PAID, Decimal("0"))
    assert invoice.balance_due == Decimal("50.00")
    assert selectors.account_balance(customer) == Decimal("50.00")

    # when: a payment of 60.00; 10.00 stays as unapplied credit
    with django_capture_on_commit_callbacks(execute=True):
        second = services.payment_record(
            actor=None, account=customer, payment_type=PaymentType.CASH, amount="60.00"
        )
    invoice.refresh_from_db()
    second.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == (InvoiceStatus.PAID, Decimal("0"))
    assert second.unapplied_amount == Decimal("10.00")
    assert selectors.account_balance(customer) == Decimal("-10.00")
    assert selectors.unapplied_payments(customer) == Decimal("10.00")
    assert Event.objects.filter(name="invoice.paid", aggregate_id=str(invoice.pk)).count() == 1

    # when: the 10.00 is refunded
    refund = services.refund_record(actor=None, payment=second, amount="10.00", reason="overpaid")
    second.refresh_from_db()
    invoice.refresh_from_db()
    assert refund.status == "completed"
    assert (second.refunded_amount, second.unapplied_amount) == (Decimal("10.00"), Decimal("0"))
    assert invoice.status == InvoiceStatus.PAID
    assert selectors.account_balance(customer) == Decimal("0.00")
    assert open_balances(customer) == Decimal("0")
    assert first.pk != second.pk

    # then: the statement ends on the same balance, line by line
    statement = selectors.statement_of(customer)
    assert [(line.kind, line.debit, line.credit, line.balance) for line in statement.lines] == [
        ("invoice", Decimal("100.00"), Decimal(0), Decimal("100.00")),
        ("credit_invoice", Decimal(0), Decimal("10.00"), Decimal("90.00")),
        ("payment", Decimal(0), Decimal("40.00"), Decimal("50.00")),
        ("payment", Decimal(0), Decimal("60.00"), Decimal("-10.00")),
        ("refund", Decimal("10.00"), Decimal(0), Decimal("0.00")),
    ]
    assert statement.closing == Decimal("0")


def test_the_account_page_figures_use_payments(
    customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    # given: a credit limit of 500 and an invoice of 100 with 150 paid
    customer.credit_limit = Decimal("500")
    customer.save(update_fields=["credit_limit"])
    invoice_for(customer, "100.00")
    services.payment_record(
        actor=None, account=customer, payment_type=PaymentType.CHECK, amount="150.00"
    )

    # then: balance -50, and the 50 unapplied raises the available credit
    figures = {figure.key: figure.amount for figure in financial_summary(customer)}
    assert figures["balance"] == Decimal("-50.00")
    assert available_credit(customer) == Decimal("550.00")
    assert registry.figure_provider("balance") is selectors.account_balance


def test_a_voided_payment_reopens_what_it_settled(
    customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    # given: two invoices settled by one payment, oldest first
    older = invoice_for(customer, "30.00")
    newer = invoice_for(customer, "50.00")
    payment = services.payment_record(
        actor=None, account=customer, payment_type=PaymentType.DEPOSIT, amount="60.00"
    )
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status, newer.balance_due) == (
        "paid",
        "partially_paid",
        Decimal("20.00"),
    )

    # when
    services.payment_void(actor=None, payment=payment, reason="entered twice")

    # then: both invoices are open for their totals again; the ledger keeps both directions
    older.refresh_from_db()
    newer.refresh_from_db()
    payment.refresh_from_db()
    assert (older.status, older.balance_due) == ("unpaid", Decimal("30.00"))
    assert (newer.status, newer.balance_due) == ("unpaid", Decimal("50.00"))
    assert (payment.status, payment.applied_amount) == ("void", Decimal("0"))
    assert sorted(
        PaymentAllocation.objects.filter(payment=payment).values_list("amount", flat=True)
    ) == [
        Decimal("-30"),
        Decimal("-30"),
        Decimal("30"),
        Decimal("30"),
    ]
    assert selectors.account_balance(customer) == Decimal("80.00")


def test_a_payment_settles_the_chosen_invoice_not_the_oldest(
    customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    older = invoice_for(customer, "30.00")
    newer = invoice_for(customer, "50.00")

    services.payment_record(
        actor=None,
        account=customer,
        payment_type=PaymentType.CASH,
        amount="50.00",
        allocations=[services.Allocation(invoice=newer)],
    )

    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status) == ("unpaid", "paid")


def test_unapplied_credit_settles_the_next_invoice_on_issue(
    customer: Any, invoice_for: Callable[..., Invoice], django_capture_on_commit_callbacks: Any
) -> None:
    # given: 25.00 paid ahead with nothing to settle
    payment = services.payment_record(
        actor=None, account=customer, payment_type=PaymentType.CASH, amount="25.00"
    )
    assert payment.unapplied_amount == Decimal("25.00")

    # when: an invoice of 40.00 is issued (its event is handled after commit)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for(customer, "40.00")

    # then
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("partially_paid", Decimal("15.00"))
    assert payment.unapplied_amount == Decimal("0")


def test_bad_amounts_are_refused_and_write_nothing(
    customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    invoice = invoice_for(customer, "30.00")
    for amount, field in [
        ("0", "amount"),
        ("-5", "amount"),
        ("1.234", "amount"),
        ("abc", "amount"),
    ]:
        with pytest.raises(services.ValidationError) as refused:
            services.payment_record(
                actor=None, account=customer, payment_type=PaymentType.CASH, amount=amount
            )
        assert field in refused.value.message_dict
    with pytest.raises(services.ValidationError) as refused:
        services.payment_record(
            actor=None,
            account=customer,
            payment_type=PaymentType.CASH,
            amount="20.00",
            allocations=[services.Allocation(invoice=invoice, amount=Decimal("25.00"))],
        )
    assert "amount" in refused.value.message_dict
    assert Payment.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.balance_due == Decimal("30.00")
