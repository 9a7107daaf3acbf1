"""Every URL declares the permission it needs; undeclared views fail this walk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from bss.core.permissions import declared_permission

# Third-party views that guard themselves; each with the reason it is not declared here.
THIRD_PARTY_MODULES = {
    "allauth.": "sign-in, sign-out, password reset and MFA pages guard themselves",
    "django.contrib.admin.": "the Django admin checks is_staff itself",
    "django.views.static": "static files in development",
    "drf_spectacular.": "the schema and docs need IsAuthenticated (SPECTACULAR_SETTINGS)",
    "rest_framework.routers": "the API root lists endpoints only",
    "django.views.generic.base": "redirects",
}


def walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            child_namespace = (
                f"{namespace}:{entry.namespace}"
                if entry.namespace and namespace
                else entry.namespace or namespace
            )
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), child_namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield prefix + str(entry.pattern), name, entry.callback


def is_third_party(callback: Any) -> bool:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    module = (view_class or callback).__module__
    return any(module.startswith(prefix) for prefix in THIRD_PARTY_MODULES)


def own_patterns() -> list[tuple[str, str, Any]]:
    return [
        (route, name, callback)
        for route, name, callback in walk(get_resolver().url_patterns)
        # The Django admin guards every page of its namespace with is_staff.
        if not is_third_party(callback) and not name.startswith("admin:")
    ]


def test_every_view_declares_a_permission_or_is_explicitly_public() -> None:
    undeclared = [
        f"{route} ({name})"
        for route, name, callback in own_patterns()
        if declared_permission(callback) is None
    ]
    assert undeclared == [], "Views without a permission declaration:\n" + "\n".join(undeclared)


def test_the_walk_sees_the_platform_pages() -> None:
    names = {name for _route, name, _callback in own_patterns()}
    assert {"core:dashboard", "core:search", "accounts:list", "setup:user_list", "healthz"} <= names


def sample_url(route: str) -> str:
    """Fill route parameters (path converters or router regexes) with values that point at nothing."""
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "999999", route)
    url = re.sub(r"<int:\w+>", "999999", url)
    url = re.sub(r"<(?:\w+:)?\w+>", "nothing", url)
    return "/" + url.replace("^", "").replace("$", "").replace("\\", "")


def declared_pages() -> list[tuple[str, tuple[str, str]]]:
    pages = []
    for route, _name, callback in own_patterns():
        declared = declared_permission(callback)
        if (
            isinstance(declared, tuple)
            and "(?P<format>" not in route
            and "<drf_format_suffix" not in route
        ):
            pages.append((sample_url(route), declared))
    return pages


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login_or_refused() -> None:
    from django.test import Client

    client = Client()
    for url, _declared in declared_pages():
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, url
        else:
            assert response.status_code in (302, 405), url
            if response.status_code == 302:
                assert response.url.startswith("/auth/login/"), url


@pytest.mark.django_db
def test_users_without_the_permission_get_403(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user())
    for url, (module, _action) in declared_pages():
        if module == "*":
            continue
        response = client.get(url)
        assert response.status_code in (403, 405), f"{url} answered {response.status_code}"
