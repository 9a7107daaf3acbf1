"""Authentication, module rights and the JSON error shape of /api/v1/."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db


def test_it_authenticates_with_a_token(make_user: Any, api_client_for: Any) -> None:
    # given
    role = RoleFactory(name="Sales", permissions=["accounts.view", "accounts.create"])
    user = make_user(email="sam@test.example", first_name="Sam", last_name="Seller", language="el")
    user.roles.add(role)
    # when
    response = api_client_for(user).get("/api/v1/me/")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "sam@test.example",
        "first_name": "Sam",
        "last_name": "Seller",
        "language": "el",
        "is_superuser": False,
        "restricted_modules": [],
        "groups": [{"id": role.pk, "name": "Sales"}],
        "rights": ["accounts.view", "accounts.create"],
    }


def test_me_leaves_out_rights_of_restricted_modules(make_user: Any, api_client_for: Any) -> None:
    user = make_user("accounts.view", "users.view", restricted_modules=["users"])
    response = api_client_for(user).get("/api/v1/me/")
    assert response.json()["rights"] == ["accounts.view"]
    assert response.json()["restricted_modules"] == ["users"]


def test_me_lists_every_right_of_an_administrator(admin_api: APIClient) -> None:
    from bss.core.permissions import all_permission_codes

    response = admin_api.get("/api/v1/me/")
    assert response.json()["is_superuser"] is True
    assert response.json()["rights"] == all_permission_codes()


def test_session_authentication_works_too(make_user: Any, client_for: Any) -> None:
    user = make_user(email="web@test.example")
    response = client_for(user).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "web@test.example"


def test_anonymous_gets_401_json() -> None:
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "errors": {},
    }


def test_a_wrong_token_gets_401_json() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "errors": {}}


def test_a_deactivated_users_token_stops_working(make_user: Any, api_client_for: Any) -> None:
    user = make_user("accounts.view")
    client = api_client_for(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted.", "errors": {}}


def test_a_user_without_users_view_gets_403_json(make_user: Any, api_client_for: Any) -> None:
    client = api_client_for(make_user("accounts.view"))
    response = client.get("/api/v1/users/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have the right for this module and action.",
        "errors": {},
    }


def test_a_right_to_view_does_not_open_create(make_user: Any, api_client_for: Any) -> None:
    client = api_client_for(make_user("users.view"))
    assert client.get("/api/v1/roles/").status_code == 200
    response = client.post("/api/v1/roles/", {"name": "Finance"})
    assert response.status_code == 403
    assert response.json()["errors"] == {}


def test_a_restricted_module_is_closed_whatever_the_groups_grant(
    make_user: Any, api_client_for: Any
) -> None:
    client = api_client_for(make_user("users.view", restricted_modules=["users"]))
    assert client.get("/api/v1/users/").status_code == 403


def test_a_missing_record_gets_404_json(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/users/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No User matches the given query.", "errors": {}}


def test_an_unknown_address_gets_404_json(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "There is no API endpoint at /api/v1/no-such-thing/.",
        "errors": {},
    }


def test_an_address_without_its_slash_says_so(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/accounts", {"name": "Acme"})
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "There is no API endpoint at /api/v1/accounts. API addresses end with a slash."
    )


def test_a_method_an_endpoint_lacks_gets_405_json(admin_api: APIClient) -> None:
    response = admin_api.delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.', "errors": {}}


def test_serializer_errors_name_each_field(admin_api: APIClient) -> None:
    response = admin_api.post("/api/v1/users/", {"email": "not-an-email", "language": "xx"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: email, language.",
        "errors": {
            "email": ["Enter a valid email address."],
            "language": ['"xx" is not a valid choice.'],
        },
    }


def test_service_errors_name_their_field(admin_api: APIClient, admin_user: Any) -> None:
    response = admin_api.post("/api/v1/users/", {"email": "ADMIN@test.example"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: email.",
        "errors": {"email": ["A user with this email already exists."]},
    }


def test_service_errors_about_the_whole_request_are_the_detail(
    admin_api: APIClient, make_user: Any
) -> None:
    # given
    role = RoleFactory(name="Support")
    make_user().roles.add(role)
    # when
    response = admin_api.delete(f"/api/v1/roles/{role.pk}/")
    # then
    message = "The group 'Support' still has members; remove them first."
    assert response.status_code == 400
    assert response.json() == {"detail": message, "errors": {"non_field_errors": [message]}}
