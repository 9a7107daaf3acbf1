"""Acceptance: a reseller's staff, through a permission rule, see the reseller's clients only.

The rule "CloudMates clients" grants the group "CloudMates staff" edit access; it is set on
the reseller's client accounts. Every page, export, search and API endpoint must show the
staff member those clients and what hangs on them, and nothing of any other customer.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from accounts import services
from accounts.documents import document_upload
from bss.setup.rules.services import rule_save
from tests.accounts.factories import AddressFactory, ContactFactory
from tests.factories import AccountFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

RIGHTS = [
    "accounts.view",
    "accounts.edit",
    "contacts.view",
    "contacts.edit",
    "documents.view",
]


@pytest.fixture
def world(admin_user: Any, media_root: Path, api_client_for: Any) -> dict[str, Any]:
    staff_group = RoleFactory(name="CloudMates staff", permissions=RIGHTS)
    staff = UserFactory(email="staff@cloudmates.example")
    staff.roles.add(staff_group)
    rule = rule_save(
        actor=admin_user,
        name="CloudMates clients",
        modules={"account": False},
        grants=[(staff_group, "edit")],
    )
    other_rule = rule_save(actor=admin_user, name="Bytebridge clients", modules={"account": False})
    cloudmates = AccountFactory(name="CloudMates Partners", account_type="reseller")
    bytebridge = AccountFactory(name="Bytebridge Distribution", account_type="reseller")
    mine = [
        AccountFactory(
            name=f"Olive Grove {index}",
            account_type="client",
            parent=cloudmates,
            permission_rule=rule,
        )
        for index in range(2)
    ]
    theirs = AccountFactory(
        name="Thames Retail", account_type="client", parent=bytebridge, permission_rule=other_rule
    )
    direct = AccountFactory(name="Northwind Traders")
    pdf = b"%PDF-1.4\n%%EOF\n"
    world = {
        "staff": staff,
        "mine": mine,
        "theirs": theirs,
        "direct": direct,
        "my_contact": ContactFactory(account=mine[0], last_name="Mine", email="mine@olive.example"),
        "their_contact": ContactFactory(
            account=theirs, last_name="Theirs", email="t@thames.example"
        ),
        "my_address": AddressFactory(account=mine[0]),
        "their_address": AddressFactory(account=theirs),
        "my_document": document_upload(
            actor=admin_user, account=mine[1], file=SimpleUploadedFile("a.pdf", pdf), name="Ours"
        ),
        "their_document": document_upload(
            actor=admin_user, account=theirs, file=SimpleUploadedFile("b.pdf", pdf), name="Theirs"
        ),
        "api": api_client_for(staff),
    }
    return world


MINE = ["Olive Grove 0", "Olive Grove 1"]


def test_the_accounts_list_export_and_search_show_only_the_clients(
    world: dict[str, Any], client_for: Any
) -> None:
    client = client_for(world["staff"])
    rows = client.get("/accounts/").context["rows"]
    assert sorted(record.name for record, _values in rows) == MINE
    export = client.get("/accounts/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    assert sorted(row[1] for row in list(sheet.iter_rows(values_only=True))[1:]) == MINE
    search = client.get("/search/", {"q": "o"})
    labels = [label for group in search.context["groups"] for label, _url in group["results"]]
    assert all("Thames" not in label and "Northwind" not in label for label in labels)


def test_detail_pages_open_for_the_clients_and_404_for_others(
    world: dict[str, Any], client_for: Any
) -> None:
    client = client_for(world["staff"])
    assert client.get(f"/accounts/{world['mine'][0].pk}/").status_code == 200
    for other in (world["theirs"], world["direct"]):
        assert client.get(f"/accounts/{other.pk}/").status_code == 404
        assert client.get(f"/accounts/{other.pk}/edit/").status_code == 404
        assert client.get(f"/accounts/{other.pk}/", {"tab": "billing"}).status_code == 404


def test_contacts_addresses_and_documents_follow_their_account(
    world: dict[str, Any], client_for: Any
) -> None:
    client = client_for(world["staff"])
    contacts = client.get("/accounts/contacts/").context["rows"]
    assert [record.last_name for record, _values in contacts] == ["Mine"]
    assert client.get(f"/accounts/contacts/{world['my_contact'].pk}/").status_code == 200
    assert client.get(f"/accounts/contacts/{world['their_contact'].pk}/").status_code == 404
    assert client.get(f"/accounts/addresses/{world['my_address'].pk}/edit/").status_code == 200
    assert client.get(f"/accounts/addresses/{world['their_address'].pk}/edit/").status_code == 404
    assert client.get(f"/accounts/documents/{world['my_document'].pk}/download/").status_code == 200
    assert client.get(f"/accounts/documents/{world['their_document'].pk}/").status_code == 404
    assert (
        client.get(f"/accounts/documents/{world['their_document'].pk}/download/").status_code == 404
    )


def test_forms_offer_only_visible_resellers_and_accounts(
    world: dict[str, Any], client_for: Any
) -> None:
    form = client_for(world["staff"]).get(f"/accounts/{world['mine'][0].pk}/edit/").context["form"]
    assert list(form.fields["parent"].queryset) == []
    assert list(form.fields["billing_account"].queryset) == []


def test_moving_a_contact_to_a_foreign_account_is_refused(
    world: dict[str, Any], client_for: Any
) -> None:
    contact = world["my_contact"]
    response = client_for(world["staff"]).post(
        f"/accounts/contacts/{contact.pk}/edit/",
        {
            "account_number": world["theirs"].number,
            "last_name": "Mine",
            "email": "mine@olive.example",
        },
    )
    assert response.context["form"].errors == {
        "account_number": [f"No account {world['theirs'].number} that you may edit."]
    }
    contact.refresh_from_db()
    assert contact.account == world["mine"][0]


def test_the_api_shows_only_the_clients_everywhere(world: dict[str, Any]) -> None:
    api = world["api"]
    accounts = api.get("/api/v1/accounts/").json()["results"]
    assert sorted(row["name"] for row in accounts) == MINE
    assert api.get(f"/api/v1/accounts/{world['theirs'].pk}/").status_code == 404
    assert [row["last_name"] for row in api.get("/api/v1/contacts/").json()["results"]] == ["Mine"]
    addresses = api.get("/api/v1/addresses/").json()["results"]
    assert [row["account"] for row in addresses] == [world["mine"][0].pk]
    documents = api.get("/api/v1/documents/").json()["results"]
    assert [row["name"] for row in documents] == ["Ours"]
    assert api.get(f"/api/v1/documents/{world['their_document'].pk}/download/").status_code == 404
    by_reseller = api.get("/api/v1/accounts/", {"reseller": world["theirs"].parent_id}).json()
    assert by_reseller["count"] == 0


def test_the_api_refuses_writes_to_other_customers(world: dict[str, Any]) -> None:
    api = world["api"]
    response = api.patch(f"/api/v1/accounts/{world['theirs'].pk}/", {"name": "Taken"})
    assert response.status_code == 404
    moved = api.patch(
        f"/api/v1/contacts/{world['my_contact'].pk}/", {"account": world["theirs"].pk}
    )
    assert moved.status_code == 400
    assert list(moved.json()["errors"]) == ["account"]
    world["theirs"].refresh_from_db()
    assert world["theirs"].name == "Thames Retail"


def test_staff_edit_their_clients(world: dict[str, Any], admin_user: Any) -> None:
    account = world["mine"][1]
    services.account_update(actor=world["staff"], account=account, phone="+30 210 1111111")
    account.refresh_from_db()
    assert account.phone == "+30 210 1111111"
