"""API clients that authenticate the way integrations do: with a token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api_client_for(db: None) -> Callable[[Any], APIClient]:
    """A client sending ``Authorization: Token <key>`` for the given user, as JSON."""

    def make(user: Any) -> APIClient:
        token, _created = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.default_format = "json"
        return client

    return make


@pytest.fixture
def admin_api(admin_user: Any, api_client_for: Callable[[Any], APIClient]) -> APIClient:
    return api_client_for(admin_user)
