"""OpenAPI schema, Swagger docs, and the rule that every API endpoint honours Idempotency-Key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from bss.core.api_views import IdempotencyKeyMixin

pytestmark = pytest.mark.django_db

OUR_PATHS = {
    "/api/v1/me/",
    "/api/v1/users/",
    "/api/v1/users/{id}/",
    "/api/v1/roles/",
    "/api/v1/roles/{id}/",
    "/api/v1/accounts/",
    "/api/v1/accounts/{id}/",
}


def test_the_schema_lists_the_endpoints(admin_client: Any) -> None:
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= OUR_PATHS


def test_the_schema_documents_idempotency_and_errors(admin_client: Any) -> None:
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/api/v1/accounts/"]["post"]
    assert [p["name"] for p in create["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    assert set(create["responses"]) == {"201", "400", "401", "403", "409", "422"}
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }
    assert "404" in schema["paths"]["/api/v1/accounts/{id}/"]["get"]["responses"]


def test_the_schema_generates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert set(yaml.safe_load(target.read_text())["paths"]) >= OUR_PATHS


def test_the_schema_needs_a_signed_in_user() -> None:
    assert APIClient().get("/api/schema/").status_code == 401


def test_the_docs_page_loads_for_a_signed_in_user(admin_client: Any) -> None:
    response = admin_client.get("/api/docs/")
    assert response.status_code == 200
    # Swagger UI comes from the installed sidecar package, not from a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/static/") for asset in assets)
    assert all(admin_client.get(asset).status_code == 200 for asset in assets)


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_api_endpoint_honours_idempotency_keys() -> None:
    endpoints = [
        (route, getattr(callback, "cls", None))
        for route, callback in walk(get_resolver().url_patterns)
        if route.startswith("api/v1/")
    ]
    assert len(endpoints) >= 7
    without = [
        route
        for route, view_class in endpoints
        if view_class is None or not issubclass(view_class, IdempotencyKeyMixin)
    ]
    assert without == [], "API views not built on bss.core.api_views:\n" + "\n".join(without)


def test_every_api_endpoint_declares_a_module(admin_user: Any) -> None:
    undeclared = [
        route
        for route, callback in walk(get_resolver().url_patterns)
        if route.startswith("api/v1/")
        and not getattr(callback.cls, "bss_public", False)
        and not getattr(callback.cls, "permission_module", "")
    ]
    assert undeclared == []
