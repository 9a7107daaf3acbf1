"""Billing run pages and API, and "Generate invoices" on the account page."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from billing.models import BillingRun, BillingRunAccount, Invoice
from tests.billing.run_data import RUN_DATE, at, build_accounts, build_catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_pdf_rendering(settings: Any) -> None:
    settings.BILLING_RENDER_PDF_ON_ISSUE = False


def test_the_run_list_query_count_does_not_grow_with_runs(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for day in range(1, 29):
        BillingRun.objects.create(run_date=date(2026, 2, day), status="finished")
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("billing:run_list"))
    assert response.status_code == 200
    assert response.content.decode().count("status-finished") == 25


def test_starting_a_run_from_the_page_bills_and_shows_progress(
    eu_vat: None, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    build_accounts(["PAGE"], catalogue, django_capture_on_commit_callbacks)
    with (
        time_machine.travel(at(2026, 4, 1, 6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client.post(
            reverse("billing:run_start"), {"run_date": "2026-04-01", "dry_run": ""}
        )
    run = BillingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    run.refresh_from_db()
    assert run.status == "finished"
    page = admin_client.get(run.get_absolute_url()).content.decode()
    assert "11 of 11 done" in page
    fragment = admin_client.get(run.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert fragment.content.decode().lstrip().startswith('<div id="run-progress"')
    assert "hx-trigger" not in fragment.content.decode()  # finished: polling stops


def test_a_run_page_polls_while_running_and_lists_failed_accounts(
    admin_client: Client,
) -> None:
    from tests.billing.factories import CustomerFactory

    account = CustomerFactory(name="Failing Ltd")
    run = BillingRun.objects.create(
        run_date=RUN_DATE, status="running", accounts_total=2, accounts_failed=1, errors_count=1
    )
    BillingRunAccount.objects.create(
        run=run, account=account, chunk=0, status="failed", error="No exchange rate for USD."
    )
    page = admin_client.get(run.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Failing Ltd" in page
    assert "No exchange rate for USD." in page


def test_a_bad_run_date_is_refused_naming_the_field(admin_client: Client) -> None:
    response = admin_client.post(reverse("billing:run_start"), {"run_date": "2026-13-45"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    assert not BillingRun.objects.exists()


def test_billing_runs_need_the_run_billing_right(make_user: Any, client_for: Any) -> None:
    viewer = client_for(make_user("invoices.view"))
    assert viewer.get(reverse("billing:run_list")).status_code == 403
    assert viewer.post(reverse("billing:run_start"), {"run_date": "2026-04-01"}).status_code == 403
    assert not BillingRun.objects.exists()


def test_generate_invoices_on_the_account_page(
    eu_vat: None, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    accounts = build_accounts(["GEN"], catalogue, django_capture_on_commit_callbacks)["GEN"]
    partner = accounts[5]
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        page = admin_client.get(partner.get_absolute_url()).content.decode()
    assert "Generate invoices" in page
    subscription = partner.billed_subscriptions.get()
    with (
        time_machine.travel(at(2026, 4, 1, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client.post(
            reverse("billing:account_generate", args=[partner.pk]),
            {"up_to": "2026-04-01", "subscriptions": [subscription.pk]},
        )
    assert response.status_code == 302
    invoice = Invoice.objects.get(billing_account=partner, invoice_date=RUN_DATE)
    assert [line.period_start for line in invoice.lines.all()] == [
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]


def test_the_api_starts_a_run_and_reports_it(
    eu_vat: None, admin_api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    build_accounts(["API"], catalogue, django_capture_on_commit_callbacks)
    with (
        time_machine.travel(at(2026, 4, 1, 6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_api.post(
            "/api/v1/billing/runs/", {"run_date": "2026-04-01", "dry_run": True}
        )
    assert response.status_code == 202
    detail = admin_api.get(f"/api/v1/billing/runs/{response.json()['id']}/").json()
    assert detail["status"] == "finished"
    assert detail["is_dry_run"] is True
    assert (detail["invoices_count"], detail["credit_invoices_count"]) == (9, 1)
    assert not Invoice.objects.filter(invoice_date=RUN_DATE).exists()
    bad = admin_api.post("/api/v1/billing/runs/", {"run_date": "soon"})
    assert bad.status_code == 400
    assert "run_date" in bad.json() or "run_date" in str(bad.json())


def test_the_api_generates_an_accounts_invoices(
    eu_vat: None, admin_api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    accounts = build_accounts(["GAPI"], catalogue, django_capture_on_commit_callbacks)["GAPI"]
    url = f"/api/v1/billing/accounts/{accounts[0].pk}/generate-invoices/"
    with (
        time_machine.travel(at(2026, 4, 1, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        refused = admin_api.post(url, {"up_to": "2026-04-01", "subscription_ids": [999999]})
        assert refused.status_code == 400
        assert "subscriptions" in str(refused.json())
        response = admin_api.post(url, {"up_to": "2026-04-01"})
    assert response.status_code == 200
    assert len(response.json()["numbers"]) == 1
