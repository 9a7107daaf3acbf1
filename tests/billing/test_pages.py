"""Invoice pages: the list with its filters and export, the detail, actions, credit form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from tests.billing.factories import CustomerFactory
from tests.billing.helpers import charge, draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db

D = Decimal


def list_numbers(response: Any) -> list[str]:
    return [str(record) for record, _values in response.context["rows"]]


def test_the_list_query_count_does_not_grow_with_rows(
    eu_vat: None, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for day in range(1, 31):
        account = CustomerFactory()
        issued_invoice(account, charge(account, "10.00"), on=date(2026, 7, day))

    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("billing:invoice_list"))

    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    assert list_numbers(response)[0] == "INV-2026-000030"
    assert "74,40" not in response.content.decode()  # the UI language formats lists (en)
    assert "€12.40" in response.content.decode()


def test_users_see_the_invoices_of_the_accounts_they_may_see(
    eu_vat: None, make_user: Any, client_for: Any
) -> None:
    clerk = make_user("invoices.view")
    mine = CustomerFactory(owner=clerk)
    theirs = CustomerFactory()
    own = issued_invoice(mine, charge(mine, "10.00"))
    other = issued_invoice(theirs, charge(theirs, "20.00"))
    client = client_for(clerk)

    assert list_numbers(client.get(reverse("billing:invoice_list"))) == [str(own)]
    assert client.get(own.get_absolute_url()).status_code == 200
    assert client.get(other.get_absolute_url()).status_code == 404
    assert client_for(make_user()).get(reverse("billing:invoice_list")).status_code == 403


def test_the_list_filters_by_status_type_account_date_and_overdue(
    eu_vat: None, admin_client: Client, time_machine: Any
) -> None:
    time_machine.move_to("2026-09-01 09:00:00+00:00")
    northwind = CustomerFactory(name="Northwind Traders", number="ACC-NW")
    helios = CustomerFactory(name="Helios Solar", number="ACC-HS")
    late = issued_invoice(northwind, charge(northwind, "10.00"), on=date(2026, 7, 1))
    recent = issued_invoice(helios, charge(helios, "20.00"), on=date(2026, 8, 20))
    draft = draft_invoice(helios, charge(helios, "5.00"))
    credit = services.credit_invoice_create(actor=None, debit_invoice=recent, credit_whole=True)
    url = reverse("billing:invoice_list")

    def numbers(**params: str) -> set[str]:
        return set(list_numbers(admin_client.get(url, params)))

    assert numbers(status="draft") == {str(draft), str(credit)}
    assert numbers(kind="credit") == {str(credit)}
    assert numbers(account="northwind") == {str(late)}
    assert numbers(account="ACC-HS") == {str(recent), str(draft), str(credit)}
    assert numbers(invoice_date_after="2026-08-01", invoice_date_before="2026-08-31") == {
        str(recent)
    }
    assert numbers(overdue="yes") == {str(late)}
    assert str(late) not in numbers(overdue="no")
    assert numbers(q="INV-2026-000002") == {str(recent)}


def test_the_list_exports_to_excel(eu_vat: None, admin_client: Client) -> None:
    account = CustomerFactory()
    issued_invoice(account, charge(account, "10.00"))

    response = admin_client.get(reverse("billing:invoice_list"), {"export": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )


def test_the_detail_shows_lines_taxes_totals_and_history(
    eu_vat: None, admin_client: Client
) -> None:
    account = CustomerFactory()
    invoice = issued_invoice(account, charge(account, "60.00", description="Suite, 10 seats"))

    page = admin_client.get(invoice.get_absolute_url()).content.decode()

    assert "INV-2026-000001" in page
    assert "Suite, 10 seats" in page
    assert "2026-07-01 \u2013 2026-07-31" in page
    assert "VAT 24 %" in page
    assert "74,40\xa0€" in page  # amounts in the culture of the invoice currency (el_GR)
    assert reverse("billing:invoice_pdf", args=[invoice.pk]) in page
    assert "Status history" in page
    assert "Unpaid" in page


def test_issue_and_void_from_the_detail_page(eu_vat: None, make_user: Any, client_for: Any) -> None:
    clerk = make_user("invoices.view", "invoices.edit", "invoices.delete")
    account = CustomerFactory(owner=clerk)
    to_issue = draft_invoice(account, charge(account, "60.00"))
    to_void = draft_invoice(account, charge(account, "5.00", bill_on=date(2026, 7, 1)))
    client = client_for(clerk)

    response = client.post(reverse("billing:invoice_issue", args=[to_issue.pk]), follow=True)
    assert "The invoice is issued." in response.content.decode()
    to_issue.refresh_from_db()
    assert (to_issue.status, to_issue.number) == (InvoiceStatus.UNPAID, "INV-2026-000001")

    client.post(reverse("billing:invoice_void", args=[to_void.pk]))
    to_void.refresh_from_db()
    assert to_void.status == InvoiceStatus.VOID

    refused = client.post(reverse("billing:invoice_void", args=[to_issue.pk]), follow=True)
    assert "Only a draft can be voided" in refused.content.decode()
    assert Invoice.objects.get(pk=to_issue.pk).status == InvoiceStatus.UNPAID


def test_issuing_needs_the_edit_right(eu_vat: None, make_user: Any, client_for: Any) -> None:
    reader = make_user("invoices.view")
    account = CustomerFactory(owner=reader)
    draft = draft_invoice(account, charge(account, "60.00"))

    assert (
        client_for(reader).post(reverse("billing:invoice_issue", args=[draft.pk])).status_code
        == 403
    )
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def test_a_credit_invoice_from_the_form(eu_vat: None, finance_user: Any, client_for: Any) -> None:
    # given
    account = CustomerFactory(owner=finance_user)
    debit = issued_invoice(account, charge(account, "31.00", description="Suite"))
    line = debit.lines.get()
    client = client_for(finance_user)
    url = reverse("billing:credit_create")

    # when: the user looks the debit invoice up by number
    lookup = client.get(url, {"number": "inv-2026-000001"})
    assert lookup.status_code == 302
    form_url = f"{url}?invoice={debit.pk}"
    assert lookup.url == form_url
    assert "Suite" in client.get(form_url).content.decode()

    # when: a period outside the invoiced one
    base = {"issue_now": "on", f"line-{line.pk}-include": "on", f"line-{line.pk}-quantity": "1"}
    wrong = client.post(
        form_url,
        {
            **base,
            f"line-{line.pk}-period_start": "2026-06-20",
            f"line-{line.pk}-period_end": "2026-07-31",
        },
    )
    assert "Invalid billing period" in wrong.content.decode()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT).exists()

    # when: the last 15 days of July
    done = client.post(
        form_url,
        {
            **base,
            f"line-{line.pk}-period_start": "2026-07-17",
            f"line-{line.pk}-period_end": "2026-07-31",
        },
    )

    # then: an issued credit of 15.00 + 3.60 VAT, related to the debit invoice
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT)
    assert done.status_code == 302
    assert done.url == credit.get_absolute_url()
    assert (credit.number, credit.gross_total, credit.linked_invoice) == (
        "CN-2026-000001",
        D("18.60"),
        debit,
    )


def test_the_credit_form_needs_its_right(eu_vat: None, make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("invoices.view", "invoices.edit"))
    assert client.get(reverse("billing:credit_create")).status_code == 403


def test_the_menu_search_and_account_tab(eu_vat: None, admin_client: Client) -> None:
    account = CustomerFactory(name="Olive Grove Hotels")
    invoice = issued_invoice(account, charge(account, "10.00"))

    dashboard = admin_client.get(reverse("core:dashboard")).content.decode()
    assert reverse("billing:invoice_list") in dashboard

    found = admin_client.get(reverse("core:search"), {"q": "INV-2026-000001"}).content.decode()
    assert invoice.get_absolute_url() in found

    tab = admin_client.get(account.get_absolute_url(), {"tab": "invoices"}).content.decode()
    assert "INV-2026-000001" in tab
