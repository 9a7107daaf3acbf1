"""Currencies, exchange rates and the organization profile through /api/v1/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bss.core.translation import forget_overrides
from bss.setup.currencies.services import currency_create, currency_set_home, exchange_rate_set
from bss.setup.models import Currency, ExchangeRate, Organization


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()


def api_for(user: Any) -> APIClient:
    token, _created = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.default_format = "json"
    return client


@pytest.fixture
def currencies(db: None) -> dict[str, Currency]:
    made = {code: currency_create(actor=None, code=code) for code in ("EUR", "USD", "JPY")}
    currency_set_home(actor=None, currency=made["EUR"])
    exchange_rate_set(
        actor=None, currency=made["USD"], valid_from=date(2026, 3, 1), rate=Decimal("0.92")
    )
    exchange_rate_set(
        actor=None, currency=made["JPY"], valid_from=date(2026, 1, 1), rate=Decimal("0.0062")
    )
    cache.clear()
    return made


@pytest.fixture
def admin_api(admin_user: Any) -> APIClient:
    return api_for(admin_user)


def test_it_lists_currencies_with_minor_units_and_the_home_flag(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    response = admin_api.get("/api/v1/currencies/")

    assert response.status_code == 200
    assert [
        (row["code"], row["minor_units"], row["is_home"]) for row in response.json()["results"]
    ] == [("EUR", 2, True), ("JPY", 0, False), ("USD", 2, False)]


def test_it_creates_a_currency_through_the_service(admin_api: APIClient, db: None) -> None:
    response = admin_api.post("/api/v1/currencies/", {"code": "chf", "culture": "de_CH"})

    assert response.status_code == 201
    assert response.json()["name"] == "Swiss Franc"
    assert Currency.objects.get(code="CHF").culture == "de_CH"


def test_a_bad_code_answers_400_naming_the_field(admin_api: APIClient, db: None) -> None:
    response = admin_api.post("/api/v1/currencies/", {"code": "QQQ"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["code"]
    assert not Currency.objects.exists()


def test_it_deactivates_a_currency_by_code(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    response = admin_api.patch("/api/v1/currencies/jpy/", {"is_active": False})

    assert response.status_code == 200
    assert Currency.objects.get(code="JPY").is_active is False


def test_it_looks_the_rate_up_by_date(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    found = admin_api.get("/api/v1/currencies/USD/rate/", {"date": "2026-04-01"})
    missing = admin_api.get("/api/v1/currencies/USD/rate/", {"date": "2026-02-01"})

    assert found.json() == {
        "currency": "USD",
        "home_currency": "EUR",
        "date": "2026-04-01",
        "rate": "0.92000000",
    }
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No exchange rate for USD is valid on 2026-02-01."


def test_it_converts_an_amount_on_a_date(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    response = admin_api.get(
        "/api/v1/currencies/convert/",
        {"amount": "19.99", "from": "usd", "to": "JPY", "date": "2026-04-01"},
    )

    assert response.json() == {"amount": "2966", "currency": "JPY", "date": "2026-04-01"}


def test_it_adds_and_lists_exchange_rates(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    created = admin_api.post(
        "/api/v1/exchange-rates/",
        {"currency": "USD", "valid_from": "2026-06-01", "rate": "0.95"},
    )
    listed = admin_api.get("/api/v1/exchange-rates/", {"currency": "usd"})

    assert created.status_code == 201
    assert [(row["valid_from"], row["rate"]) for row in listed.json()["results"]] == [
        ("2026-06-01", "0.95000000"),
        ("2026-03-01", "0.92000000"),
    ]


def test_it_corrects_a_rate_but_does_not_move_it(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    rate = ExchangeRate.objects.get(currency__code="USD")

    corrected = admin_api.patch(f"/api/v1/exchange-rates/{rate.pk}/", {"rate": "0.93"})
    moved = admin_api.patch(f"/api/v1/exchange-rates/{rate.pk}/", {"valid_from": "2026-01-01"})

    assert corrected.json()["rate"] == "0.93000000"
    assert moved.status_code == 400
    assert ExchangeRate.objects.get(pk=rate.pk).valid_from == date(2026, 3, 1)


def test_setup_view_reads_but_does_not_write(
    make_user: Any, currencies: dict[str, Currency]
) -> None:
    client = api_for(make_user("setup.view"))

    assert client.get("/api/v1/currencies/").status_code == 200
    assert client.get("/api/v1/organization/").status_code == 200
    assert client.post("/api/v1/currencies/", {"code": "CHF"}).status_code == 403
    assert client.patch("/api/v1/organization/", {"legal_name": "X"}).status_code == 403
    assert not Currency.objects.filter(code="CHF").exists()


def test_users_without_setup_rights_are_refused(
    make_user: Any, currencies: dict[str, Currency]
) -> None:
    client = api_for(make_user("accounts.view"))

    assert client.get("/api/v1/currencies/").status_code == 403
    assert client.get("/api/v1/exchange-rates/").status_code == 403
    assert client.get("/api/v1/organization/").status_code == 403


def test_the_organization_profile_reads_and_patches(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    response = admin_api.patch(
        "/api/v1/organization/",
        {"legal_name": "Cloudwave Hellas", "time_zone": "Europe/Athens", "home_currency": "EUR"},
    )

    assert response.status_code == 200
    body = admin_api.get("/api/v1/organization/").json()
    assert (body["legal_name"], body["time_zone"], body["home_currency"], body["logo_url"]) == (
        "Cloudwave Hellas",
        "Europe/Athens",
        "EUR",
        None,
    )
    assert Organization.objects.get().legal_name == "Cloudwave Hellas"


def test_a_bad_time_zone_answers_400_and_writes_nothing(
    admin_api: APIClient, currencies: dict[str, Currency]
) -> None:
    response = admin_api.patch(
        "/api/v1/organization/", {"legal_name": "Renamed", "time_zone": "Nowhere/Land"}
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["time_zone"]
    assert Organization.objects.get().legal_name != "Renamed"
