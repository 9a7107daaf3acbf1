"""Shared fixtures: users with given rights, a logged-in client, database flavour checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import RoleFactory, UserFactory

requires_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="needs PostgreSQL behaviour (set DATABASE_URL to a PostgreSQL database)",
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Cached organization settings and translation overrides never leak between tests."""
    from django.core.cache import cache

    from bss.core.translation import forget_overrides

    cache.clear()
    forget_overrides()
    yield
    cache.clear()
    forget_overrides()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(db: None) -> Any:
    return UserFactory(is_superuser=True, is_staff=True, email="admin@test.example")


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """A user holding exactly the given rights, e.g. make_user("accounts.view")."""

    def make(*permissions: str, **fields: Any) -> Any:
        user = UserFactory(**fields)
        if permissions:
            user.roles.add(RoleFactory(permissions=list(permissions)))
        return user

    return make


@pytest.fixture
def client_for() -> Callable[[Any], Client]:
    def login(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def admin_client(admin_user: Any, client_for: Callable[[Any], Client]) -> Client:
    return client_for(admin_user)
