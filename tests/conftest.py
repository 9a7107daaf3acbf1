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


def restore_migration_data() -> None:
    """Rows the migrations create, which a transactional test's flush removes."""
    from importlib import import_module

    from django.apps import apps

    from bss.setup.models import Organization

    Organization.objects.get_or_create(
        pk=1, defaults={"legal_name": settings.BSS_ORGANIZATION_NAME}
    )
    import_module("billing.migrations.0002_default_series").create_default_series(apps, None)
    import_module("orders.migrations.0002_mandatory_statuses").create_mandatory_statuses(apps, None)
    import_module("offers.migrations.0002_default_statuses").create_default_statuses(apps, None)


def _database_fixture(request: pytest.FixtureRequest) -> str | None:
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if {"transactional_db", "live_server"} & names or (marker and marker.kwargs.get("transaction")):
        return "transactional_db"
    if marker or "db" in names:
        return "db"
    return None


@pytest.fixture(autouse=True)
def _fresh_caches(request: pytest.FixtureRequest) -> Iterator[None]:
    """Cached settings never leak between tests, and migration-made rows are there.

    Transactional tests flush the rows migrations create (organization profile, invoice
    series); they are put back here, as production always has them.
    """
    from django.core.cache import cache
    from django.utils import translation

    from bss.core.translation import forget_overrides

    cache.clear()
    forget_overrides()
    # A request made by an earlier test leaves its user's language active in this thread.
    translation.deactivate()
    database = _database_fixture(request)
    if database is not None:
        request.getfixturevalue(database)
        restore_migration_data()
    yield
    cache.clear()
    forget_overrides()


@pytest.fixture
def django_assert_max_num_queries(django_assert_max_num_queries: Any) -> Callable[..., Any]:
    """pytest-django's, measured from a fresh translation-override stamp.

    The stamp ``_fresh_caches`` sets lives ``LOCAL_CACHE_RECHECK_SECONDS`` in the
    process-local cache: a test that spends longer building its rows would see the
    measured request reload the overrides, one query more than the page makes.
    """
    from bss.core.translation import forget_overrides

    def measured(*args: Any, **kwargs: Any) -> Any:
        forget_overrides()
        return django_assert_max_num_queries(*args, **kwargs)

    return measured


@pytest.fixture
def vendor() -> Iterator[Any]:
    """A vendor system on loopback that provisioning talks to (``FakeVendor``)."""
    from tests.subscriptions.fake_vendor import serving

    with serving() as running:
        yield running


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
