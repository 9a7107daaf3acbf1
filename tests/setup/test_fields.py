"""Systemic fields: the per-entity field lists and the editable value lists of choice fields."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bss.setup.fields import selectors, services
from bss.setup.fields.seed import seed_value_lists
from bss.setup.models import SystemFieldValue
from tests.setup.factories_rules_fields import CustomFieldFactory, SystemFieldValueFactory

pytestmark = pytest.mark.django_db


def industries(*labels: str, default: str = "") -> list[SystemFieldValue]:
    return [
        SystemFieldValueFactory(
            field="industry",
            value=label.lower(),
            label=label,
            order_no=(position + 1) * 10,
            is_default=label == default,
        )
        for position, label in enumerate(labels)
    ]


def management(total: int, initial: int) -> dict[str, str]:
    return {
        "form-TOTAL_FORMS": str(total),
        "form-INITIAL_FORMS": str(initial),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }


def test_system_fields_of_accounts_list_columns_and_value_lists() -> None:
    fields = {field.name: field for field in selectors.system_fields("account")}
    assert "custom_data" not in fields
    assert "id" not in fields
    assert fields["name"].label == "Name"
    assert fields["name"].kind == "Text"
    assert fields["account_type"].fixed_choices == (
        "Direct customer",
        "Reseller",
        "Reseller's client",
    )
    assert fields["industry"].has_value_list is True
    assert fields["lead_source"].kind == "Value list"


def test_an_entity_without_its_module_still_lists_its_value_lists() -> None:
    assert [(field.name, field.has_value_list) for field in selectors.system_fields("case")] == [
        ("category", True)
    ]


def test_value_choices_are_active_values_in_order() -> None:
    retail, _it, hotels = industries("Retail", "IT", "Hotels")
    retail.order_no = 50
    retail.save()
    hotels.is_active = False
    hotels.save()
    assert selectors.value_choices("account", "industry") == [("it", "IT"), ("retail", "Retail")]


def test_setting_a_default_unsets_the_previous_one(admin_user: Any) -> None:
    first, second = industries("Retail", "IT", default="Retail")
    services.system_value_update(actor=admin_user, value_row=second, is_default=True)
    first.refresh_from_db()
    assert first.is_default is False
    assert selectors.value_default("account", "industry") == "it"


def test_adding_a_value_makes_its_key_and_places_it_last(admin_user: Any) -> None:
    industries("Retail")
    added = services.system_value_add(
        actor=admin_user, entity="account", field="industry", label="Cloud services"
    )
    assert (added.value, added.order_no) == ("cloud_services", 20)
    with pytest.raises(ValidationError) as refused:
        services.system_value_add(
            actor=admin_user, entity="account", field="industry", label="Cloud services"
        )
    assert refused.value.message_dict == {
        "value": ["The value “cloud_services” is already in this list."]
    }


def test_only_declared_value_lists_are_editable(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.system_value_add(actor=admin_user, entity="account", field="name", label="X")
    assert refused.value.messages == ["account.name has no editable value list."]


def test_an_inactive_value_cannot_be_the_default(admin_user: Any) -> None:
    [retail] = industries("Retail")
    with pytest.raises(ValidationError) as refused:
        services.system_value_update(
            actor=admin_user, value_row=retail, is_active=False, is_default=True
        )
    assert refused.value.message_dict == {
        "is_default": ["An inactive value cannot be the default."]
    }


def test_the_seed_adds_realistic_lists_once_and_keeps_edits(admin_user: Any) -> None:
    seed_value_lists(io.StringIO())
    assert ("healthcare", "Healthcare") in selectors.value_choices("account", "industry")
    assert selectors.value_default("case", "category") == "technical_issue"
    assert selectors.value_choices("contact", "company_role")[0] == (
        "decision_maker",
        "Decision maker",
    )
    assert selectors.value_default("account", "lead_source") == "website"
    count = SystemFieldValue.objects.count()
    row = SystemFieldValue.objects.get(field="lead_source", value="website")
    services.system_value_update(actor=admin_user, value_row=row, label="Our website")

    seed_value_lists(io.StringIO())

    assert SystemFieldValue.objects.count() == count
    assert SystemFieldValue.objects.get(pk=row.pk).label == "Our website"


# --- pages -------------------------------------------------------------------------------


def test_the_fields_home_and_entity_page_show_both_blocks(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    CustomFieldFactory(label="Partner tier")
    home = admin_client.get("/setup/fields/")
    assert home.status_code == 200
    assert b"/setup/fields/account/" in home.content

    with django_assert_max_num_queries(6):
        page = admin_client.get("/setup/fields/account/")
    assert page.status_code == 200
    assert "Customization of default fields" in page.content.decode()
    assert [field.name for field in page.context["system_fields"]] == [
        "number", "name", "account_type", "parent", "account_manager", "status", "currency",
        "transaction_currency", "language", "industry", "lead_source", "vat_number", "email",
        "phone", "website", "permission_rule", "is_ordering_enabled", "billing_account",
        "country", "state", "payment_method", "payment_days", "is_taxable", "credit_limit",
        "is_credit_unlimited", "is_prorated", "partial_charges", "billing_day_rule",
        "billing_day", "first_order_date", "owner", "created_at", "updated_at",
    ]  # fmt: skip
    assert [field.label for field in page.context["custom_fields"]] == ["Partner tier"]
    assert b"/setup/fields/account/industry/values/" in page.content


def test_an_unknown_entity_or_field_is_404(admin_client: Client) -> None:
    assert admin_client.get("/setup/fields/spaceships/").status_code == 404
    assert admin_client.get("/setup/fields/account/name/values/").status_code == 404


def test_the_value_list_editor_saves_order_default_active_and_new_values(
    admin_client: Client,
) -> None:
    # given
    retail, it = industries("Retail", "IT", default="Retail")
    page = admin_client.get("/setup/fields/account/industry/values/")
    assert page.status_code == 200
    assert page.context["default_prefix"] == "form-0"

    # when
    response = admin_client.post(
        "/setup/fields/account/industry/values/",
        {
            **management(total=4, initial=2),
            "form-0-pk": retail.pk,
            "form-0-label": "Retail and e-commerce",
            "form-0-order_no": "30",
            "form-0-is_active": "on",
            "form-1-pk": it.pk,
            "form-1-label": "IT",
            "form-1-order_no": "10",
            "form-2-value": "",
            "form-2-label": "Banking",
            "form-2-order_no": "20",
            "form-2-is_active": "on",
            "form-3-label": "",
            "default": "form-2",
        },
    )

    # then
    assert response.status_code == 302
    rows = list(
        SystemFieldValue.objects.filter(field="industry")
        .order_by("order_no")
        .values_list("value", "label", "is_default", "is_active")
    )
    assert rows == [
        ("it", "IT", False, False),
        ("banking", "Banking", True, True),
        ("retail", "Retail and e-commerce", False, True),
    ]


def test_the_editor_preselects_no_default_when_there_is_none(admin_client: Client) -> None:
    industries("Retail", "IT")
    page = admin_client.get("/setup/fields/account/industry/values/")
    assert page.context["default_prefix"] == ""
    assert 'id="default-none" checked' in page.content.decode()


def test_the_editor_refuses_an_inactive_default_and_changes_nothing(admin_client: Client) -> None:
    [retail] = industries("Retail")
    response = admin_client.post(
        "/setup/fields/account/industry/values/",
        {
            **management(total=1, initial=1),
            "form-0-pk": retail.pk,
            "form-0-label": "Renamed",
            "form-0-order_no": "10",
            "default": "form-0",
        },
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == [
        "An inactive value cannot be the default."
    ]
    retail.refresh_from_db()
    assert (retail.label, retail.is_default) == ("Retail", False)


def test_a_setup_viewer_may_read_but_not_save_values(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    client = client_for(make_user("setup.view"))
    assert client.get("/setup/fields/account/industry/values/").status_code == 200
    response = client.post("/setup/fields/account/industry/values/", management(0, 0))
    assert response.status_code == 403


# --- API ---------------------------------------------------------------------------------


@pytest.fixture
def admin_api(admin_user: Any) -> APIClient:
    token, _created = Token.objects.get_or_create(user=admin_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.default_format = "json"
    return client


def test_the_api_lists_and_updates_values(admin_api: APIClient) -> None:
    retail, it = industries("Retail", "IT", default="Retail")

    listed = admin_api.get("/api/v1/setup/system-field-values/", {"field": "industry"})
    assert [row["value"] for row in listed.json()["results"]] == ["retail", "it"]

    response = admin_api.patch(
        f"/api/v1/setup/system-field-values/{it.pk}/", {"is_default": True, "order_no": 5}
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": it.pk,
        "entity": "account",
        "field": "industry",
        "value": "it",
        "label": "IT",
        "order_no": 5,
        "is_default": True,
        "is_active": True,
    }
    retail.refresh_from_db()
    assert retail.is_default is False


def test_the_api_adds_a_value_but_never_renames_a_key(admin_api: APIClient) -> None:
    created = admin_api.post(
        "/api/v1/setup/system-field-values/",
        {"entity": "case", "field": "category", "label": "Security incident"},
    )
    assert created.status_code == 201
    assert created.json()["value"] == "security_incident"
    renamed = admin_api.patch(
        f"/api/v1/setup/system-field-values/{created.json()['id']}/", {"value": "other"}
    )
    assert renamed.status_code == 400
    assert renamed.json()["errors"] == {"value": ["This cannot change once the value exists."]}
