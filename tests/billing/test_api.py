"""Invoice API: read with lines and taxes, issue, void, PDF, manual credit invoices."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from billing.models import Invoice, InvoiceKind, InvoiceStatus
from tests.billing.factories import CustomerFactory
from tests.billing.helpers import charge, draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db

INVOICES = "/api/v1/billing/invoices/"
CREDITS = "/api/v1/billing/credit-invoices/"


def test_an_invoice_reads_with_lines_taxes_and_rounded_amounts(
    eu_vat: None, admin_api: Any
) -> None:
    account = CustomerFactory()
    invoice = issued_invoice(
        account, charge(account, "60.00", quantity="10", unit_price="6", description="Suite")
    )

    body = admin_api.get(f"{INVOICES}{invoice.pk}/").json()

    assert {key: body[key] for key in ("number", "kind", "status", "currency")} == {
        "number": "INV-2026-000001",
        "kind": "debit",
        "status": "unpaid",
        "currency": "EUR",
    }
    assert (body["net_total"], body["tax_total"], body["gross_total"], body["balance_due"]) == (
        "60.00",
        "14.40",
        "74.40",
        "74.40",
    )
    assert body["due_date"] == "2026-07-31"
    [line] = body["lines"]
    assert (line["description"], line["period_start"], line["period_end"], line["net"]) == (
        "Suite",
        "2026-07-01",
        "2026-08-01",
        "60.00",
    )
    assert body["tax_lines"] == [
        {
            "code": "VAT-GR",
            "name": "VAT",
            "rate": "24.0000",
            "taxable_amount": "60.00",
            "amount": "14.40",
            "transaction_amount": None,
        }
    ]


def test_the_list_is_filtered_and_limited_to_visible_accounts(
    eu_vat: None, make_user: Any, api_client_for: Any
) -> None:
    clerk = make_user("invoices.view")
    mine = CustomerFactory(owner=clerk)
    theirs = CustomerFactory()
    own = issued_invoice(mine, charge(mine, "10.00"))
    draft_invoice(mine, charge(mine, "1.00"))
    issued_invoice(theirs, charge(theirs, "10.00"), on=date(2026, 7, 2))
    api = api_client_for(clerk)

    everything = api.get(INVOICES).json()
    unpaid = api.get(INVOICES, {"status": "unpaid"}).json()

    assert everything["count"] == 2
    assert [row["number"] for row in unpaid["results"]] == [own.number]
    assert (
        api.get(f"{INVOICES}{Invoice.objects.get(billing_account=theirs).pk}/").status_code == 404
    )


def test_issue_void_and_pdf_through_the_api(eu_vat: None, admin_api: Any) -> None:
    account = CustomerFactory()
    draft = draft_invoice(account, charge(account, "60.00"))
    other = draft_invoice(account, charge(account, "5.00"))

    pdf_of_draft = admin_api.get(f"{INVOICES}{draft.pk}/pdf/")
    issued = admin_api.post(f"{INVOICES}{draft.pk}/issue/", {"invoice_date": "2026-07-03"})
    voided = admin_api.post(f"{INVOICES}{other.pk}/void/")
    again = admin_api.post(f"{INVOICES}{draft.pk}/issue/")
    pdf = admin_api.get(f"{INVOICES}{draft.pk}/pdf/")

    assert pdf_of_draft.status_code == 404
    assert issued.status_code == 200
    assert (issued.json()["number"], issued.json()["invoice_date"]) == (
        "INV-2026-000001",
        "2026-07-03",
    )
    assert voided.json()["status"] == "void"
    assert again.status_code == 400
    assert "credit invoice" in again.json()["detail"]
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")


def test_rights_per_action(eu_vat: None, make_user: Any, api_client_for: Any) -> None:
    reader = make_user("invoices.view")
    account = CustomerFactory(owner=reader)
    draft = draft_invoice(account, charge(account, "60.00"))
    api = api_client_for(reader)

    assert api.post(f"{INVOICES}{draft.pk}/issue/").status_code == 403
    assert api.post(f"{INVOICES}{draft.pk}/void/").status_code == 403
    assert api.post(CREDITS, {"debit_invoice": draft.pk, "credit_whole": True}).status_code == 403
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_a_manual_credit_invoice_through_the_api(eu_vat: None, admin_api: Any) -> None:
    account = CustomerFactory()
    debit = issued_invoice(account, charge(account, "31.00", description="Suite"))
    line = debit.lines.get()

    invalid = admin_api.post(
        CREDITS,
        {
            "debit_invoice": debit.pk,
            "items": [{"line": line.pk, "period_start": "2026-06-01", "period_end": "2026-07-10"}],
            "issue": True,
        },
    )
    created = admin_api.post(
        CREDITS,
        {
            "debit_invoice": debit.pk,
            "items": [{"line": line.pk, "period_start": "2026-07-17"}],
            "issue": True,
        },
    )

    assert invalid.status_code == 400
    assert "Invalid billing period" in invalid.json()["errors"]["period"][0]
    assert created.status_code == 201
    body = created.json()
    assert (body["number"], body["kind"], body["linked_invoice"]) == (
        "CN-2026-000001",
        "credit",
        debit.pk,
    )
    assert (body["net_total"], body["tax_total"], body["gross_total"]) == ("15.00", "3.60", "18.60")
    assert body["lines"][0]["credited_line"] == line.pk
    assert [row["number"] for row in admin_api.get(CREDITS).json()["results"]] == ["CN-2026-000001"]
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT).count() == 1


def test_a_credit_that_cannot_be_issued_leaves_nothing_behind(eu_vat: None, admin_api: Any) -> None:
    account = CustomerFactory()
    debit = issued_invoice(account, charge(account, "31.00"), on=date(2026, 7, 10))

    response = admin_api.post(
        CREDITS,
        {
            "debit_invoice": debit.pk,
            "credit_whole": True,
            "issue": True,
            "invoice_date": "2026-07-01",
        },
    )

    assert response.status_code == 201  # credit notes have their own series and counter
    refused = admin_api.post(
        CREDITS,
        {
            "debit_invoice": issued_invoice(
                account, charge(account, "5.00"), on=date(2026, 7, 11)
            ).pk,
            "credit_whole": True,
            "issue": True,
            "invoice_date": "2026-06-30",
        },
    )
    assert refused.status_code == 400
    assert "before 2026-07-01" in str(refused.json()["errors"])
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT).count() == 1


def test_the_api_list_query_count_does_not_grow_with_rows(
    eu_vat: None, admin_api: Any, django_assert_max_num_queries: Any
) -> None:
    for day in range(1, 21):
        account = CustomerFactory()
        issued_invoice(
            account, charge(account, "10.00"), charge(account, "5.00"), on=date(2026, 7, day)
        )

    with django_assert_max_num_queries(8):
        response = admin_api.get(INVOICES)

    assert response.json()["count"] == 20
    assert len(response.json()["results"][0]["lines"]) == 2
