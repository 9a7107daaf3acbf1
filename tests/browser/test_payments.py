"""Payments in a real browser: record a bank transfer on an invoice and see the invoice paid."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from billing.models import Invoice
from bss.setup.models import Currency
from tests.billing.factories import BillingAddressFactory, CustomerFactory
from tests.billing.helpers import charge, issued_invoice
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def finance_admin() -> Any:
    Currency.objects.get_or_create(code="EUR", defaults={"name": "Euro", "is_active": True})
    return UserFactory(
        email="finance@test.example", first_name="Fin", is_superuser=True, is_staff=True
    )


def test_record_a_manual_payment_on_an_invoice_and_see_it_paid(
    live_server: Any, page: Any, finance_admin: Any, screenshot_dir: Path
) -> None:
    # given: an unpaid invoice of 120.00
    account = CustomerFactory(name="Northwind Traders", is_taxable=False)
    BillingAddressFactory(account=account)
    day = date(2026, 7, 1)
    invoice = issued_invoice(
        account, charge(account, "120.00", start=day, end=day + timedelta(days=31)), on=day
    )

    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", finance_admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # when: New payment from the payments list, for the account, settling the invoice
    page.goto(f"{live_server.url}/payments/")
    page.get_by_role("link", name="New").click()
    page.fill("#id_account", account.number)
    page.get_by_role("button", name="Continue").click()
    page.select_option("#id_payment_type", "bank_transfer")
    page.fill("#id_amount", "120.00")
    page.fill("#id_reference", "SEPA 2026-07-15")
    page.get_by_label(str(invoice.number), exact=False).check()
    page.screenshot(path=str(screenshot_dir / "payments-new.png"), full_page=True)
    page.get_by_role("button", name="Record payment").click()

    # then: the payment page lists the invoice as paid, and so does the invoice page
    page.wait_for_selector("#payment-allocations")
    assert page.locator("#payment-allocations").inner_text().count("Paid") == 1
    page.screenshot(path=str(screenshot_dir / "payments-detail.png"), full_page=True)
    page.get_by_role("link", name=str(invoice.number)).click()
    page.wait_for_url(f"**{invoice.get_absolute_url()}")
    assert "Paid" in page.locator(".page-subtitle").inner_text()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == (Invoice.Status.PAID, 0)
    page.goto(f"{live_server.url}{account.get_absolute_url()}?tab=statement")
    page.screenshot(path=str(screenshot_dir / "payments-statement.png"), full_page=True)
