"""Customers in a real browser: create an account with ordering options, two contacts and a
billing address (an invalid ZIP refused first), then look at the account 360 page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account, Address, Contact
from bss.core.models import ConsentRecord
from bss.setup.models import Currency
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def customers_admin() -> Any:
    for code, name in [("EUR", "Euro"), ("USD", "US dollar")]:
        Currency.objects.get_or_create(code=code, defaults={"name": name, "is_active": True})
    return UserFactory(
        email="customers@test.example", first_name="Cora", is_superuser=True, is_staff=True
    )


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def add_contact(
    page: Any, account: Account, first: str, last: str, email: str, **flags: bool
) -> None:
    page.get_by_role("link", name="Add contact").click()
    page.fill("#id_first_name", first)
    page.fill("#id_last_name", last)
    page.fill("#id_email", email)
    for name, checked in flags.items():
        if checked:
            page.check(f"#id_{name}")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{account.get_absolute_url()}")


def test_create_an_account_with_contacts_and_an_address_and_see_the_360_page(
    live_server: Any, page: Any, customers_admin: Any, screenshot_dir: Path
) -> None:
    sign_in(page, live_server, customers_admin.email)

    # when: a new account from the quick-create menu, with ordering enabled
    header = page.locator("header.app-header")
    header.get_by_title("Quick create").click()
    header.get_by_role("link", name="New account").click()
    page.fill("#id_name", "Acme Cloud Inc.")
    page.select_option("#id_currency", "USD")
    page.fill("#id_vat_number", "12-3456789")
    page.check("#id_is_ordering_enabled")
    page.select_option("#id_country", "US")
    page.wait_for_selector('#id_state option[value="US-NY"]', state="attached")
    page.select_option("#id_state", "US-NY")
    page.fill("#id_payment_days", "30")
    page.get_by_role("button", name="Save").click()
    account = Account.objects.get(name="Acme Cloud Inc.")
    page.wait_for_url(f"{live_server.url}{account.get_absolute_url()}")
    assert (account.country, account.state, account.payment_days) == ("US", "US-NY", 30)

    # when: two contacts, the first primary, bill-to and opted in
    add_contact(
        page,
        account,
        "Grace",
        "Hopper",
        "grace@acme.example",
        is_primary=True,
        is_bill_to=True,
        has_opted_in=True,
    )
    add_contact(page, account, "Alan", "Turing", "alan@acme.example")

    # when: a billing address with a ZIP of letters, refused with the field named
    page.get_by_role("link", name="Add address").click()
    page.select_option("#id_country_code", "US")
    page.fill("#id_street_address", "350 Fifth Avenue")
    page.fill("#id_city", "New York")
    page.fill("#id_country_area", "NY")
    page.fill("#id_postal_code", "ABCDE")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#id_postal_code ~ .invalid-feedback")
    assert error.inner_text() == "Postal code: expected a US ZIP code such as 95014."
    assert not Address.objects.exists()
    page.fill("#id_postal_code", "10118")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{account.get_absolute_url()}")

    # then: the 360 page shows the figures, contacts and address
    figures = page.locator("#account-figures [data-figure]")
    assert figures.count() == 6
    assert page.locator('[data-figure="available_credit"] .kpi-value').inner_text() == "Unlimited"
    contacts = page.locator("#contacts tbody tr")
    assert contacts.count() == 2
    assert contacts.first.locator("td").first.inner_text() == "Grace Hopper"
    address = page.locator('#addresses [data-address="billing"]')
    assert "350 Fifth Avenue" in address.inner_text()
    assert "10118 New York, NY" in address.inner_text()
    assert Contact.objects.get(email="grace@acme.example").is_primary is True
    assert ConsentRecord.objects.get().contact_email == "grace@acme.example"
    page.screenshot(path=str(screenshot_dir / "account-360.png"), full_page=True)

    # when: the billing tab loads by htmx
    page.get_by_role("tab", name="Price lists & rebates").click()
    page.wait_for_selector('#account-tab[data-tab="billing"]')
    assert page.locator("#credit").is_visible()
    assert page.url.endswith("?tab=billing")
