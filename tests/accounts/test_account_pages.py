"""Accounts list and pages as the foundation ships them (the Customers issue extends them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_accounts_list_query_count_is_bounded(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    reseller = AccountFactory(account_type=Account.Type.RESELLER)
    owners = [UserFactory() for _ in range(5)]
    for index in range(60):
        AccountFactory(owner=owners[index % 5], account_type=Account.Type.CLIENT, parent=reseller)
    admin_client.get("/accounts/")  # first request creates the organization profile
    with django_assert_max_num_queries(12):
        response = admin_client.get("/accounts/")
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get("/accounts/", {"export": "xlsx"}).status_code == 200


def test_list_filters_sorts_and_pages(admin_client: Client) -> None:
    AccountFactory(name="Zulu Corp", currency="USD")
    AccountFactory(name="Alpha Corp", currency="EUR")
    AccountFactory(name="Inactive Co", status=Account.Status.INACTIVE)
    page = admin_client.get("/accounts/", {"status": "active", "sort": "-name"}).content.decode()
    assert page.index("Zulu Corp") < page.index("Alpha Corp")
    assert "Inactive Co" not in page
    assert "Alpha Corp" not in admin_client.get("/accounts/", {"currency": "usd"}).content.decode()


def test_htmx_request_gets_only_the_results_partial(admin_client: Client) -> None:
    AccountFactory(name="Partial Test Ltd")
    response = admin_client.get("/accounts/", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "Partial Test Ltd" in content
    assert "<html" not in content


def test_create_account_through_the_form(admin_client: Client) -> None:
    response = admin_client.post(
        "/accounts/new/",
        {"name": "Kilo Networks", "account_type": "direct", "status": "active", "currency": "eur"},
    )
    assert response.status_code == 302
    account = Account.objects.get(name="Kilo Networks")
    assert account.currency == "EUR"
    assert account.number.startswith("ACC-")


def test_client_without_reseller_is_refused_and_nothing_written(admin_client: Client) -> None:
    response = admin_client.post(
        "/accounts/new/",
        {"name": "Orphan", "account_type": "client", "status": "active", "currency": "EUR"},
    )
    assert response.status_code == 200
    assert "A reseller&#x27;s client needs its parent reseller" in response.content.decode()
    assert not Account.objects.filter(name="Orphan").exists()


def test_account_numbers_are_unique_and_sequential(admin_user: Any) -> None:
    from accounts import services

    first = services.account_create(actor=admin_user, name="One", currency="EUR")
    second = services.account_create(actor=admin_user, name="Two", currency="EUR")
    assert int(second.number.removeprefix("ACC-")) == int(first.number.removeprefix("ACC-")) + 1
