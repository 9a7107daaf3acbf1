"""Customers fixtures: value lists, an isolated registry, a media root per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts import registry
from tests.accounts.factories import seed_value_list_values
from tests.api.conftest import admin_api, api_client_for

__all__ = ["admin_api", "api_client_for"]


@pytest.fixture
def value_lists(db: None) -> None:
    seed_value_list_values()


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Registrations made by a test vanish with it."""
    monkeypatch.setattr(registry, "_tabs", {})
    monkeypatch.setattr(registry, "_panels", {})
    monkeypatch.setattr(registry, "_figure_providers", {})
    monkeypatch.setattr(registry, "_credit_terms", {term: {} for term in registry.CREDIT_TERMS})
    monkeypatch.setattr(registry, "_transaction_checks", {})
    return registry


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)
