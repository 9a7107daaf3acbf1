"""/api/v1/setup/custom-fields/: definitions through the same services as the Setup pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account
from bss.setup.models import CustomFieldDefinition
from tests.factories import AccountFactory
from tests.setup.factories_rules_fields import CustomFieldFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/setup/custom-fields/"


@pytest.fixture
def api_for() -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        token, _created = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.default_format = "json"
        return client

    return make


def test_it_creates_a_field_with_every_attribute(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    response = api_for(admin_user).post(
        URL,
        {
            "entity": "account",
            "label": "Licences",
            "field_type": "multi_choice",
            "group": "Microsoft",
            "ordering": 3,
            "suffix": "",
            "description": "Licence families",
            "is_required": False,
            "default_value": ["M365"],
            "choices": ["M365", "Azure", "Dynamics"],
            "is_search_criterion": True,
            "display_rule": {"field": "account_type", "values": ["reseller", "client"]},
            "provisioning_code": 1245,
            "show_in_storefront": True,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    definition = CustomFieldDefinition.objects.get()
    assert body == {
        "id": definition.pk,
        "entity": "account",
        "code": "licences",
        "label": "Licences",
        "field_type": "multi_choice",
        "group": "Microsoft",
        "ordering": 3,
        "suffix": "",
        "description": "Licence families",
        "is_required": False,
        "default_value": ["M365"],
        "choices": ["M365", "Azure", "Dynamics"],
        "is_search_criterion": True,
        "display_rule": {"field": "account_type", "values": ["reseller", "client"]},
        "provisioning_code": 1245,
        "show_in_storefront": True,
        "is_active": True,
        "created_at": body["created_at"],
    }


def test_a_bad_default_is_refused_naming_the_field(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    response = api_for(admin_user).post(
        URL,
        {"entity": "account", "label": "Seats", "field_type": "integer", "default_value": "lots"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"default_value": ["Seats must be a whole number."]}


def test_update_keeps_the_type_and_delete_only_removes(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    # given
    definition = CustomFieldFactory(code="tier", label="Tier")
    AccountFactory(custom_data={"tier": "Gold"})
    client = api_for(admin_user)

    # then
    refused = client.patch(f"{URL}{definition.pk}/", {"field_type": "integer"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"field_type": ["This cannot change once the field exists."]}
    assert client.patch(f"{URL}{definition.pk}/", {"label": "Level"}).json()["label"] == "Level"

    assert client.delete(f"{URL}{definition.pk}/").status_code == 204
    definition.refresh_from_db()
    assert definition.is_active is False
    assert Account.objects.filter(custom_data__tier="Gold").count() == 1

    restored = client.post(f"{URL}{definition.pk}/restore/")
    assert restored.json()["is_active"] is True


def test_purge_erases_the_values_of_a_removed_field(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    definition = CustomFieldFactory(code="old", is_active=False)
    AccountFactory(custom_data={"old": "x", "other": 1})
    client = api_for(admin_user)

    response = client.post(f"{URL}{definition.pk}/purge/")

    assert response.json() == {"purged_records": 1}
    assert list(Account.objects.values_list("custom_data", flat=True)) == [{"other": 1}]


def test_reading_needs_setup_view_and_writing_setup_manage(
    make_user: Callable[..., Any], api_for: Callable[[Any], APIClient]
) -> None:
    definition = CustomFieldFactory(entity="case")
    viewer = api_for(make_user("setup.view"))
    listed = viewer.get(URL, {"entity": "case"})
    assert [row["id"] for row in listed.json()["results"]] == [definition.pk]
    assert viewer.post(f"{URL}{definition.pk}/purge/").status_code == 403
    assert viewer.delete(f"{URL}{definition.pk}/").status_code == 403
    assert api_for(make_user("accounts.view")).get(URL).status_code == 403
