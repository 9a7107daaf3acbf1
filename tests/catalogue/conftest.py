"""Catalogue fixtures: the organization's currencies and a catalogue manager."""

from __future__ import annotations

from typing import Any

import pytest

from bss.setup.models import Currency
from tests.api.conftest import admin_api, api_client_for

__all__ = ["admin_api", "api_client_for"]


@pytest.fixture(autouse=True)
def currencies(db: None) -> list[Currency]:
    """EUR, USD, GBP and JPY (no minor unit) active; CHF known to ISO but not activated."""
    rows = [
        Currency.objects.get_or_create(code=code, defaults={"name": name, "is_active": active})[0]
        for code, name, active in [
            ("EUR", "Euro", True),
            ("USD", "US dollar", True),
            ("GBP", "Pound sterling", True),
            ("JPY", "Japanese yen", True),
            ("CHF", "Swiss franc", False),
        ]
    ]
    return rows


@pytest.fixture
def catalogue_manager(make_user: Any) -> Any:
    return make_user(
        "products.view",
        "products.create",
        "products.edit",
        "products.delete",
        "price_lists.view",
        "price_lists.create",
        "price_lists.edit",
        "price_lists.delete",
    )
