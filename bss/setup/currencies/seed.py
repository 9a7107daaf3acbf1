"""Demo currencies: EUR at home, USD, GBP and JPY with a rate each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bss.setup.currencies.services import currency_create, currency_set_home, exchange_rate_set
from bss.setup.models import Currency

SEED_RATES = {
    "USD": Decimal("0.92000000"),
    "GBP": Decimal("1.17000000"),
    "JPY": Decimal("0.00620000"),
}
SEED_CULTURES = {"EUR": "el_GR", "USD": "en_US", "GBP": "en_GB", "JPY": "ja_JP"}
SEED_RATES_FROM = date(2024, 1, 1)


def seed_currencies(stdout: Any) -> None:
    """EUR as the home currency, with USD, GBP and JPY and a rate for each (idempotent)."""
    for code, culture in SEED_CULTURES.items():
        if not Currency.objects.filter(code=code).exists():
            currency_create(actor=None, code=code, culture=culture)
            stdout.write(f"  currency {code}")
    currency_set_home(actor=None, currency=Currency.objects.get(code="EUR"))
    for code, rate in SEED_RATES.items():
        currency = Currency.objects.get(code=code)
        if not currency.rates.exists():
            exchange_rate_set(actor=None, currency=currency, valid_from=SEED_RATES_FROM, rate=rate)
