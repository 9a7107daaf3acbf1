"""Users and groups through the API: writes go through bss.setup.services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bss.core.models import Event
from bss.setup.models import Role, User
from tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_creates_a_user_through_the_service(admin_api: APIClient, admin_user: Any) -> None:
    # given
    sales = RoleFactory(name="Sales")
    # when
    response = admin_api.post(
        "/api/v1/users/",
        {
            "email": "New.Seller@Test.Example",
            "password": "a-long-unusual-passphrase",
            "first_name": "Nia",
            "last_name": "Seller",
            "language": "el",
            "groups": [sales.pk],
            "restricted_modules": ["invoices"],
        },
    )
    # then
    assert response.status_code == 201
    user = User.objects.get(email="new.seller@test.example")
    body = response.json()
    assert body == {
        "id": user.pk,
        "email": "new.seller@test.example",
        "first_name": "Nia",
        "last_name": "Seller",
        "language": "el",
        "is_active": True,
        "is_superuser": False,
        "groups": [sales.pk],
        "restricted_modules": ["invoices"],
        "date_joined": body["date_joined"],
        "last_login": None,
    }
    assert user.check_password("a-long-unusual-passphrase")
    assert Event.objects.get(name="user.created").actor == admin_user


def test_a_weak_password_is_refused(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/users/", {"email": "weak@test.example", "password": "123"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "password": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ]
    }
    assert not User.objects.filter(email="weak@test.example").exists()


def test_it_updates_a_user_through_the_service(admin_api: APIClient) -> None:
    # given
    user = UserFactory(first_name="Old", email="member@test.example")
    finance = RoleFactory(name="Finance")
    # when
    response = admin_api.patch(
        f"/api/v1/users/{user.pk}/", {"first_name": "New", "groups": [finance.pk]}
    )
    # then
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["groups"]) == ("New", [finance.pk])
    user.refresh_from_db()
    assert user.first_name == "New"
    assert list(user.roles.all()) == [finance]
    assert Event.objects.get(name="user.updated").payload == {"fields": ["first_name"]}


def test_the_email_of_a_user_cannot_change(admin_api: APIClient) -> None:
    user = UserFactory(email="fixed@test.example")
    response = admin_api.patch(f"/api/v1/users/{user.pk}/", {"email": "other@test.example"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"email": ["The email is the login and cannot be changed."]}
    user.refresh_from_db()
    assert user.email == "fixed@test.example"


def test_an_admin_cannot_deactivate_themselves(admin_api: APIClient, admin_user: Any) -> None:
    response = admin_api.patch(f"/api/v1/users/{admin_user.pk}/", {"is_active": False})
    assert response.status_code == 400
    assert response.json()["errors"] == {"is_active": ["You cannot deactivate your own user."]}


def test_users_are_not_deleted_through_the_api(admin_api: APIClient) -> None:
    user = UserFactory()
    assert admin_api.delete(f"/api/v1/users/{user.pk}/").status_code == 405
    assert User.objects.filter(pk=user.pk).exists()


def test_the_user_list_takes_a_fixed_number_of_queries(admin_api: APIClient) -> None:
    # given
    role = RoleFactory()
    for user in UserFactory.create_batch(5):
        user.roles.add(role)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.get("/api/v1/users/")
    # then
    assert response.json()["count"] == 6
    # token and user, count, page, groups of the page
    assert len(queries) == 6


def test_it_filters_users_by_group(admin_api: APIClient) -> None:
    role = RoleFactory()
    member = UserFactory(email="member@test.example")
    member.roles.add(role)
    response = admin_api.get("/api/v1/users/", {"group": role.pk})
    assert [row["email"] for row in response.json()["results"]] == ["member@test.example"]


def test_it_creates_a_role_through_the_service(admin_api: APIClient, admin_user: Any) -> None:
    response = admin_api.post(
        "/api/v1/roles/",
        {"name": "Finance", "permissions": ["invoices.view", "accounts.view", "invoices.view"]},
    )
    assert response.status_code == 201
    role = Role.objects.get(name="Finance")
    assert response.json() == {
        "id": role.pk,
        "name": "Finance",
        "description": "",
        "permissions": ["accounts.view", "invoices.view"],
        "member_count": 0,
        "created_at": role.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert Event.objects.get(name="role.created").actor == admin_user


def test_an_unknown_right_is_named(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/roles/", {"name": "X", "permissions": ["accounts.fly"]})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "permissions": {"0": ['"accounts.fly" is not a valid choice.']}
    }


def test_a_duplicate_role_name_is_refused_by_the_service(admin_api: APIClient) -> None:
    RoleFactory(name="Sales")
    response = admin_api.post("/api/v1/roles/", {"name": "sales"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["A group named 'sales' already exists."]}


def test_a_partial_update_keeps_the_other_fields(admin_api: APIClient) -> None:
    role = RoleFactory(name="Support", description="Case work", permissions=["cases.view"])
    response = admin_api.patch(f"/api/v1/roles/{role.pk}/", {"permissions": ["cases.edit"]})
    assert response.status_code == 200
    role.refresh_from_db()
    assert (role.name, role.description, role.permissions) == (
        "Support",
        "Case work",
        ["cases.edit"],
    )


def test_it_deletes_an_empty_role(admin_api: APIClient) -> None:
    role = RoleFactory()
    response = admin_api.delete(f"/api/v1/roles/{role.pk}/")
    assert response.status_code == 204
    assert not Role.objects.filter(pk=role.pk).exists()


def test_deleting_needs_the_delete_right(make_user: Any, api_client_for: Any) -> None:
    role = RoleFactory()
    client = api_client_for(make_user("users.view", "users.edit"))
    response = client.delete(f"/api/v1/roles/{role.pk}/")
    assert response.status_code == 403
    assert Role.objects.filter(pk=role.pk).exists()
