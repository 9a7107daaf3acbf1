"""Billing fixtures: currencies with their cultures, a Greek seller, EU VAT, series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.seed import seed_eu_vat
from bss.setup.models import Currency, ExchangeRate
from bss.setup.organization.services import organization_update
from tests.api.conftest import admin_api, api_client_for

__all__ = ["admin_api", "api_client_for"]


@pytest.fixture(autouse=True)
def currencies(db: None) -> dict[str, Currency]:
    rows = {}
    for code, name, culture in [
        ("EUR", "Euro", "el_GR"),
        ("USD", "US dollar", "en_US"),
        ("GBP", "Pound sterling", "en_GB"),
        ("JPY", "Japanese yen", "ja_JP"),
    ]:
        rows[code], _created = Currency.objects.update_or_create(
            code=code, defaults={"name": name, "culture": culture, "is_active": True}
        )
    return rows


@pytest.fixture(autouse=True)
def seller(currencies: dict[str, Currency]) -> Any:
    """The organization: a Greek company whose home currency is the euro."""
    return organization_update(
        actor=None,
        home_currency=currencies["EUR"],
        legal_name="Cloudwave S.A.",
        address_line1="Leoforos Kifisias 44",
        postal_code="151 25",
        city="Marousi",
        country="GR",
        tax_id="EL094259216",
        email="billing@cloudwave.example",
    )


@pytest.fixture
def eu_vat(db: None) -> None:
    seed_eu_vat()


@pytest.fixture
def usd_rate(currencies: dict[str, Currency]) -> ExchangeRate:
    """1 USD = 0.92 EUR from 1 January 2026."""
    return ExchangeRate.objects.create(
        currency=currencies["USD"], rate=Decimal("0.92"), valid_from=date(2026, 1, 1)
    )


@pytest.fixture
def finance_user(make_user: Any) -> Any:
    return make_user(
        "invoices.view",
        "invoices.create",
        "invoices.edit",
        "invoices.delete",
        "invoices.credit_manual",
        "accounts.view",
    )


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Invoice PDFs go to a private folder per test, never into the working tree."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT
