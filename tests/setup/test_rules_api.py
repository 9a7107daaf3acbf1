"""/api/v1/setup/permission-rules/: nested entities, grants and sharing through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bss.setup.models import PermissionRule, RuleModule
from tests.factories import AccountFactory, RoleFactory, UserFactory
from tests.setup.factories_rules_fields import RuleGrantFactory, RuleModuleFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/setup/permission-rules/"


@pytest.fixture
def api_for() -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        token, _created = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.default_format = "json"
        return client

    return make


def test_it_creates_a_rule_with_nested_rows(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    # given
    group = RoleFactory(name="Support")
    agent = UserFactory()
    old_default = RuleModuleFactory(rule__name="Old default", is_default=True).rule

    # when
    response = api_for(admin_user).post(
        URL,
        {
            "name": "Support cases",
            "description": "Cases of key accounts",
            "modules": [{"entity": "account", "is_default": True}, {"entity": "case"}],
            "grants": [{"role": group.pk, "access": "edit"}, {"user": agent.pk, "access": "read"}],
            "sharing": [{"role": group.pk}],
        },
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    rule = PermissionRule.objects.get(name="Support cases")
    assert body == {
        "id": rule.pk,
        "name": "Support cases",
        "description": "Cases of key accounts",
        "is_active": True,
        "modules": [
            {"entity": "account", "is_default": True},
            {"entity": "case", "is_default": False},
        ],
        "grants": [
            {"user": None, "role": group.pk, "access": "edit"},
            {"user": agent.pk, "role": None, "access": "read"},
        ],
        "sharing": [{"user": None, "role": group.pk}],
        "created_at": body["created_at"],
    }
    assert RuleModule.objects.get(rule=old_default).is_default is False


def test_a_patch_keeps_the_nested_lists_it_leaves_out(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    rule = RuleModuleFactory(rule__name="Before").rule
    RuleGrantFactory(rule=rule, role=RoleFactory(), access="full")

    response = api_for(admin_user).patch(f"{URL}{rule.pk}/", {"name": "After", "is_active": False})

    assert response.status_code == 200
    assert response.json()["name"] == "After"
    assert response.json()["is_active"] is False
    assert len(response.json()["grants"]) == 1
    assert response.json()["modules"] == [{"entity": "account", "is_default": False}]


def test_a_grant_needs_exactly_one_grantee(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    response = api_for(admin_user).post(URL, {"name": "Broken", "grants": [{"access": "read"}]})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "grants": {"0": {"non_field_errors": ["Give either a user or a group (role), not both."]}}
    }
    assert PermissionRule.objects.count() == 0


def test_deleting_a_rule_in_use_is_refused(
    admin_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    rule = RuleModuleFactory(rule__name="Carried").rule
    AccountFactory(permission_rule=rule)

    response = api_for(admin_user).delete(f"{URL}{rule.pk}/")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": [
            "The rule “Carried” is still set on 1 accounts; give them another rule first."
        ]
    }


def test_setup_view_reads_and_setup_manage_writes(
    make_user: Callable[..., Any], api_for: Callable[[Any], APIClient]
) -> None:
    rule = RuleModuleFactory(rule__name="Visible").rule
    viewer = api_for(make_user("setup.view"))
    outsider = api_for(make_user("accounts.view"))

    assert viewer.get(URL).status_code == 200
    assert viewer.get(f"{URL}{rule.pk}/").status_code == 200
    assert viewer.patch(f"{URL}{rule.pk}/", {"name": "No"}).status_code == 403
    assert viewer.delete(f"{URL}{rule.pk}/").status_code == 403
    assert outsider.get(URL).status_code == 403


def test_the_list_is_a_fixed_number_of_queries(
    admin_user: Any, api_for: Callable[[Any], APIClient], django_assert_max_num_queries: Any
) -> None:
    for _number in range(5):
        rule = RuleModuleFactory().rule
        RuleGrantFactory(rule=rule, user=UserFactory())
        RuleGrantFactory(rule=rule, role=RoleFactory())
    client = api_for(admin_user)

    with django_assert_max_num_queries(10):
        response = client.get(URL)

    assert response.json()["count"] == 5
