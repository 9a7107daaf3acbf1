"""The account 360 page: summary figures, details, tabs that higher modules register, delete."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts import services
from accounts.models import Account
from accounts.registry import (
    OPEN_ORDERS,
    UNAPPLIED_CREDITS,
    UNPAID_DEBITS,
    AccountPanel,
    AccountTab,
    register_account_panel,
    register_account_tab,
    register_credit_term,
    register_figure_provider,
)
from accounts.selectors import available_credit, credit_breakdown
from bss.setup.models import Currency
from tests.accounts.factories import AddressFactory, ContactFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def figures_of(response: Any) -> dict[str, str]:
    return {figure.key: figure.shown for figure in response.context["figures"]}


def test_until_billing_lands_the_figures_read_na_and_credit_is_the_limit(
    admin_client: Client, clean_registry: Any
) -> None:
    account = AccountFactory(credit_limit=Decimal("1000.00"))
    response = admin_client.get(f"/accounts/{account.pk}/")
    assert response.status_code == 200
    assert figures_of(response) == {
        "balance": "n/a",
        "available_credit": "€1,000.00",
        "overdue_amount": "n/a",
        "monthly_run_rate": "n/a",
        "annual_subscriptions": "n/a",
        "lifetime_subscriptions": "n/a",
    }


def test_figures_are_formatted_in_the_account_currency_culture(
    admin_client: Client, clean_registry: Any
) -> None:
    Currency.objects.create(code="EUR", name="Euro", culture="de_DE")
    account = AccountFactory(is_credit_unlimited=True)
    register_figure_provider("balance", lambda _account: Decimal("1234.5"))
    register_figure_provider("monthly_run_rate", lambda _account: Decimal("0"))
    response = admin_client.get(f"/accounts/{account.pk}/")
    shown = figures_of(response)
    assert shown["balance"] == "1.234,50\xa0€"
    assert shown["monthly_run_rate"] == "0,00\xa0€"
    assert shown["available_credit"] == "Unlimited"


def test_s20_available_credit_from_registered_terms(clean_registry: Any) -> None:
    # given: credit limit 1,000.00 and 700.00 of unpaid invoices
    account = AccountFactory(credit_limit=Decimal("1000.00"), is_credit_unlimited=False)
    unpaid = {"amount": Decimal("700.00")}
    register_credit_term(UNPAID_DEBITS, "billing.invoices", lambda _a: unpaid["amount"])

    # then
    assert available_credit(account) == Decimal("300.00")

    # when the billing agent pays 200.00 (an unapplied payment until allocated)
    register_credit_term(UNAPPLIED_CREDITS, "billing.payments", lambda _a: Decimal("200.00"))
    assert available_credit(account) == Decimal("500.00")

    # when a 400.00 order is submitted but not executed
    register_credit_term(OPEN_ORDERS, "orders.submitted", lambda _a: Decimal("400.00"))
    assert credit_breakdown(account).available == Decimal("100.00")

    # with Unlimited ticked nothing limits the customer
    account.is_credit_unlimited = True
    assert available_credit(account) is None


def test_several_providers_feed_one_term(clean_registry: Any) -> None:
    account = AccountFactory(credit_limit=Decimal("50"))
    register_credit_term(UNAPPLIED_CREDITS, "credit-notes", lambda _a: Decimal("10.005"))
    register_credit_term(UNAPPLIED_CREDITS, "payments", lambda _a: Decimal("5"))
    assert available_credit(account) == Decimal("65.01")


def test_unregistered_tabs_are_not_shown_registered_ones_load_by_htmx(
    admin_client: Client, clean_registry: Any
) -> None:
    # given
    account = AccountFactory()
    response = admin_client.get(f"/accounts/{account.pk}/")
    assert [key for key, _label, _icon in response.context["tabs"]] == [
        "overview",
        "billing",
        "activity",
    ]

    # when the orders module registers its tab
    register_account_tab(
        AccountTab(
            "orders",
            "Orders",
            "orders",
            lambda request, shown: f"<p id='orders-of'>{shown.number}</p>",
            icon="cart",
            order=20,
        )
    )

    # then
    page = admin_client.get(f"/accounts/{account.pk}/")
    assert [key for key, _label, _icon in page.context["tabs"]] == [
        "overview",
        "billing",
        "orders",
        "activity",
    ]
    partial = admin_client.get(
        f"/accounts/{account.pk}/", {"tab": "orders"}, HTTP_HX_REQUEST="true"
    )
    html = partial.content.decode()
    assert f"<p id='orders-of'>{account.number}</p>" in html
    assert "<html" not in html
    assert admin_client.get(f"/accounts/{account.pk}/", {"tab": "invoices"}).status_code == 404


def test_a_tab_needs_its_modules_right(
    make_user: Any, client_for: Any, clean_registry: Any
) -> None:
    register_account_tab(AccountTab("invoices", "Invoices", "invoices", lambda r, a: "x"))
    viewer = make_user("accounts.view")
    account = AccountFactory(owner=viewer)
    response = client_for(viewer).get(f"/accounts/{account.pk}/")
    assert "invoices" not in [key for key, _label, _icon in response.context["tabs"]]


def test_registered_panels_show_in_the_side_column(
    admin_client: Client, clean_registry: Any
) -> None:
    register_account_panel(AccountPanel("usage", "Usage", "accounts", lambda r, a: "<p>42 GB</p>"))
    register_account_panel(AccountPanel("empty", "Nothing", "accounts", lambda r, a: ""))
    html = admin_client.get(f"/accounts/{AccountFactory().pk}/").content.decode()
    assert "<p>42 GB</p>" in html
    assert "Nothing" not in html


def test_the_overview_shows_contacts_addresses_and_documents(admin_client: Client) -> None:
    account = AccountFactory(name="Olive Grove Hotels")
    ContactFactory(account=account, first_name="Eleni", last_name="Papadaki", is_primary=True)
    AddressFactory(account=account, kind="billing", street_address="Ermou 10")
    html = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Eleni Papadaki" in html
    assert "Ermou 10" in html
    assert 'id="documents"' in html


def test_the_billing_tab_lists_price_lists_rebates_and_credit(admin_client: Client) -> None:
    account = AccountFactory()
    html = admin_client.get(f"/accounts/{account.pk}/", {"tab": "billing"}).content.decode()
    assert 'id="price-lists"' in html
    assert 'id="rebates"' in html
    assert 'id="credit"' in html
    assert "No price list assigned: the default EUR list applies." in html


def test_the_activity_tab_merges_the_account_and_its_contacts(
    admin_client: Client, admin_user: Any
) -> None:
    account = services.account_create(actor=admin_user, name="Timeline Co")
    services.contact_create(
        actor=admin_user, account=account, last_name="Doe", email="doe@timeline.example"
    )
    response = admin_client.get(f"/accounts/{account.pk}/", {"tab": "activity"})
    html = response.content.decode()
    assert 'Contact <span class="text-body">Doe</span>' in html
    history = admin_client.get(f"/accounts/{account.pk}/", {"tab": "activity"}).content.decode()
    assert history.count("· create") == 2


def test_deleting_an_account_takes_its_contacts_and_addresses(
    admin_client: Client, clean_registry: Any
) -> None:
    account = AccountFactory(number="ACC-000777")
    ContactFactory(account=account)
    AddressFactory(account=account)
    refused = admin_client.post(f"/accounts/{account.pk}/delete/", {"confirm_number": "ACC-1"})
    assert refused.status_code == 400
    assert Account.objects.filter(pk=account.pk).exists()
    response = admin_client.post(
        f"/accounts/{account.pk}/delete/", {"confirm_number": "ACC-000777"}
    )
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()


def test_a_reseller_with_clients_cannot_be_deleted(admin_user: Any, clean_registry: Any) -> None:
    from django.core.exceptions import ValidationError

    reseller = AccountFactory(name="Big Reseller", account_type="reseller")
    AccountFactory(account_type="client", parent=reseller)
    with pytest.raises(ValidationError) as refused:
        services.account_delete(actor=admin_user, account=reseller)
    assert refused.value.messages == [
        "Big Reseller is the reseller of 1 client account(s); move or delete them first."
    ]


def test_status_buttons_deactivate_and_activate(admin_client: Client) -> None:
    account = AccountFactory()
    admin_client.post(f"/accounts/{account.pk}/status/", {"status": "inactive"})
    account.refresh_from_db()
    assert account.status == "inactive"
    admin_client.post(f"/accounts/{account.pk}/status/", {"status": "active"})
    account.refresh_from_db()
    assert account.status == "active"
