"""Setup > Users and Groups: create, edit, deactivate, rights; lists pinned in queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bss.setup.models import Role, User
from tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_with_groups(admin_client: Client) -> None:
    sales = RoleFactory(name="Sales", permissions=["accounts.view"])
    response = admin_client.post(
        "/setup/users/new/",
        {
            "email": "New.Person@Test.Example",
            "first_name": "New",
            "last_name": "Person",
            "password": "a-long-enough-passphrase",
            "roles": [sales.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@test.example")
    assert list(user.roles.all()) == [sales]
    assert user.check_password("a-long-enough-passphrase")
    assert user.restricted_modules == []


def test_duplicate_email_is_refused_and_nothing_is_written(admin_client: Client) -> None:
    UserFactory(email="taken@test.example")
    response = admin_client.post(
        "/setup/users/new/", {"email": "TAKEN@test.example", "is_active": "on"}
    )
    assert response.status_code == 200
    assert "A user with this email already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="taken@test.example").count() == 1


def test_weak_password_is_refused_with_the_field_named(admin_client: Client) -> None:
    response = admin_client.post(
        "/setup/users/new/", {"email": "weak@test.example", "password": "123"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(email="weak@test.example").exists()


def test_deactivating_a_user_keeps_their_records(admin_client: Client) -> None:
    from tests.factories import AccountFactory

    user = UserFactory(email="leaver@test.example")
    account = AccountFactory(owner=user)
    response = admin_client.post(
        f"/setup/users/{user.pk}/edit/", {"email": user.email, "first_name": "L"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    account.refresh_from_db()
    assert user.is_active is False
    assert account.owner == user


def test_admin_cannot_deactivate_themselves(admin_user: Any, admin_client: Client) -> None:
    response = admin_client.post(
        f"/setup/users/{admin_user.pk}/edit/", {"email": admin_user.email, "is_superuser": "on"}
    )
    assert response.status_code == 200
    assert "You cannot deactivate your own user." in response.content.decode()


def test_group_rights_are_saved_from_the_checkbox_grid(admin_client: Client) -> None:
    response = admin_client.post(
        "/setup/groups/new/",
        {
            "name": "Billing clerks",
            "rights_invoices": ["invoices.view", "invoices.credit_manual"],
            "rights_accounts": ["accounts.view"],
        },
    )
    assert response.status_code == 302
    role = Role.objects.get(name="Billing clerks")
    assert sorted(role.permissions) == ["accounts.view", "invoices.credit_manual", "invoices.view"]


def test_group_with_members_cannot_be_deleted(admin_client: Client) -> None:
    role = RoleFactory(name="Busy")
    UserFactory().roles.add(role)
    admin_client.post(f"/setup/groups/{role.pk}/delete/")
    assert Role.objects.filter(pk=role.pk).exists()


def test_users_list_query_count_is_bounded(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    roles = [RoleFactory() for _ in range(3)]
    for index in range(30):
        UserFactory().roles.add(roles[index % 3])
    admin_client.get("/setup/users/")  # first request creates the organization profile
    with django_assert_max_num_queries(12):
        response = admin_client.get("/setup/users/")
    assert response.status_code == 200


def test_groups_list_query_count_is_bounded(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        RoleFactory()
    admin_client.get("/setup/groups/")
    with django_assert_max_num_queries(10):
        assert admin_client.get("/setup/groups/").status_code == 200


def test_a_user_created_without_password_is_invited_by_email(admin_client: Client) -> None:
    from django.core import mail

    response = admin_client.post(
        "/setup/users/new/", {"email": "invitee@test.example", "is_active": "on"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="invitee@test.example")
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["invitee@test.example"]
    assert "/auth/password/reset/key/" in mail.outbox[0].body
