"""Custom fields: the one validation of values, and the services that define fields."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from bss.core.custom_fields import custom_fields_for
from bss.core.events import Event
from bss.setup.fields import services
from bss.setup.fields.values import account_context_of, rule_matches, validate_custom_data
from bss.setup.models import CustomFieldDefinition
from tests.factories import AccountFactory
from tests.setup.factories_rules_fields import CustomFieldFactory

pytestmark = pytest.mark.django_db


def errors_of(data: dict[str, Any], **options: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        validate_custom_data("account", data, **options)
    return refused.value.message_dict


@pytest.mark.parametrize(
    ("field_type", "raw", "stored"),
    [
        ("text", "  Gold partner ", "Gold partner"),
        ("long_text", "Line one\nLine two", "Line one\nLine two"),
        ("integer", "42", 42),
        ("integer", 7, 7),
        ("integer", Decimal("3"), 3),
        ("decimal", "12.50", "12.5"),
        ("decimal", Decimal("1000"), "1000"),
        ("decimal", 0.1, "0.1"),
        ("date", "2026-03-31", "2026-03-31"),
        ("date", date(2026, 1, 2), "2026-01-02"),
        ("boolean", True, True),
        ("boolean", "no", False),
        ("choice", "Gold", "Gold"),
        ("multi_choice", ["Silver", "Gold", "Silver"], ["Silver", "Gold"]),
        ("email", "it@example.com", "it@example.com"),
        ("url", "https://example.com/x", "https://example.com/x"),
        ("text", "", None),
        ("multi_choice", [], None),
    ],
)
def test_each_type_is_stored_in_its_json_form(field_type: str, raw: Any, stored: Any) -> None:
    CustomFieldFactory(
        code="value",
        label="Value",
        field_type=field_type,
        choices=["Gold", "Silver"] if "choice" in field_type else [],
    )
    assert validate_custom_data("account", {"value": raw}, existing={}) == (
        {} if stored is None else {"value": stored}
    )


@pytest.mark.parametrize(
    ("field_type", "raw", "message"),
    [
        ("text", 12, "Tier must be text."),
        ("text", "x" * 256, "Tier is limited to 255 characters."),
        ("integer", "4.5", "Tier must be a whole number."),
        ("integer", True, "Tier must be a whole number."),
        ("decimal", "ten", "Tier must be a number."),
        ("decimal", "NaN", "Tier must be a number."),
        ("date", "31/03/2026", "Tier must be a date (YYYY-MM-DD)."),
        ("date", "2026-02-30", "Tier must be a date (YYYY-MM-DD)."),
        ("boolean", "maybe", "Tier must be yes or no."),
        ("choice", "Bronze", "Tier: “Bronze” is not one of the choices."),
        ("multi_choice", "Gold", "Tier must be a list of choices."),
        ("email", "not-an-email", "Tier must be a valid email address."),
        ("url", "ftp://example.com", "Tier must be a valid web address (http or https)."),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(field_type: str, raw: Any, message: str) -> None:
    CustomFieldFactory(
        code="tier",
        label="Tier",
        field_type=field_type,
        choices=["Gold"] if "choice" in field_type else [],
    )
    assert errors_of({"tier": raw}, existing={}) == {"tier": [message]}


def test_required_rejects_empty_and_missing_values() -> None:
    CustomFieldFactory(code="vat_office", label="VAT office", is_required=True)
    assert errors_of({"vat_office": "  "}) == {"vat_office": ["VAT office is required."]}
    assert errors_of({}) == {"vat_office": ["VAT office is required."]}
    assert errors_of({"vat_office": None}, existing={"vat_office": "Athens"}) == {
        "vat_office": ["VAT office is required."]
    }
    assert validate_custom_data("account", {}, existing={"vat_office": "Athens"}) == {
        "vat_office": "Athens"
    }


def test_defaults_apply_on_create_only() -> None:
    CustomFieldFactory(
        code="tier", field_type="choice", choices=["Gold", "Silver"], default_value="Silver"
    )
    CustomFieldFactory(code="seats", field_type="integer", default_value=5)
    assert validate_custom_data("account", {"seats": 9}) == {"tier": "Silver", "seats": 9}
    assert validate_custom_data("account", {}, existing={}) == {}


def test_unknown_and_removed_fields() -> None:
    CustomFieldFactory(code="legacy", label="Legacy code", is_active=False)
    stored = {"legacy": "L-1"}
    assert errors_of({"nope": "x"}, existing={}) == {"nope": ["Unknown custom field “nope”."]}
    assert errors_of({"legacy": "L-2"}, existing=stored) == {
        "legacy": ["Legacy code has been removed and cannot be changed."]
    }
    assert validate_custom_data("account", {"legacy": "L-1"}, existing=stored) == stored


def test_a_field_hidden_by_its_display_rule_is_not_required() -> None:
    # given a required field shown only for resellers
    CustomFieldFactory(
        code="partner_id",
        label="Partner ID",
        is_required=True,
        display_rule={"field": "account_type", "values": ["reseller"]},
    )

    # then
    assert validate_custom_data("account", {}, account_context={"account_type": "direct"}) == {}
    assert errors_of({}, account_context={"account_type": "reseller"}) == {
        "partner_id": ["Partner ID is required."]
    }


def test_a_display_rule_may_read_another_custom_field_of_the_account() -> None:
    CustomFieldFactory(code="segment", field_type="choice", choices=["SMB", "Enterprise"])
    CustomFieldFactory(
        code="account_manager",
        label="Account manager",
        is_required=True,
        display_rule={"field": "segment", "values": ["Enterprise"]},
    )
    account = AccountFactory(custom_data={"segment": "SMB"})
    context = account_context_of(account)

    assert validate_custom_data("account", {}, account_context=context, existing={"segment": "SMB"})
    assert errors_of(
        {"segment": "Enterprise"}, account_context=context, existing={"segment": "SMB"}
    ) == {"account_manager": ["Account manager is required."]}


def test_rule_matching_reads_lists_booleans_and_missing_values() -> None:
    rule = {"field": "flags", "values": ["b", "true"]}
    assert rule_matches(rule, {"flags": ["a", "b"]}) is True
    assert rule_matches(rule, {"flags": True}) is True
    assert rule_matches(rule, {"flags": "c"}) is False
    assert rule_matches(rule, {}) is False
    assert rule_matches(rule, None) is True
    assert rule_matches({}, {"flags": "c"}) is True


def test_account_context_has_fields_by_name_and_custom_values() -> None:
    account = AccountFactory(account_type="direct", custom_data={"segment": "SMB"})
    context = account_context_of(account, {"account_type": "reseller"})
    assert context["account_type"] == "reseller"
    assert context["segment"] == "SMB"
    assert context["owner"] == account.owner_id


# --- definition services -----------------------------------------------------------------


def test_creating_a_field_makes_a_key_from_the_label(admin_user: Any) -> None:
    definition = services.custom_field_create(
        actor=admin_user,
        entity="account",
        label="Storage quota",
        field_type="decimal",
        suffix="GB",
        default_value="10.0",
    )
    assert definition.code == "storage_quota"
    assert definition.default_value == "10"
    assert definition.group == "Custom fields"
    assert Event.objects.get(name="custom_field.created").payload == {
        "entity": "account",
        "code": "storage_quota",
        "type": "decimal",
    }
    again = services.custom_field_create(
        actor=admin_user, entity="account", label="Storage quota", field_type="text"
    )
    assert again.code == "storage_quota_2"


@pytest.mark.parametrize(
    ("arguments", "errors"),
    [
        ({"field_type": "choice"}, {"choices": ["A choice field needs at least one choice."]}),
        (
            {"field_type": "choice", "choices": ["A", "A"]},
            {"choices": ["Each choice may appear only once."]},
        ),
        ({"code": "name"}, {"code": ["“name” is already a system field of this entity."]}),
        (
            {"code": "9lives"},
            {
                "code": [
                    "A key uses lower-case letters, digits and underscores, starting with a "
                    "letter (at most 50)."
                ]
            },
        ),
        (
            {"field_type": "integer", "default_value": "many"},
            {"default_value": ["Region must be a whole number."]},
        ),
        (
            {"display_rule": {"field": "shoe_size", "values": ["42"]}},
            {"display_rule": ["“shoe_size” is not an attribute of the account."]},
        ),
        (
            {"display_rule": {"field": "account_type", "values": []}},
            {"display_rule": ["A display rule needs at least one value to match."]},
        ),
    ],
)
def test_a_bad_definition_is_refused(
    admin_user: Any, arguments: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    options = {"field_type": "text", **arguments}
    with pytest.raises(ValidationError) as refused:
        services.custom_field_create(actor=admin_user, entity="account", label="Region", **options)
    assert refused.value.message_dict == errors
    assert CustomFieldDefinition.objects.count() == 0


def test_a_provisioning_code_is_unique(admin_user: Any) -> None:
    CustomFieldFactory(provisioning_code=1245)
    with pytest.raises(ValidationError) as refused:
        services.custom_field_create(
            actor=admin_user,
            entity="contact",
            label="Tenant",
            field_type="text",
            provisioning_code=1245,
        )
    assert refused.value.message_dict == {
        "provisioning_code": ["The provisioning code 1245 is used by another field."]
    }


def test_key_type_and_entity_never_change(admin_user: Any) -> None:
    definition = CustomFieldFactory(code="tier")
    with pytest.raises(ValidationError) as refused:
        services.custom_field_update(actor=admin_user, definition=definition, field_type="integer")
    assert refused.value.message_dict == {
        "field_type": ["This cannot change once the field exists."]
    }


def test_an_update_records_only_what_changed(admin_user: Any) -> None:
    definition = CustomFieldFactory(code="tier", label="Tier")
    services.custom_field_update(
        actor=admin_user, definition=definition, label="Partner tier", is_search_criterion=True
    )
    definition.refresh_from_db()
    assert definition.label == "Partner tier"
    assert Event.objects.get(name="custom_field.updated").payload["fields"] == [
        "label",
        "is_search_criterion",
    ]


def test_remove_hides_and_keeps_values_then_purge_erases_them(admin_user: Any) -> None:
    # given
    definition = CustomFieldFactory(code="legacy", label="Legacy")
    CustomFieldFactory(code="kept")
    holder = AccountFactory(custom_data={"legacy": "L-1", "kept": "yes"})
    other = AccountFactory(custom_data={"kept": "no"})

    # when removed
    services.custom_field_remove(actor=admin_user, definition=definition)

    # then hidden, values kept
    assert [field.code for field in custom_fields_for("account")] == ["kept"]
    assert Account.objects.get(pk=holder.pk).custom_data == {"legacy": "L-1", "kept": "yes"}

    # when purged
    purged = services.custom_field_purge(actor=admin_user, definition=definition)

    # then
    assert purged == 1
    assert Account.objects.get(pk=holder.pk).custom_data == {"kept": "yes"}
    assert Account.objects.get(pk=other.pk).custom_data == {"kept": "no"}
    assert not CustomFieldDefinition.objects.filter(code="legacy").exists()
    assert Event.objects.get(name="custom_field.purged").payload == {
        "entity": "account",
        "code": "legacy",
        "records": 1,
    }


def test_an_active_field_cannot_be_purged(admin_user: Any) -> None:
    definition = CustomFieldFactory(code="live", label="Live")
    AccountFactory(custom_data={"live": "x"})
    with pytest.raises(ValidationError) as refused:
        services.custom_field_purge(actor=admin_user, definition=definition)
    assert refused.value.messages == ["Remove the field “Live” before purging its values."]
    assert Account.objects.filter(custom_data__has_key="live").count() == 1


def test_restore_brings_a_removed_field_back_with_its_values(admin_user: Any) -> None:
    definition = CustomFieldFactory(code="legacy", is_active=False)
    services.custom_field_restore(actor=admin_user, definition=definition)
    assert [field.code for field in custom_fields_for("account")] == ["legacy"]
