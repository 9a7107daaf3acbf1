"""Account fields and their rules: value lists, VAT numbers, currencies, manager, presets, status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import selectors, services
from accounts.models import Account
from accounts.vat import normalize_vat_number
from bss.core.models import Event
from bss.setup.models import Currency
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("EL 094 259 216", "", "EL094259216"),
        ("GR094259216", "", "EL094259216"),
        ("094259216", "GR", "EL094259216"),
        ("de123.456.789", "", "DE123456789"),
        ("ATU12345678", "", "ATU12345678"),
        ("NL123456789B01", "", "NL123456789B01"),
        ("FR 12 345678901", "", "FR12345678901"),
        ("ESX1234567X", "", "ESX1234567X"),
        ("GB123456789", "GB", "GB123456789"),
        ("12-3456789", "US", "123456789"),
        ("", "DE", ""),
    ],
)
def test_vat_numbers_are_normalized_with_their_eu_prefix(
    typed: str, country: str, stored: str
) -> None:
    assert normalize_vat_number(typed, country_code=country) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("DE12345678", "DE12345678 is not a valid DE VAT number: expected DE123456789."),
        ("EL12345", "EL12345 is not a valid EL VAT number: expected EL123456789."),
        ("AT12345678", "AT12345678 is not a valid AT VAT number: expected ATU12345678."),
        ("NL123456789", "NL123456789 is not a valid NL VAT number: expected NL123456789B01."),
    ],
)
def test_an_eu_vat_number_of_the_wrong_format_is_refused(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_vat_number(typed)
    assert refused.value.messages == [message]


def test_the_service_names_the_vat_field_and_writes_nothing(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="Bad VAT", vat_number="DE12")
    assert refused.value.message_dict == {
        "vat_number": ["DE12 is not a valid DE VAT number: expected DE123456789."]
    }
    assert not Account.objects.exists()


def test_a_duplicate_vat_number_is_saved_with_a_warning(
    admin_client: Client, admin_user: Any
) -> None:
    # given
    services.account_create(actor=admin_user, name="First Co", vat_number="EL094259216")

    # when
    response = admin_client.post(
        "/accounts/new/",
        {
            "name": "Second Co",
            "account_type": "direct",
            "status": "active",
            "currency": "EUR",
            "vat_number": "el094259216",
        },
        follow=True,
    )

    # then
    second = Account.objects.get(name="Second Co")
    assert second.vat_number == "EL094259216"
    first = Account.objects.get(name="First Co")
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == [f"The VAT number EL094259216 is also used by {first.number} First Co."]


def test_the_duplicate_warning_counts_accounts_the_user_cannot_see(admin_user: Any) -> None:
    services.account_create(actor=admin_user, name="Hidden Co", vat_number="DE123456789")
    mine = services.account_create(actor=admin_user, name="Mine", vat_number="DE123456789")
    stranger = UserFactory()
    assert selectors.vat_duplicate_warning("DE123456789", user=stranger, exclude=mine) == (
        "The VAT number DE123456789 is also used by 1 other account(s)."
    )


def test_industry_and_lead_source_come_from_the_value_lists(
    admin_user: Any, value_lists: None
) -> None:
    account = services.account_create(
        actor=admin_user, name="Clinic", industry="healthcare", lead_source="referral"
    )
    assert (account.industry, account.lead_source) == ("healthcare", "referral")
    with pytest.raises(ValidationError) as refused:
        services.account_update(actor=admin_user, account=account, industry="mining")
    assert refused.value.message_dict == {"industry": ["“mining” is not an active industry value."]}


def test_the_form_offers_the_value_lists(admin_client: Client, value_lists: None) -> None:
    form = admin_client.get("/accounts/new/").context["form"]
    assert ("healthcare", "Healthcare") in form.fields["industry"].choices
    assert ("referral", "Customer referral") in form.fields["lead_source"].choices
    assert ("el", "Greek") in [
        (code, str(label)) for code, label in form.fields["language"].choices
    ]


def test_once_currencies_are_set_up_only_active_ones_are_accepted(admin_user: Any) -> None:
    Currency.objects.create(code="EUR", name="Euro")
    Currency.objects.create(code="CHF", name="Swiss franc", is_active=False)
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="Zurich AG", currency="CHF")
    assert refused.value.message_dict == {
        "currency": ["CHF is not an active currency of the organization."]
    }
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="Typo AG", currency="EUX")
    assert refused.value.message_dict == {"currency": ["EUX is not an ISO 4217 currency code."]}
    account = services.account_create(
        actor=admin_user, name="Euro AG", currency="eur", transaction_currency=""
    )
    assert account.currency == "EUR"


def test_the_account_manager_is_distinct_from_the_owner(admin_user: Any) -> None:
    manager = UserFactory(first_name="Maria", last_name="Sales")
    account = services.account_create(actor=admin_user, name="Managed", account_manager=manager)
    assert (account.owner, account.account_manager) == (admin_user, manager)


def test_an_inactive_user_cannot_become_manager(admin_user: Any) -> None:
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="X", account_manager=gone)
    assert list(refused.value.message_dict) == ["account_manager"]


@pytest.mark.parametrize(
    ("account_type", "expected"),
    [
        (
            "direct",
            {
                "is_prorated": False,
                "partial_charges": "order_day",
                "billing_day_rule": "first_order",
                "payment_days": 5,
                "is_credit_unlimited": True,
            },
        ),
        (
            "reseller",
            {
                "is_prorated": True,
                "partial_charges": "billing_day",
                "billing_day_rule": "first",
                "payment_days": 30,
                "is_credit_unlimited": False,
            },
        ),
    ],
)
def test_new_accounts_get_the_preset_of_their_type(
    admin_user: Any, account_type: str, expected: dict[str, Any]
) -> None:
    account = services.account_create(actor=admin_user, name="Preset", account_type=account_type)
    assert {name: getattr(account, name) for name in expected} == expected


def test_a_resellers_client_is_billed_through_its_reseller_by_default(admin_user: Any) -> None:
    reseller = services.account_create(actor=admin_user, name="Reseller", account_type="reseller")
    client = services.account_create(
        actor=admin_user, name="Client", account_type="client", parent=reseller
    )
    assert client.billing_account == reseller
    assert (client.is_prorated, client.partial_charges, client.payment_days) == (
        True,
        "billing_day",
        30,
    )
    other_currency = services.account_create(
        actor=admin_user, name="USD client", account_type="client", parent=reseller, currency="USD"
    )
    assert other_currency.billing_account is None


def test_billing_through_another_account_needs_the_same_currency_and_no_chain(
    admin_user: Any,
) -> None:
    payer = AccountFactory(name="Payer", currency="EUR")
    child = AccountFactory(name="Child", currency="EUR", billing_account=payer)
    account = AccountFactory(name="Direct", currency="USD")
    with pytest.raises(ValidationError) as refused:
        services.account_update(actor=admin_user, account=account, billing_account=payer)
    assert refused.value.message_dict == {
        "billing_account": [
            "Payer is billed in EUR, this account in USD: invoices need one currency."
        ]
    }
    with pytest.raises(ValidationError) as refused:
        services.account_update(actor=admin_user, account=payer, billing_account=payer)
    assert refused.value.message_dict == {
        "billing_account": ["An account cannot be billed through itself."]
    }
    with pytest.raises(ValidationError) as refused:
        services.account_update(
            actor=admin_user, account=AccountFactory(currency="EUR"), billing_account=child
        )
    assert "is itself billed through another account" in refused.value.messages[0]


def test_ordering_needs_a_country_and_a_us_state(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="No country", is_ordering_enabled=True)
    assert list(refused.value.message_dict) == ["country"]
    with pytest.raises(ValidationError) as refused:
        services.account_create(
            actor=admin_user, name="Texan", is_ordering_enabled=True, country="US"
        )
    assert refused.value.message_dict == {
        "state": ["The state is required for United States: taxes depend on it."]
    }
    with pytest.raises(ValidationError) as refused:
        services.account_create(
            actor=admin_user, name="Odd", is_ordering_enabled=True, country="US", state="CA-QC"
        )
    assert refused.value.message_dict == {
        "state": ["CA-QC is not a state or region of United States."]
    }
    texan = services.account_create(
        actor=admin_user, name="Texan", is_ordering_enabled=True, country="us", state="us-tx"
    )
    assert (texan.country, texan.state) == ("US", "US-TX")


@pytest.mark.parametrize("day", [0, 29, None])
def test_a_fixed_billing_day_is_between_1_and_28(admin_user: Any, day: int | None) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(
            actor=admin_user, name="Fixed", billing_day_rule="fixed", billing_day=day
        )
    assert refused.value.message_dict == {
        "billing_day": ["A fixed billing day is a day from 1 to 28 of the month."]
    }


def test_the_database_refuses_a_fixed_day_out_of_range() -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(billing_day_rule="fixed", billing_day=31)


def test_the_billing_profile_has_what_billing_needs(admin_user: Any) -> None:
    # given a reseller with its own options and a client billed through it
    reseller = services.account_create(
        actor=admin_user,
        name="Reseller",
        account_type="reseller",
        is_ordering_enabled=True,
        country="GR",
        vat_number="094259216",
        billing_day_rule="fixed",
        billing_day=10,
        payment_days=30,
    )
    client = services.account_create(
        actor=admin_user,
        name="Client",
        account_type="client",
        parent=reseller,
        is_ordering_enabled=True,
        country="DE",
    )

    # when
    profile = selectors.billing_profile(client)

    # then
    assert profile.account_id == client.pk
    assert profile.billing_account_id == reseller.pk
    assert profile.is_billed_through_another_account is True
    assert (profile.country, profile.vat_number, profile.currency) == ("GR", "EL094259216", "EUR")
    assert (profile.billing_day_rule, profile.billing_day_in(2026, 2)) == ("fixed", 10)
    assert profile.due_date(date(2026, 1, 10)) == date(2026, 2, 9)
    assert profile.is_prorated is True
    assert profile.invoices_on_order_day is False


def test_day_of_first_order_bills_on_the_last_day_of_shorter_months(admin_user: Any) -> None:
    account = services.account_create(actor=admin_user, name="Late", billing_day_rule="first_order")
    assert services.account_note_first_order(
        actor=admin_user, account=account, ordered_on=date(2026, 1, 31)
    )
    assert not services.account_note_first_order(
        actor=admin_user, account=account, ordered_on=date(2026, 3, 5)
    )
    account.refresh_from_db()
    profile = selectors.billing_profile(account)
    assert profile.first_order_date == date(2026, 1, 31)
    assert [profile.billing_day_in(2026, month) for month in (1, 2, 4)] == [31, 28, 30]


def test_inactive_accounts_cannot_order(admin_user: Any) -> None:
    account = services.account_create(
        actor=admin_user, name="Shop", is_ordering_enabled=True, country="GR"
    )
    assert selectors.can_order(account) is True
    services.account_deactivate(actor=admin_user, account=account)
    assert selectors.can_order(account) is False
    assert list(Event.objects.filter(aggregate_id=str(account.pk)).values_list("name", "payload"))[
        -1
    ] == ("account.updated", {"fields": ["status"]})


def test_credit_limit_is_never_negative(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(actor=admin_user, name="Neg", credit_limit=Decimal("-1"))
    assert refused.value.message_dict == {"credit_limit": ["The amount cannot be negative."]}
