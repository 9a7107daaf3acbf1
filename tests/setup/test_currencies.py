"""Currencies: rates by date, conversion to the cent, active-only choices, the pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from bss.core.translation import forget_overrides
from bss.setup.currencies.forms import ActiveCurrencyField
from bss.setup.currencies.seed import seed_currencies
from bss.setup.currencies.selectors import (
    ExchangeRateMissing,
    active_currency_choices,
    convert,
    rate_on,
)
from bss.setup.currencies.services import (
    currency_create,
    currency_set_home,
    currency_update,
    exchange_rate_set,
)
from bss.setup.models import Currency, ExchangeRate, Organization
from bss.setup.organization.selectors import organization


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()


@pytest.fixture
def currencies(db: None) -> dict[str, Currency]:
    """EUR at home; USD 0.92 from 1 March and 0.95 from 1 June 2026; JPY 0.0062."""
    made = {code: currency_create(actor=None, code=code) for code in ("EUR", "USD", "JPY", "GBP")}
    currency_set_home(actor=None, currency=made["EUR"])
    exchange_rate_set(
        actor=None, currency=made["USD"], valid_from=date(2026, 3, 1), rate=Decimal("0.92")
    )
    exchange_rate_set(
        actor=None, currency=made["USD"], valid_from=date(2026, 6, 1), rate=Decimal("0.95")
    )
    exchange_rate_set(
        actor=None, currency=made["JPY"], valid_from=date(2026, 1, 1), rate=Decimal("0.0062")
    )
    cache.clear()
    return made


def test_a_rate_before_the_first_one_is_an_error(currencies: dict[str, Currency]) -> None:
    with pytest.raises(
        ExchangeRateMissing, match="No exchange rate for USD is valid on 2026-02-28"
    ):
        rate_on("USD", date(2026, 2, 28))


def test_a_currency_without_any_rate_is_an_error(currencies: dict[str, Currency]) -> None:
    with pytest.raises(ExchangeRateMissing):
        rate_on("GBP", date(2026, 7, 1))


def test_the_rate_starting_on_the_day_applies_that_day(currencies: dict[str, Currency]) -> None:
    assert rate_on("USD", date(2026, 3, 1)) == Decimal("0.92")
    assert rate_on("USD", date(2026, 6, 1)) == Decimal("0.95")


def test_between_two_rates_the_earlier_one_still_applies(currencies: dict[str, Currency]) -> None:
    assert rate_on("USD", date(2026, 5, 31)) == Decimal("0.92")
    assert rate_on("USD", date(2027, 1, 1)) == Decimal("0.95")


def test_the_home_currency_rate_is_always_one(currencies: dict[str, Currency]) -> None:
    assert rate_on("EUR", date(1999, 1, 1)) == Decimal(1)


def test_conversion_goes_through_the_home_currency_to_the_cent(
    currencies: dict[str, Currency],
) -> None:
    day = date(2026, 4, 15)

    assert convert(Decimal("100.00"), "USD", "EUR", day) == Decimal("92.00")
    assert convert(Decimal("10.00"), "EUR", "USD", day) == Decimal("10.87")  # 10.869565...
    assert convert(Decimal("0.01"), "EUR", "USD", day) == Decimal("0.01")  # 0.01086...
    assert convert(Decimal("19.99"), "USD", "JPY", day) == Decimal("2966")  # 2966.2064...
    assert convert(Decimal("1000"), "JPY", "USD", day) == Decimal("6.74")  # 6.7391...
    assert convert(Decimal("2966"), "JPY", "EUR", day) == Decimal("18.39")  # 18.3892
    assert convert(Decimal("-100.005"), "EUR", "EUR", day) == Decimal("-100.01")


def test_conversion_rounds_ties_half_up(currencies: dict[str, Currency]) -> None:
    # 0.125 USD * 0.92 = 0.115 EUR exactly: the tie goes up.
    assert convert(Decimal("0.125"), "USD", "EUR", date(2026, 4, 1)) == Decimal("0.12")
    assert convert(Decimal("12.5"), "USD", "EUR", date(2026, 4, 1)) == Decimal("11.50")
    assert convert(Decimal("0.625"), "USD", "EUR", date(2026, 4, 1)) == Decimal("0.58")  # 0.575


def test_conversion_uses_the_rates_of_the_day(currencies: dict[str, Currency]) -> None:
    assert convert(Decimal("100"), "USD", "EUR", date(2026, 5, 31)) == Decimal("92.00")
    assert convert(Decimal("100"), "USD", "EUR", date(2026, 6, 1)) == Decimal("95.00")
    with pytest.raises(ExchangeRateMissing):
        convert(Decimal("100"), "USD", "EUR", date(2026, 1, 1))


def test_conversion_refuses_floats(currencies: dict[str, Currency]) -> None:
    with pytest.raises(TypeError):
        convert(1.5, "USD", "EUR", date(2026, 4, 1))  # type: ignore[arg-type]


def test_adding_a_currency_takes_its_name_from_babel(db: None) -> None:
    currency = currency_create(actor=None, code="chf", culture="de-CH")

    assert (currency.code, currency.name, currency.culture, currency.minor_units) == (
        "CHF",
        "Swiss Franc",
        "de_CH",
        2,
    )
    assert Currency.objects.get(code="CHF").is_active is True


@pytest.mark.parametrize("code", ["ZZZ", "XXX", "EU", "", "12A"])
def test_a_code_that_is_not_iso_4217_is_refused(db: None, code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        currency_create(actor=None, code=code)

    assert list(refused.value.message_dict) == ["code"]
    assert Currency.objects.count() == 0


def test_a_culture_babel_does_not_know_is_refused(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        currency_create(actor=None, code="USD", culture="xx_YY")

    assert list(refused.value.message_dict) == ["culture"]


def test_minor_units_come_from_babel(currencies: dict[str, Currency]) -> None:
    assert {code: currency.minor_units for code, currency in currencies.items()} == {
        "EUR": 2,
        "USD": 2,
        "JPY": 0,
        "GBP": 2,
    }


def test_inactive_currencies_are_not_offered_anywhere(currencies: dict[str, Currency]) -> None:
    currency_update(actor=None, currency=currencies["GBP"], is_active=False)

    class PriceForm(forms.Form):
        currency = ActiveCurrencyField()

    assert [code for code, _label in active_currency_choices()] == ["EUR", "JPY", "USD"]
    refused = PriceForm(data={"currency": "GBP"})
    assert not refused.is_valid()
    assert list(refused.errors) == ["currency"]
    assert PriceForm(data={"currency": "USD"}).is_valid()


def test_a_record_keeps_its_own_currency_after_it_was_deactivated(
    currencies: dict[str, Currency],
) -> None:
    currency_update(actor=None, currency=currencies["GBP"], is_active=False)

    class EditForm(forms.Form):
        currency = ActiveCurrencyField(keep="GBP")

    assert EditForm(data={"currency": "GBP"}).is_valid()
    assert "GBP" not in dict(active_currency_choices())


def test_the_home_currency_cannot_be_deactivated(currencies: dict[str, Currency]) -> None:
    with pytest.raises(ValidationError) as refused:
        currency_update(actor=None, currency=currencies["EUR"], is_active=False)

    assert list(refused.value.message_dict) == ["is_active"]
    assert Currency.objects.get(code="EUR").is_active is True


def test_the_home_currency_has_no_rate_of_its_own(currencies: dict[str, Currency]) -> None:
    with pytest.raises(ValidationError) as refused:
        exchange_rate_set(
            actor=None, currency=currencies["EUR"], valid_from=date(2026, 1, 1), rate=Decimal(2)
        )

    assert refused.value.message_dict == {
        "currency": ["EUR is the home currency; its rate is always 1."]
    }


def test_a_second_rate_on_the_same_day_replaces_the_first(currencies: dict[str, Currency]) -> None:
    exchange_rate_set(
        actor=None, currency=currencies["USD"], valid_from=date(2026, 3, 1), rate=Decimal("0.93")
    )

    assert rate_on("USD", date(2026, 3, 2)) == Decimal("0.93")
    assert currencies["USD"].rates.count() == 2


@pytest.mark.parametrize("rate", [Decimal(0), Decimal("-1"), Decimal("0.123456789")])
def test_a_rate_must_be_positive_with_at_most_eight_decimals(
    currencies: dict[str, Currency], rate: Decimal
) -> None:
    with pytest.raises(ValidationError) as refused:
        exchange_rate_set(
            actor=None, currency=currencies["GBP"], valid_from=date(2026, 1, 1), rate=rate
        )

    assert list(refused.value.message_dict) == ["rate"]
    assert currencies["GBP"].rates.count() == 0


def test_changing_the_home_currency_rebases_every_rate(currencies: dict[str, Currency]) -> None:
    exchange_rate_set(
        actor=None, currency=currencies["JPY"], valid_from=date(2026, 3, 1), rate=Decimal("0.0046")
    )
    ExchangeRate.objects.filter(currency__code="JPY", valid_from=date(2026, 1, 1)).delete()

    currency_set_home(actor=None, currency=currencies["USD"])

    assert organization().home_currency.code == "USD"
    assert not currencies["USD"].rates.exists()
    # 1 EUR = 1 / 0.92 USD from March, 1 / 0.95 USD from June.
    assert rate_on("EUR", date(2026, 4, 1)) == Decimal("1.08695652")
    assert rate_on("EUR", date(2026, 7, 1)) == Decimal("1.05263158")
    # 0.0046 / 0.92 from March: 1 JPY = 0.005 USD.
    assert rate_on("JPY", date(2026, 4, 1)) == Decimal("0.005")


def test_a_home_change_that_cannot_rebase_a_rate_changes_nothing(
    currencies: dict[str, Currency],
) -> None:
    exchange_rate_set(
        actor=None, currency=currencies["GBP"], valid_from=date(2025, 1, 1), rate=Decimal("1.17")
    )
    before = list(ExchangeRate.objects.order_by("pk").values_list("currency__code", "rate"))

    with pytest.raises(ValidationError) as refused:
        currency_set_home(actor=None, currency=currencies["USD"])

    assert "home_currency" in refused.value.message_dict
    assert Organization.objects.get().home_currency.code == "EUR"
    assert list(ExchangeRate.objects.order_by("pk").values_list("currency__code", "rate")) == before


def test_rebasing_keeps_conversions_consistent(db: None) -> None:
    eur = currency_create(actor=None, code="EUR")
    usd = currency_create(actor=None, code="USD")
    gbp = currency_create(actor=None, code="GBP")
    currency_set_home(actor=None, currency=eur)
    exchange_rate_set(actor=None, currency=usd, valid_from=date(2026, 1, 1), rate=Decimal("0.8"))
    exchange_rate_set(actor=None, currency=gbp, valid_from=date(2026, 1, 1), rate=Decimal("1.2"))
    before = convert(Decimal("100"), "GBP", "USD", date(2026, 2, 1))

    currency_set_home(actor=None, currency=usd)
    cache.clear()

    assert rate_on("GBP", date(2026, 2, 1)) == Decimal("1.5")
    assert rate_on("EUR", date(2026, 2, 1)) == Decimal("1.25")
    assert convert(Decimal("100"), "GBP", "USD", date(2026, 2, 1)) == before == Decimal("150.00")


def test_the_seed_is_idempotent(db: None) -> None:
    seed_currencies(StringIO())
    seed_currencies(StringIO())
    cache.clear()

    assert list(Currency.objects.values_list("code", flat=True)) == ["EUR", "GBP", "JPY", "USD"]
    assert organization().home_currency.code == "EUR"
    assert ExchangeRate.objects.count() == 3
    assert rate_on("JPY", date(2026, 1, 1)) == Decimal("0.0062")


# ----------------------------------------------------------------------------- pages


def test_the_list_shows_minor_units_culture_and_todays_rate(
    admin_client: Any, currencies: dict[str, Currency], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("setup:currency_list"))

    assert response.status_code == 200
    rows = {values[0]: values for _record, values in response.context["rows"]}
    assert rows["JPY"][2] == 0
    assert rows["JPY"][5] == Decimal("0.0062")
    assert rows["EUR"][5] == Decimal(1)
    assert rows["EUR"][6] == "Home currency"
    assert rows["GBP"][5] is None


def test_the_list_exports_to_excel(admin_client: Any, currencies: dict[str, Currency]) -> None:
    from openpyxl import load_workbook

    response = admin_client.get(reverse("setup:currency_list"), {"export": "xlsx"})

    sheet = load_workbook(__import__("io").BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[1]][:3] == ["Code", "Name", "Minor units"]
    assert sheet.max_row == 5


def test_an_administrator_adds_a_currency_in_the_browser(admin_client: Any, db: None) -> None:
    response = admin_client.post(
        reverse("setup:currency_create"), {"code": "gbp", "culture": "en_GB", "is_active": "on"}
    )

    assert response.status_code == 302
    assert Currency.objects.get(code="GBP").name == "British Pound"


def test_a_bad_code_in_the_browser_names_the_field(admin_client: Any, db: None) -> None:
    response = admin_client.post(
        reverse("setup:currency_create"), {"code": "QQQ", "culture": "en_US"}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["code"]
    assert not Currency.objects.exists()


def test_rates_are_added_and_listed_on_the_currency_page(
    admin_client: Any, currencies: dict[str, Currency], django_assert_max_num_queries: Any
) -> None:
    response = admin_client.post(
        reverse("setup:exchange_rate_add", args=["GBP"]),
        {"valid_from": "2026-05-01", "rate": "1.1725"},
    )
    assert response.status_code == 302

    with django_assert_max_num_queries(14):
        page = admin_client.get(reverse("setup:currency_detail", args=["gbp"]))

    assert [(rate.valid_from, rate.rate) for rate in page.context["rates"]] == [
        (date(2026, 5, 1), Decimal("1.17250000"))
    ]


def test_a_bad_rate_in_the_browser_names_the_field_and_writes_nothing(
    admin_client: Any, currencies: dict[str, Currency]
) -> None:
    response = admin_client.post(
        reverse("setup:exchange_rate_add", args=["GBP"]), {"valid_from": "2026-05-01", "rate": "-2"}
    )

    assert response.status_code == 400
    assert list(response.context["rate_form"].errors) == ["rate"]
    assert not currencies["GBP"].rates.exists()


def test_the_home_currency_is_changed_from_its_page(
    admin_client: Any, currencies: dict[str, Currency]
) -> None:
    ExchangeRate.objects.filter(currency__code="JPY").delete()

    response = admin_client.post(reverse("setup:currency_make_home", args=["USD"]))

    assert response.status_code == 302
    assert Organization.objects.get().home_currency.code == "USD"


def test_setup_view_users_cannot_change_currencies(
    make_user: Any, client_for: Any, currencies: dict[str, Currency]
) -> None:
    client = client_for(make_user("setup.view"))

    assert client.get(reverse("setup:currency_list")).status_code == 200
    assert client.get(reverse("setup:currency_detail", args=["USD"])).status_code == 200
    response = client.post(
        reverse("setup:exchange_rate_add", args=["GBP"]), {"valid_from": "2026-05-01", "rate": "1"}
    )
    assert response.status_code == 403
    assert not currencies["GBP"].rates.exists()
