"""Payment pages: lists with pinned query counts and xlsx, recording a payment, void,
refund, the statement as page, PDF and xlsx, the account tabs, setup pages."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from billing.models import Invoice
from payments import dunning, services
from payments.models import Payment, PaymentMethod, PaymentType
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def rows_of(response: Any) -> list[str]:
    return [str(record) for record, _values in response.context["rows"]]


def xlsx_rows(response: Any) -> list[tuple[Any, ...]]:
    content = b"".join(response.streaming_content)
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_the_payment_list_query_count_does_not_grow_and_it_exports(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for _n in range(30):
        services.payment_record(
            actor=None, account=CustomerFactory(), payment_type=PaymentType.CASH, amount="12.50"
        )

    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("payments:payment_list"))

    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    exported = xlsx_rows(admin_client.get(reverse("payments:payment_list") + "?export=xlsx"))
    assert len(exported) == 31
    assert exported[0][:3] == ("Number", "Date", "Account")


def test_the_failed_payments_list_shows_only_failures(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    account = CustomerFactory()
    Payment.objects.create(
        number="PAY-F1",
        account=account,
        payment_type="card",
        status="failed",
        payment_date=date(2026, 7, 1),
        amount=Decimal("9"),
        currency="EUR",
        failure_message="Your card was declined.",
    )
    services.payment_record(actor=None, account=account, payment_type=PaymentType.CASH, amount="5")

    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("payments:failed_list"))

    assert rows_of(response) == ["PAY-F1"]
    assert "Your card was declined." in response.content.decode()
    assert len(xlsx_rows(admin_client.get(reverse("payments:failed_list") + "?export=xlsx"))) == 2


def test_the_overdue_list_buckets_by_age(
    admin_client: Client,
    invoice_for: Callable[..., Invoice],
    django_assert_max_num_queries: Any,
) -> None:
    today = timezone.localdate()
    # days past the due date (due 30 days after issue), issued oldest first
    ages = {"90+": 120, "61-90": 75, "31-60": 45, "1-30": 10, "Current": -5}
    made = {}
    for label, days in ages.items():
        account = CustomerFactory(is_taxable=False)
        made[label] = invoice_for(account, "10.00", on=today - timedelta(days=30 + days))
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("payments:overdue_list"))
    assert response.status_code == 200
    buckets = {str(record): values[5] for record, values in response.context["rows"]}
    assert buckets == {str(invoice): label for label, invoice in made.items()}
    assert response.context["ageing_rows"] == [("EUR", ["€10.00"] * 5)]
    only_old = admin_client.get(reverse("payments:overdue_list") + "?bucket=90_plus")
    assert rows_of(only_old) == [str(made["90+"])]
    exported = xlsx_rows(admin_client.get(reverse("payments:overdue_list") + "?export=xlsx"))
    assert len(exported) == 6


def test_recording_a_payment_on_an_invoice_pays_it(
    client_for: Any, finance_user: Any, invoice_for: Callable[..., Invoice]
) -> None:
    account = CustomerFactory(owner=finance_user, is_taxable=False)
    invoice = invoice_for(account, "70.00")
    client = client_for(finance_user)
    url = reverse("payments:payment_create") + f"?account={account.pk}&invoice={invoice.pk}"

    page = client.get(url)
    assert page.context["form"].initial["amount"] == Decimal("70.00")
    refused = client.post(
        url, {"payment_type": "cash", "payment_date": "", "amount": "70", "currency": "EUR"}
    )
    assert "payment_date" in refused.context["form"].errors
    response = client.post(
        url,
        {
            "payment_type": "bank_transfer",
            "payment_date": timezone.localdate().isoformat(),
            "amount": "70.00",
            "currency": "EUR",
            "reference": "SEPA 123",
            "invoices": [invoice.pk],
        },
    )

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == payment.get_absolute_url()
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    detail = client.get(payment.get_absolute_url())
    assert str(invoice) in detail.content.decode()


def test_void_and_refund_from_the_payment_page(
    client_for: Any, finance_user: Any, invoice_for: Callable[..., Invoice]
) -> None:
    account = CustomerFactory(owner=finance_user, is_taxable=False)
    invoice = invoice_for(account, "70.00")
    payment = services.payment_record(
        actor=None, account=account, payment_type="cash", amount="100.00"
    )
    client = client_for(finance_user)

    refused = client.post(reverse("payments:refund_create", args=[payment.pk]), {"amount": "500"})
    assert "amount" in refused.context["form"].errors
    client.post(
        reverse("payments:refund_create", args=[payment.pk]),
        {"amount": "30.00", "reason": "overpaid"},
    )
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("30.00")
    client.post(reverse("payments:payment_void", args=[payment.pk]), {"reason": "wrong account"})
    payment.refresh_from_db()
    assert payment.status == "completed"  # a refunded payment is not voided

    other = services.payment_record(
        actor=None, account=account, payment_type="check", amount="5.00"
    )
    client.post(reverse("payments:payment_void", args=[other.pk]), {"reason": "bounced"})
    other.refresh_from_db()
    assert (other.status, other.void_reason) == ("void", "bounced")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_the_statement_as_page_pdf_and_xlsx(
    admin_client: Client, customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    invoice_for(customer, "100.00")
    services.payment_record(actor=None, account=customer, payment_type="cash", amount="40.00")
    url = reverse("payments:statement", args=[customer.pk])

    page = admin_client.get(url)
    assert page.context["statement"].closing == Decimal("60.00")
    pdf = admin_client.get(url + "?format=pdf")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    rows = xlsx_rows(admin_client.get(url + "?format=xlsx"))
    assert rows[-1][-1] == 60
    assert admin_client.get(url + "?start=2026-12-01&end=2026-01-01").context["form"].errors


def test_the_account_page_shows_payments_statement_and_settings(
    admin_client: Client, customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    invoice_for(customer, "100.00")
    payment = services.payment_record(
        actor=None, account=customer, payment_type="cash", amount="40.00"
    )
    page = admin_client.get(customer.get_absolute_url())
    assert "Payment method" in page.content.decode()
    tab = admin_client.get(customer.get_absolute_url() + "?tab=payments")
    assert payment.number in tab.content.decode()
    statement = admin_client.get(customer.get_absolute_url() + "?tab=statement")
    assert "Statement of account" in statement.content.decode()


def test_payment_settings_and_methods_pages(admin_client: Client, customer: Any) -> None:
    response = admin_client.post(
        reverse("payments:method_create"),
        {
            "number": "5",
            "description": "Net 5",
            "payment_days": "5",
            "collection": "manual",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    method = PaymentMethod.objects.get(description="Net 5")
    duplicate = admin_client.post(
        reverse("payments:method_create"),
        {"number": "5", "description": "Other", "collection": "manual"},
    )
    assert "number" in duplicate.context["form"].errors

    admin_client.post(
        reverse("payments:payment_settings", args=[customer.pk]), {"payment_method": method.pk}
    )
    customer.refresh_from_db()
    assert customer.payment_days == 5
    refused = admin_client.post(
        reverse("payments:payment_settings", args=[customer.pk]),
        {"payment_method": method.pk, "auto_charge": "on"},
    )
    assert "auto_charge" in refused.context["form"].errors
    assert admin_client.get(reverse("payments:method_list")).status_code == 200

    plan = dunning.plan_save(actor=None, name="Reminders", is_active=True, is_default=True)
    admin_client.post(
        plan.get_absolute_url(),
        {"offset_days": "3", "notification": "invoice_reminder_1", "action": "none"},
    )
    assert list(plan.steps.values_list("offset_days", flat=True)) == [3]
    clash = admin_client.post(
        plan.get_absolute_url(), {"offset_days": "3", "notification": "x", "action": "none"}
    )
    assert "offset_days" in clash.context["step_form"].errors
    assert admin_client.get(reverse("payments:plan_list")).status_code == 200


def test_users_see_only_payments_of_accounts_they_may_see(make_user: Any, client_for: Any) -> None:
    clerk = make_user("payments.view")
    mine = services.payment_record(
        actor=None, account=CustomerFactory(owner=clerk), payment_type="cash", amount="1"
    )
    theirs = services.payment_record(
        actor=None, account=CustomerFactory(), payment_type="cash", amount="2"
    )
    client = client_for(clerk)
    assert rows_of(client.get(reverse("payments:payment_list"))) == [str(mine)]
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert client_for(make_user()).get(reverse("payments:payment_list")).status_code == 403
