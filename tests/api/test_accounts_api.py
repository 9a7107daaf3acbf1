"""Accounts through the API: the same services, the same visibility as the pages."""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Account
from bss.core.models import Event
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_owners(make_user: Any, api_client_for: Any) -> dict[str, Any]:
    alice = make_user("accounts.view", "accounts.create", "accounts.edit")
    bob = make_user("accounts.view", "accounts.create", "accounts.edit")
    return {
        "alice": api_client_for(alice),
        "bob": api_client_for(bob),
        "alices": AccountFactory(owner=alice, name="Alpha Widgets", number="ACC-100001"),
        "bobs": AccountFactory(owner=bob, name="Bravo Gadgets", number="ACC-100002"),
    }


def names(response: Any) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def test_a_user_lists_only_own_accounts(two_owners: dict[str, Any]) -> None:
    response = two_owners["alice"].get("/api/v1/accounts/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert names(response) == ["Alpha Widgets"]


def test_another_owners_account_is_404(two_owners: dict[str, Any]) -> None:
    client = two_owners["alice"]
    assert client.get(f"/api/v1/accounts/{two_owners['alices'].pk}/").status_code == 200
    response = client.get(f"/api/v1/accounts/{two_owners['bobs'].pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Account matches the given query.", "errors": {}}


def test_another_owners_account_cannot_be_changed(two_owners: dict[str, Any]) -> None:
    bobs = two_owners["bobs"]
    response = two_owners["alice"].patch(f"/api/v1/accounts/{bobs.pk}/", {"name": "Taken"})
    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.name == "Bravo Gadgets"


def test_an_admin_sees_every_account(two_owners: dict[str, Any], admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/accounts/")
    assert names(response) == ["Alpha Widgets", "Bravo Gadgets"]
    assert admin_api.get(f"/api/v1/accounts/{two_owners['bobs'].pk}/").status_code == 200


def test_an_invisible_reseller_cannot_be_chosen_as_parent(
    make_user: Any, api_client_for: Any
) -> None:
    # given
    reseller = AccountFactory(account_type=Account.Type.RESELLER, name="Hidden Reseller")
    client = api_client_for(make_user("accounts.create"))
    # when
    response = client.post(
        "/api/v1/accounts/", {"name": "Client", "account_type": "client", "parent": reseller.pk}
    )
    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "parent": [f'Invalid pk "{reseller.pk}" - object does not exist.']
    }
    assert not Account.objects.filter(name="Client").exists()


def test_it_creates_an_account_through_the_service(make_user: Any, api_client_for: Any) -> None:
    # given
    seller = make_user("accounts.create", "accounts.view")
    # when
    response = api_client_for(seller).post(
        "/api/v1/accounts/",
        {"name": "Acme Cloud", "currency": "usd", "email": "billing@acme.example"},
    )
    # then
    assert response.status_code == 201
    account = Account.objects.get()
    assert response.json() == {
        "id": account.pk,
        "number": account.number,
        "name": "Acme Cloud",
        "account_type": "direct",
        "parent": None,
        "status": "active",
        "account_manager": None,
        "currency": "USD",
        "transaction_currency": "",
        "language": "",
        "industry": "",
        "lead_source": "",
        "vat_number": "",
        "vat_number_duplicates": 0,
        "email": "billing@acme.example",
        "phone": "",
        "website": "",
        "permission_rule": None,
        # the direct customer preset: paid at purchase, no proration, Net 5, unlimited credit
        "is_ordering_enabled": False,
        "billing_account": None,
        "country": "",
        "state": "",
        "payment_method": "bank_transfer",
        "payment_days": 5,
        "is_taxable": True,
        "credit_limit": "0.00",
        "is_credit_unlimited": True,
        "is_prorated": False,
        "partial_charges": "order_day",
        "billing_day_rule": "first_order",
        "billing_day": None,
        "first_order_date": None,
        "custom_fields": {},
        "owner": seller.pk,
        "created_at": account.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": account.updated_at.isoformat().replace("+00:00", "Z"),
    }
    assert account.number.startswith("ACC-")
    assert account.owner == seller
    entry = LogEntry.objects.get_for_object(account).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == seller
    assert list(
        Event.objects.filter(aggregate_id=str(account.pk)).values_list("name", flat=True)
    ) == ["account.created"]


def test_it_creates_a_resellers_client(admin_api: APIClient) -> None:
    reseller = AccountFactory(account_type=Account.Type.RESELLER)
    response = admin_api.post(
        "/api/v1/accounts/", {"name": "Client Co", "account_type": "client", "parent": reseller.pk}
    )
    assert response.status_code == 201
    assert Account.objects.get(name="Client Co").parent == reseller


def test_it_updates_an_account_through_the_service(two_owners: dict[str, Any]) -> None:
    # given
    alices = two_owners["alices"]
    # when
    response = two_owners["alice"].patch(
        f"/api/v1/accounts/{alices.pk}/", {"status": "inactive", "phone": "+30 210 0000000"}
    )
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "inactive"
    alices.refresh_from_db()
    assert (alices.status, alices.phone, alices.name) == (
        "inactive",
        "+30 210 0000000",
        "Alpha Widgets",
    )
    entry = LogEntry.objects.get_for_object(alices).get(action=LogEntry.Action.UPDATE)
    assert set(entry.changes_dict) == {"status", "phone"}


def test_put_is_not_offered(two_owners: dict[str, Any]) -> None:
    alices = two_owners["alices"]
    response = two_owners["alice"].put(f"/api/v1/accounts/{alices.pk}/", {"name": "X"})
    assert response.status_code == 405


def test_a_missing_name_is_named(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/accounts/", {"currency": "EUR"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: name.",
        "errors": {"name": ["This field is required."]},
    }
    assert Account.objects.count() == 0


def test_a_client_without_parent_is_refused_by_the_service(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/accounts/", {"name": "Orphan", "account_type": "client"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: parent.",
        "errors": {"parent": ["A reseller's client needs its parent reseller."]},
    }
    assert Account.objects.count() == 0


def test_a_bad_currency_is_named(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/accounts/", {"name": "Acme", "currency": "E1R"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "currency": ["Enter a three-letter ISO currency code, e.g. EUR."]
    }


def test_it_filters_by_type_status_parent_and_currency(admin_api: APIClient) -> None:
    # given
    reseller = AccountFactory(name="Reseller", account_type=Account.Type.RESELLER)
    AccountFactory(name="Client A", account_type=Account.Type.CLIENT, parent=reseller)
    AccountFactory(
        name="Client B", account_type=Account.Type.CLIENT, parent=reseller, currency="USD"
    )
    AccountFactory(name="Direct", status=Account.Status.INACTIVE, currency="USD")
    # when / then
    assert names(admin_api.get("/api/v1/accounts/", {"account_type": "client"})) == [
        "Client A",
        "Client B",
    ]
    assert names(admin_api.get("/api/v1/accounts/", {"status": "inactive"})) == ["Direct"]
    assert names(admin_api.get("/api/v1/accounts/", {"parent": reseller.pk})) == [
        "Client A",
        "Client B",
    ]
    assert names(admin_api.get("/api/v1/accounts/", {"currency": "usd"})) == ["Client B", "Direct"]


def test_a_bad_filter_value_is_named(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/accounts/", {"account_type": "partner", "parent": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: account_type, parent.",
        "errors": {
            "account_type": ["Select a valid choice. partner is not one of the available choices."],
            "parent": ["Enter a whole number."],
        },
    }


def test_the_list_takes_a_fixed_number_of_queries(admin_api: APIClient) -> None:
    # given
    reseller = AccountFactory(account_type=Account.Type.RESELLER)
    AccountFactory.create_batch(5, account_type=Account.Type.CLIENT, parent=reseller)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.get("/api/v1/accounts/")
    # then
    assert response.json()["count"] == 6
    # token and user, language settings, organization, count, page, custom field definitions
    assert len(queries) == 6


# ------------------------------------------------------------- filters, contacts, addresses


def test_it_filters_by_reseller_manager_and_custom_fields(admin_api: APIClient) -> None:
    from bss.setup.models import CustomFieldDefinition

    # given
    CustomFieldDefinition.objects.create(
        entity="account", code="tier", label="Tier", field_type="choice", choices=["Gold", "Silver"]
    )
    reseller = AccountFactory(name="Reseller", account_type=Account.Type.RESELLER)
    manager = UserFactory()
    AccountFactory(
        name="Gold Client",
        account_type=Account.Type.CLIENT,
        parent=reseller,
        account_manager=manager,
        custom_data={"tier": "Gold"},
    )
    AccountFactory(name="Silver Client", account_type=Account.Type.CLIENT, parent=reseller)
    AccountFactory(name="Other Gold", custom_data={"tier": "Gold"})

    # then
    assert names(admin_api.get("/api/v1/accounts/", {"reseller": reseller.pk})) == [
        "Gold Client",
        "Silver Client",
    ]
    assert names(admin_api.get("/api/v1/accounts/", {"account_manager": manager.pk})) == [
        "Gold Client"
    ]
    assert names(admin_api.get("/api/v1/accounts/", {"cf_tier": "Gold"})) == [
        "Gold Client",
        "Other Gold",
    ]
    assert names(
        admin_api.get("/api/v1/accounts/", {"cf_tier": "Gold", "reseller": reseller.pk})
    ) == ["Gold Client"]
    bad = admin_api.get("/api/v1/accounts/", {"cf_tier": "Bronze"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["cf_tier"]


def test_duplicate_vat_numbers_are_counted_not_refused(admin_api: APIClient) -> None:
    first = admin_api.post("/api/v1/accounts/", {"name": "One", "vat_number": "DE123456789"})
    second = admin_api.post("/api/v1/accounts/", {"name": "Two", "vat_number": "de 123456789"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["vat_number_duplicates"] == 1
    listed = admin_api.get("/api/v1/accounts/").json()["results"]
    assert [row["vat_number_duplicates"] for row in listed] == [1, 1]
    bad = admin_api.post("/api/v1/accounts/", {"name": "Three", "vat_number": "DE12"})
    assert bad.json()["errors"] == {
        "vat_number": ["DE12 is not a valid DE VAT number: expected DE123456789."]
    }


def test_ordering_options_through_the_api(admin_api: APIClient) -> None:
    response = admin_api.post(
        "/api/v1/accounts/",
        {
            "name": "Fixed Day",
            "is_ordering_enabled": True,
            "country": "US",
            "state": "US-NY",
            "billing_day_rule": "fixed",
            "billing_day": 10,
            "credit_limit": "2500.00",
            "is_credit_unlimited": False,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["billing_day"], body["credit_limit"]) == ("US-NY", 10, "2500.00")
    refused = admin_api.patch(f"/api/v1/accounts/{body['id']}/", {"billing_day": 30})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "billing_day": ["A fixed billing day is a day from 1 to 28 of the month."]
    }


def test_an_account_without_transactions_is_deleted(admin_api: APIClient) -> None:
    account = AccountFactory()
    assert admin_api.delete(f"/api/v1/accounts/{account.pk}/").status_code == 204
    assert not Account.objects.exists()


def test_contacts_are_created_moved_and_listed(admin_api: APIClient) -> None:
    from bss.core.models import ConsentRecord

    # given
    first = AccountFactory(name="First")
    second = AccountFactory(name="Second")

    # when
    response = admin_api.post(
        "/api/v1/contacts/",
        {
            "account": first.pk,
            "first_name": "Ada",
            "last_name": "Byron",
            "email": "Ada@Example.com",
            "has_opted_in": True,
            "has_storefront_access": True,
            "storefront_role": "buyer",
        },
    )

    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["storefront_role"], body["account"]) == (
        "ada@example.com",
        "buyer",
        first.pk,
    )
    assert body["opted_in_at"] is not None
    consent = ConsentRecord.objects.get()
    assert (consent.kind, consent.source, consent.contact_email) == (
        "personal_data",
        "API",
        "ada@example.com",
    )
    moved = admin_api.patch(f"/api/v1/contacts/{body['id']}/", {"account": second.pk})
    assert moved.json()["account"] == second.pk
    duplicate = admin_api.post(
        "/api/v1/contacts/", {"account": first.pk, "last_name": "Twin", "email": "ADA@example.com"}
    )
    assert duplicate.status_code == 400
    assert list(duplicate.json()["errors"]) == ["email"]
    listed = admin_api.get("/api/v1/contacts/", {"account": second.pk}).json()
    assert [row["last_name"] for row in listed["results"]] == ["Byron"]


def test_the_contacts_list_takes_a_fixed_number_of_queries(admin_api: APIClient) -> None:
    from tests.accounts.factories import ContactFactory

    def queries_for_list() -> list[str]:
        admin_api.get("/api/v1/contacts/")  # the first request loads the organization's settings
        with CaptureQueriesContext(connection) as queries:
            admin_api.get("/api/v1/contacts/")
        return [query["sql"] for query in queries.captured_queries]

    ContactFactory.create_batch(3)
    few = queries_for_list()
    ContactFactory.create_batch(27)
    many = queries_for_list()
    # token and user, count, page, custom field definitions; the organization's language
    # and profile when they are not cached
    assert len(many) == len(few) <= 6, "\n".join(many)


def test_an_invalid_address_is_refused_with_the_field_named(admin_api: APIClient) -> None:
    from accounts.models import Address

    account = AccountFactory()
    response = admin_api.post(
        "/api/v1/addresses/",
        {
            "account": account.pk,
            "kind": "billing",
            "street_address": "1 Main St",
            "city": "Springfield",
            "country_area": "IL",
            "postal_code": "ABCDE",
            "country_code": "US",
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: postal_code.",
        "errors": {"postal_code": ["Postal code: expected a US ZIP code such as 95014."]},
    }
    assert not Address.objects.exists()
    created = admin_api.post(
        "/api/v1/addresses/",
        {
            "account": account.pk,
            "street_address": "10 Downing Street",
            "city": "London",
            "postal_code": "sw1a 2aa",
            "country_code": "GB",
        },
    )
    assert created.status_code == 201
    assert (created.json()["postal_code"], created.json()["validation_status"]) == (
        "SW1A 2AA",
        "valid",
    )


def test_documents_upload_and_download_through_the_api(
    admin_api: APIClient, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    account = AccountFactory()
    pdf = b"%PDF-1.4\n%%EOF\n"
    response = admin_api.post(
        "/api/v1/documents/",
        {
            "account": account.pk,
            "name": "Contract",
            "file": SimpleUploadedFile("c.pdf", pdf),
            "custom_fields": "{}",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["original_filename"], body["size"], body["content_type"]) == (
        "c.pdf",
        len(pdf),
        "application/pdf",
    )
    download = admin_api.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf
    refused = admin_api.post(
        "/api/v1/documents/",
        {"account": account.pk, "name": "Evil", "file": SimpleUploadedFile("e.pdf", b"MZ..")},
        format="multipart",
    )
    assert refused.json()["errors"] == {"file": ["The content of e.pdf is not a .pdf file."]}
