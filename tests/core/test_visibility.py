"""A user never sees another owner's record: lists, detail pages, search and exports."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_owners(make_user: Any) -> dict[str, Any]:
    alice = make_user("accounts.view", "accounts.edit", email="alice@test.example")
    bob = make_user("accounts.view", email="bob@test.example")
    return {
        "alice": alice,
        "bob": bob,
        "alices": AccountFactory(owner=alice, name="Alpha Widgets", number="ACC-100001"),
        "bobs": AccountFactory(owner=bob, name="Bravo Gadgets", number="ACC-100002"),
    }


def exported_names(response: Any) -> list[str]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    name_column = header.index("Name")
    return [row[name_column] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_list_shows_only_own_accounts(two_owners: dict[str, Any], client_for: Any) -> None:
    # given
    client = client_for(two_owners["alice"])
    # when
    response = client.get("/accounts/")
    # then
    assert response.status_code == 200
    assert b"Alpha Widgets" in response.content
    assert b"Bravo Gadgets" not in response.content


def test_detail_of_another_owners_account_is_404(
    two_owners: dict[str, Any], client_for: Any
) -> None:
    client = client_for(two_owners["alice"])
    assert client.get(f"/accounts/{two_owners['alices'].pk}/").status_code == 200
    assert client.get(f"/accounts/{two_owners['bobs'].pk}/").status_code == 404


def test_edit_of_another_owners_account_is_404(two_owners: dict[str, Any], client_for: Any) -> None:
    client = client_for(two_owners["alice"])
    assert client.get(f"/accounts/{two_owners['bobs'].pk}/edit/").status_code == 404


def test_global_search_finds_only_visible_accounts(
    two_owners: dict[str, Any], client_for: Any
) -> None:
    client = client_for(two_owners["alice"])
    assert b"Alpha Widgets" in client.get("/search/", {"q": "Widgets"}).content
    found = client.get("/search/", {"q": "Gadgets"}).content
    assert b"Bravo Gadgets" not in found
    by_number = client.get("/search/", {"q": "ACC-100002"}).content
    assert b"Bravo Gadgets" not in by_number


def test_export_contains_only_visible_accounts(two_owners: dict[str, Any], client_for: Any) -> None:
    response = client_for(two_owners["alice"]).get("/accounts/", {"export": "xlsx"})
    assert response.status_code == 200
    assert exported_names(response) == ["Alpha Widgets"]


def test_admin_sees_every_account(two_owners: dict[str, Any], admin_client: Any) -> None:
    response = admin_client.get("/accounts/", {"export": "xlsx"})
    assert sorted(exported_names(response)) == ["Alpha Widgets", "Bravo Gadgets"]
    assert admin_client.get(f"/accounts/{two_owners['bobs'].pk}/").status_code == 200


def test_search_skips_modules_the_user_may_not_open(
    two_owners: dict[str, Any], make_user: Any, client_for: Any
) -> None:
    outsider = make_user(email="outsider@test.example")
    AccountFactory(owner=outsider, name="Charlie Widgets")
    response = client_for(outsider).get("/search/", {"q": "Widgets"})
    assert response.status_code == 200
    assert b"Charlie Widgets" not in response.content


def test_inactive_user_sees_nothing(two_owners: dict[str, Any]) -> None:
    from accounts.models import Account
    from bss.core.visibility import visible_records

    alice = two_owners["alice"]
    alice.is_active = False
    assert list(visible_records(Account.objects.all(), alice)) == []
