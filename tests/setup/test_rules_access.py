"""What each access level lets a user see and do, on every surface that shows accounts."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import Resolver404, resolve
from openpyxl import load_workbook

from accounts import services as account_services
from accounts.models import Account
from bss.core.visibility import can_access
from tests.factories import AccountFactory, RoleFactory
from tests.setup.factories_rules_fields import RuleGrantFactory, RuleModuleFactory

pytestmark = pytest.mark.django_db

RIGHTS = ("accounts.view", "accounts.edit", "accounts.create")


@pytest.fixture
def world(make_user: Callable[..., Any]) -> dict[str, Any]:
    """A viewer, and accounts under rules granting them nothing, read, edit, full."""
    viewer = make_user(*RIGHTS, email="viewer@test.example")
    group = RoleFactory(name="Account readers")
    viewer.roles.add(group)
    accounts: dict[str, Any] = {"viewer": viewer}
    for key, access, via_group in [
        ("secret", None, False),
        ("read", "read", False),
        ("edit", "edit", False),
        ("full", "full", False),
        ("group_read", "read", True),
    ]:
        rule = RuleModuleFactory(rule__name=f"{key} rule").rule
        if access and via_group:
            RuleGrantFactory(rule=rule, role=group, access=access)
        elif access:
            RuleGrantFactory(rule=rule, user=viewer, access=access)
        accounts[key] = AccountFactory(name=f"Zeta {key}", permission_rule=rule)
    inactive = RuleModuleFactory(rule__name="inactive rule", rule__is_active=False).rule
    RuleGrantFactory(rule=inactive, user=viewer, access="full")
    accounts["inactive"] = AccountFactory(name="Zeta inactive", permission_rule=inactive)
    accounts["own"] = AccountFactory(
        name="Zeta own", owner=viewer, permission_rule=accounts["secret"].permission_rule
    )
    return accounts


def api_serves(path: str) -> bool:
    """Whether an API endpoint answers at ``path`` (not the catch-all 404 view)."""
    try:
        return resolve(path).url_name != "unknown"
    except Resolver404:
        return False


VISIBLE = ["Zeta edit", "Zeta full", "Zeta group_read", "Zeta own", "Zeta read"]


def test_the_list_shows_exactly_the_granted_and_own_accounts(
    world: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    response = client_for(world["viewer"]).get("/accounts/")
    assert response.status_code == 200
    assert sorted(record.name for record, _values in response.context["rows"]) == VISIBLE


def test_the_xlsx_export_has_the_same_rows(
    world: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    response = client_for(world["viewer"]).get("/accounts/?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Number", "Name")
    assert sorted(row[1] for row in rows[1:]) == VISIBLE


@pytest.mark.parametrize("key", ["secret", "inactive"])
def test_an_ungranted_account_is_a_404_by_url(
    world: dict[str, Any], client_for: Callable[[Any], Client], key: str
) -> None:
    client = client_for(world["viewer"])
    assert client.get(f"/accounts/{world[key].pk}/").status_code == 404
    assert client.get(f"/accounts/{world[key].pk}/edit/").status_code == 404


def test_global_search_finds_only_visible_accounts(
    world: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    response = client_for(world["viewer"]).get("/search/", {"q": "Zeta"})
    assert response.status_code == 200
    [group] = response.context["groups"]
    assert sorted(label.split(" · ")[1] for label, _url in group["results"]) == VISIBLE


def test_the_api_lists_only_visible_accounts(
    world: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    if not api_serves("/api/v1/accounts/"):
        pytest.skip("the accounts API is not wired yet")
    client = client_for(world["viewer"])
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 200
    body = response.json()
    results = body["results"] if isinstance(body, dict) else body
    assert sorted(row["name"] for row in results) == VISIBLE
    assert client.get(f"/api/v1/accounts/{world['secret'].pk}/").status_code == 404


def test_read_only_sees_but_cannot_edit(
    world: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    # given
    account = world["read"]
    client = client_for(world["viewer"])

    # then
    assert client.get(f"/accounts/{account.pk}/").status_code == 200
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 404
    response = client.post(f"/accounts/{account.pk}/edit/", {"name": "Hijacked"})
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        account_services.account_update(actor=world["viewer"], account=account, name="Hijacked")
    assert Account.objects.get(pk=account.pk).name == "Zeta read"


@pytest.mark.parametrize("key", ["edit", "full"])
def test_edit_and_full_access_may_edit(
    world: dict[str, Any], client_for: Callable[[Any], Client], key: str
) -> None:
    # given
    account = world[key]
    client = client_for(world["viewer"])
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 200

    # when
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {
            "name": "Renamed",
            "account_type": "direct",
            "status": "active",
            "currency": "EUR",
            "permission_rule": account.permission_rule_id,
        },
    )

    # then
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert account.permission_rule_id is not None


def test_only_full_access_and_owners_may_delete(world: dict[str, Any]) -> None:
    viewer = world["viewer"]
    assert {key: can_access(world[key], viewer, "delete") for key in VISIBLE_KEYS} == {
        "read": False,
        "group_read": False,
        "edit": False,
        "full": True,
        "own": True,
    }
    assert can_access(world["secret"], viewer, "view") is False
    assert can_access(world["inactive"], viewer, "delete") is False


VISIBLE_KEYS = ["read", "group_read", "edit", "full", "own"]


def test_a_group_grant_gives_its_members_access(
    world: dict[str, Any], make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    # given a second member of the group, granted read-only through it
    member = make_user("accounts.view")
    member.roles.add(world["viewer"].roles.get(name="Account readers"))

    # when
    response = client_for(member).get("/accounts/")

    # then
    assert [record.name for record, _values in response.context["rows"]] == ["Zeta group_read"]
    assert can_access(world["group_read"], member, "edit") is False
