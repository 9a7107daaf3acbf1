"""Permission rule pages in the Setup area, and the rule select on the account form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from bss.setup.models import PermissionRule, RuleGrant, RuleModule, RuleSharing
from tests.factories import AccountFactory, RoleFactory, UserFactory
from tests.setup.factories_rules_fields import (
    PermissionRuleFactory,
    RuleGrantFactory,
    RuleModuleFactory,
    RuleSharingFactory,
)

pytestmark = pytest.mark.django_db


def management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_the_list_shows_rules_in_a_pinned_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    # given
    for number in range(6):
        rule = RuleModuleFactory(rule__name=f"Rule {number}", is_default=number == 0).rule
        RuleModuleFactory(rule=rule, entity="contact")
        RuleGrantFactory(rule=rule, role=RoleFactory())
        RuleSharingFactory(rule=rule, user=UserFactory())

    # when
    with django_assert_max_num_queries(8):
        response = admin_client.get("/setup/permission-rules/")

    # then
    assert response.status_code == 200
    rows = {record.name: values for record, values in response.context["rows"]}
    assert len(rows) == 6
    assert rows["Rule 0"][2] == "Accounts (default), Contacts"
    assert rows["Rule 0"][3:5] == [1, 1]
    first = PermissionRule.objects.get(name="Rule 0")
    assert f'href="/setup/permission-rules/{first.pk}/"' in response.content.decode()


def test_a_setup_viewer_sees_rules_but_cannot_change_them(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    rule = PermissionRuleFactory(name="Read me")
    client = client_for(make_user("setup.view"))

    assert client.get("/setup/permission-rules/").status_code == 200
    assert client.get(f"/setup/permission-rules/{rule.pk}/").status_code == 200
    assert client.get("/setup/permission-rules/new/").status_code == 403
    assert client.post(f"/setup/permission-rules/{rule.pk}/", {"name": "X"}).status_code == 403
    assert client.post(f"/setup/permission-rules/{rule.pk}/delete/").status_code == 403
    assert PermissionRule.objects.get(pk=rule.pk).name == "Read me"


def test_users_without_setup_rights_are_refused(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    assert client_for(make_user("accounts.view")).get("/setup/permission-rules/").status_code == 403


def test_an_admin_creates_a_rule_in_the_browser_form(admin_client: Client) -> None:
    # given
    group = RoleFactory(name="Resellers desk")
    agent = UserFactory(email="agent@test.example")
    previous_default = RuleModuleFactory(rule__name="Previous", is_default=True).rule

    # when
    response = admin_client.post(
        "/setup/permission-rules/new/",
        {
            "name": "Reseller accounts",
            "description": "Accounts of the reseller desk",
            "is_active": "on",
            "apply_account": "on",
            "default_account": "on",
            "apply_case": "on",
            **management("grants", 3),
            "grants-0-grantee": f"role:{group.pk}",
            "grants-0-access": "read",
            "grants-1-grantee": f"user:{agent.pk}",
            "grants-1-access": "full",
            "grants-2-grantee": "",
            "grants-2-access": "read",
            **management("sharing", 2),
            "sharing-0-grantee": f"role:{group.pk}",
            "sharing-1-grantee": "",
        },
    )

    # then
    rule = PermissionRule.objects.get(name="Reseller accounts")
    assert response.status_code == 302
    assert response["Location"] == f"/setup/permission-rules/{rule.pk}/"
    assert sorted(RuleModule.objects.filter(rule=rule).values_list("entity", "is_default")) == [
        ("account", True),
        ("case", False),
    ]
    assert RuleModule.objects.get(rule=previous_default).is_default is False
    assert {(g.role_id, g.user_id, g.access) for g in RuleGrant.objects.filter(rule=rule)} == {
        (group.pk, None, "read"),
        (None, agent.pk, "full"),
    }
    assert list(RuleSharing.objects.filter(rule=rule).values_list("role_id", flat=True)) == [
        group.pk
    ]


def test_the_edit_form_removes_a_ticked_grant_and_keeps_the_rest(admin_client: Client) -> None:
    # given
    keep, drop = RoleFactory(), RoleFactory()
    rule = RuleModuleFactory(rule__name="Editable").rule
    RuleGrantFactory(rule=rule, role=keep, access="read")
    RuleGrantFactory(rule=rule, role=drop, access="edit")
    page = admin_client.get(f"/setup/permission-rules/{rule.pk}/")
    assert page.status_code == 200
    initial = [form.initial for form in page.context["grants"].forms if form.initial]
    assert {row["grantee"] for row in initial} == {f"role:{keep.pk}", f"role:{drop.pk}"}

    # when
    response = admin_client.post(
        f"/setup/permission-rules/{rule.pk}/",
        {
            "name": "Editable",
            "is_active": "on",
            "apply_account": "on",
            **management("grants", 2, initial=2),
            "grants-0-grantee": f"role:{keep.pk}",
            "grants-0-access": "edit",
            "grants-1-grantee": f"role:{drop.pk}",
            "grants-1-access": "edit",
            "grants-1-DELETE": "on",
            **management("sharing", 0),
        },
    )

    # then
    assert response.status_code == 302
    assert list(RuleGrant.objects.filter(rule=rule).values_list("role_id", "access")) == [
        (keep.pk, "edit")
    ]


def test_deleting_a_rule_in_use_shows_why_and_keeps_it(admin_client: Client) -> None:
    # given
    rule = RuleModuleFactory(rule__name="In use").rule
    AccountFactory(permission_rule=rule)

    # when
    response = admin_client.post(f"/setup/permission-rules/{rule.pk}/delete/", follow=True)

    # then
    assert [str(message) for message in response.context["messages"]] == [
        "The rule “In use” is still set on 1 accounts; give them another rule first."
    ]
    assert PermissionRule.objects.filter(pk=rule.pk).exists()


def test_deleting_an_unused_rule(admin_client: Client) -> None:
    rule = PermissionRuleFactory(name="Spare")
    response = admin_client.post(f"/setup/permission-rules/{rule.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/setup/permission-rules/"
    assert not PermissionRule.objects.filter(pk=rule.pk).exists()


# --- the permission rule on the account form ------------------------------------------------


def test_the_account_form_offers_shared_rules_and_preselects_the_default(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    # given
    seller = make_user("accounts.view", "accounts.create")
    default = RuleModuleFactory(rule__name="Sales team", is_default=True).rule
    RuleSharingFactory(rule=default, role=seller.roles.get())
    RuleModuleFactory(rule__name="Not shared")
    contacts_only = RuleModuleFactory(rule__name="Contacts only", entity="contact").rule
    RuleSharingFactory(rule=contacts_only, user=seller)

    # when
    response = client_for(seller).get("/accounts/new/")

    # then
    field = response.context["form"]["permission_rule"]
    assert [str(label) for _value, label in field.field.choices] == [
        "None: only the owner and administrators",
        "Sales team",
    ]
    assert field.value() == default.pk


def test_an_account_created_with_a_rule_opens_it_to_the_grantees(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    # given
    seller = make_user("accounts.view", "accounts.create")
    colleague = make_user("accounts.view")
    rule = RuleModuleFactory(rule__name="Team").rule
    RuleSharingFactory(rule=rule, user=seller)
    RuleGrantFactory(rule=rule, user=colleague, access="read")

    # when
    response = client_for(seller).post(
        "/accounts/new/",
        {
            "name": "Shared Ltd",
            "account_type": "direct",
            "status": "active",
            "currency": "EUR",
            "permission_rule": rule.pk,
        },
    )

    # then
    assert response.status_code == 302
    detail = client_for(colleague).get(response["Location"])
    assert detail.status_code == 200
    assert b"Team" in detail.content


def test_the_account_form_refuses_a_rule_not_shared_with_the_user(
    make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    seller = make_user("accounts.view", "accounts.create")
    rule = RuleModuleFactory(rule__name="Private").rule

    response = client_for(seller).post(
        "/accounts/new/",
        {
            "name": "Sneaky",
            "account_type": "direct",
            "status": "active",
            "currency": "EUR",
            "permission_rule": rule.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["permission_rule"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
