"""Permission rules: the services that write them and the selectors forms and visibility use."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from bss.core.events import Event
from bss.core.visibility import visible_records
from bss.setup.models import PermissionRule, RuleGrant, RuleModule, RuleSharing
from bss.setup.rules import selectors, services
from tests.factories import AccountFactory, RoleFactory, UserFactory
from tests.setup.factories_rules_fields import (
    PermissionRuleFactory,
    RuleGrantFactory,
    RuleModuleFactory,
    RuleSharingFactory,
)

pytestmark = pytest.mark.django_db


def test_it_creates_a_rule_with_entities_grants_and_sharing(admin_user: Any) -> None:
    # given
    sales = RoleFactory(name="Sales")
    agent = UserFactory(email="agent@test.example")

    # when
    rule = services.rule_save(
        actor=admin_user,
        name="  Key accounts ",
        description="Large customers",
        modules={"account": True, "contact": False},
        grants=[(sales, "edit"), (agent, "read")],
        sharing=[sales],
    )

    # then
    assert rule.name == "Key accounts"
    assert sorted(rule.modules.values_list("entity", "is_default")) == [
        ("account", True),
        ("contact", False),
    ]
    assert {(grant.role_id, grant.user_id, grant.access) for grant in rule.grants.all()} == {
        (sales.pk, None, "edit"),
        (None, agent.pk, "read"),
    }
    assert list(rule.sharing.values_list("role_id", "user_id")) == [(sales.pk, None)]
    event = Event.objects.get(name="permission_rule.created")
    assert event.payload == {
        "name": "Key accounts",
        "entities": ["account", "contact"],
        "defaults_taken_over": [],
    }


def test_marking_a_new_default_unsets_the_old_one(admin_user: Any) -> None:
    # given
    old = services.rule_save(actor=admin_user, name="Old", modules={"account": True})

    # when
    new = services.rule_save(actor=admin_user, name="New", modules={"account": True})

    # then
    assert RuleModule.objects.get(rule=old, entity="account").is_default is False
    assert RuleModule.objects.get(rule=new, entity="account").is_default is True
    assert selectors.default_rule_for("account") == new
    assert Event.objects.get(name="permission_rule.created", aggregate_id=str(new.pk)).payload[
        "defaults_taken_over"
    ] == ["account"]


def test_saving_replaces_grants_sharing_and_entities(admin_user: Any) -> None:
    # given
    sales, support = RoleFactory(), RoleFactory()
    rule = services.rule_save(
        actor=admin_user,
        name="Rule",
        modules={"account": False, "case": False},
        grants=[(sales, "read"), (support, "full")],
        sharing=[sales],
    )

    # when
    services.rule_save(
        actor=admin_user,
        rule=rule,
        name="Rule",
        modules={"account": False},
        grants=[(sales, "edit")],
        sharing=[support],
    )

    # then
    assert list(RuleModule.objects.filter(rule=rule).values_list("entity", flat=True)) == [
        "account"
    ]
    assert list(RuleGrant.objects.filter(rule=rule).values_list("role_id", "access")) == [
        (sales.pk, "edit")
    ]
    assert list(RuleSharing.objects.filter(rule=rule).values_list("role_id", flat=True)) == [
        support.pk
    ]


def test_it_refuses_a_grantee_listed_twice_and_changes_nothing(admin_user: Any) -> None:
    sales = RoleFactory()
    with pytest.raises(ValidationError) as refused:
        services.rule_save(
            actor=admin_user,
            name="Twice",
            modules={"account": False},
            grants=[(sales, "read"), (sales, "full")],
        )
    assert refused.value.message_dict == {"grants": [f"{sales} is listed twice."]}
    assert PermissionRule.objects.count() == 0


def test_it_refuses_a_duplicate_name(admin_user: Any) -> None:
    PermissionRuleFactory(name="Resellers")
    with pytest.raises(ValidationError) as refused:
        services.rule_save(actor=admin_user, name="resellers", modules={})
    assert refused.value.message_dict == {
        "name": ["A permission rule named “resellers” already exists."]
    }


def test_delete_is_refused_while_records_carry_the_rule(admin_user: Any) -> None:
    # given
    rule = PermissionRuleFactory(name="Busy")
    RuleModuleFactory(rule=rule)
    AccountFactory(permission_rule=rule)
    AccountFactory(permission_rule=rule)

    # when
    with pytest.raises(ValidationError) as refused:
        services.rule_delete(actor=admin_user, rule=rule)

    # then
    assert refused.value.messages == [
        "The rule “Busy” is still set on 2 accounts; give them another rule first."
    ]
    assert PermissionRule.objects.filter(pk=rule.pk).exists()


def test_delete_removes_an_unused_rule_with_its_rows(admin_user: Any) -> None:
    rule = PermissionRuleFactory()
    RuleModuleFactory(rule=rule)
    RuleGrantFactory(rule=rule, role=RoleFactory())

    services.rule_delete(actor=admin_user, rule=rule)

    assert PermissionRule.objects.count() == 0
    assert RuleGrant.objects.count() == 0
    assert Event.objects.filter(name="permission_rule.deleted").count() == 1


def test_usable_rules_are_active_applied_and_shared(admin_user: Any) -> None:
    # given
    user = UserFactory()
    group = RoleFactory()
    user.roles.add(group)
    shared_with_user = RuleModuleFactory(rule__name="A user", entity="account").rule
    RuleSharingFactory(rule=shared_with_user, user=user)
    shared_with_group = RuleModuleFactory(rule__name="B group", entity="account").rule
    RuleSharingFactory(rule=shared_with_group, role=group)
    not_shared = RuleModuleFactory(rule__name="C not shared", entity="account").rule
    inactive = RuleModuleFactory(rule__name="D inactive", rule__is_active=False).rule
    RuleSharingFactory(rule=inactive, user=user)
    other_entity = RuleModuleFactory(rule__name="E contacts", entity="contact").rule
    RuleSharingFactory(rule=other_entity, user=user)

    # then
    assert list(selectors.rules_usable_by(user, "account")) == [
        shared_with_user,
        shared_with_group,
    ]
    assert list(selectors.rules_usable_by(admin_user, "account")) == [
        shared_with_user,
        shared_with_group,
        not_shared,
    ]


def test_default_rule_for_a_user_is_only_one_they_may_use(admin_user: Any) -> None:
    user = UserFactory()
    rule = RuleModuleFactory(is_default=True).rule

    assert selectors.default_rule_for("account") == rule
    assert selectors.default_rule_for("account", user=admin_user) == rule
    assert selectors.default_rule_for("account", user=user) is None

    RuleSharingFactory(rule=rule, user=user)
    assert selectors.default_rule_for("account", user=user) == rule


def test_check_rule_assignable_names_the_reason(admin_user: Any) -> None:
    user = UserFactory()
    unshared = RuleModuleFactory(rule__name="Unshared").rule
    contacts_only = RuleModuleFactory(rule__name="Contacts", entity="contact").rule
    inactive = RuleModuleFactory(rule__name="Old", rule__is_active=False).rule

    def reason(rule: PermissionRule, actor: Any = user, current: Any = None) -> list[str]:
        with pytest.raises(ValidationError) as refused:
            services.check_rule_assignable(
                actor=actor, entity="account", rule=rule, current=current
            )
        return refused.value.message_dict["permission_rule"]

    assert reason(unshared) == ["You may not use the permission rule “Unshared”."]
    assert reason(contacts_only, admin_user) == [
        "The permission rule “Contacts” does not apply to account records."
    ]
    assert reason(inactive, admin_user) == ["The permission rule “Old” is inactive."]
    services.check_rule_assignable(actor=admin_user, entity="account", rule=unshared)
    services.check_rule_assignable(actor=None, entity="account", rule=unshared)
    services.check_rule_assignable(actor=user, entity="account", rule=unshared, current=unshared)
    services.check_rule_assignable(actor=user, entity="account", rule=None)


# --- the grant filter behind visible_records ----------------------------------------------


@pytest.fixture
def rule_world() -> dict[str, Any]:
    """One account per rule, each rule granting the viewer a different level."""
    viewer = UserFactory(email="viewer@test.example")
    group = RoleFactory(name="Viewers")
    viewer.roles.add(group)
    world: dict[str, Any] = {"viewer": viewer, "group": group}
    for access in ("read", "edit", "full"):
        rule = RuleModuleFactory(rule__name=f"{access} rule").rule
        RuleGrantFactory(rule=rule, user=viewer, access=access)
        world[access] = AccountFactory(name=f"{access} account", permission_rule=rule)
    group_rule = RuleModuleFactory(rule__name="group rule").rule
    RuleGrantFactory(rule=group_rule, role=group, access="edit")
    world["group_edit"] = AccountFactory(name="group account", permission_rule=group_rule)
    inactive_rule = RuleModuleFactory(rule__name="inactive", rule__is_active=False).rule
    RuleGrantFactory(rule=inactive_rule, user=viewer, access="full")
    world["inactive"] = AccountFactory(name="inactive account", permission_rule=inactive_rule)
    ungranted = RuleModuleFactory(rule__name="nobody").rule
    RuleGrantFactory(rule=ungranted, user=UserFactory(), access="full")
    world["ungranted"] = AccountFactory(name="ungranted account", permission_rule=ungranted)
    world["no_rule"] = AccountFactory(name="no rule account")
    world["own"] = AccountFactory(name="own account", owner=viewer, permission_rule=ungranted)
    return world


def _visible_names(user: Any, access: str) -> list[str]:
    return sorted(
        visible_records(Account.objects.all(), user, access).values_list("name", flat=True)  # type: ignore[arg-type]
    )


def test_each_access_level_opens_what_it_should(rule_world: dict[str, Any]) -> None:
    viewer = rule_world["viewer"]
    assert _visible_names(viewer, "view") == [
        "edit account",
        "full account",
        "group account",
        "own account",
        "read account",
    ]
    assert _visible_names(viewer, "edit") == [
        "edit account",
        "full account",
        "group account",
        "own account",
    ]
    assert _visible_names(viewer, "delete") == ["full account", "own account"]


def test_an_admin_sees_every_record(rule_world: dict[str, Any], admin_user: Any) -> None:
    assert len(_visible_names(admin_user, "delete")) == Account.objects.count() == 8


def test_a_user_without_grants_sees_only_their_own(rule_world: dict[str, Any]) -> None:
    stranger = UserFactory()
    mine = AccountFactory(name="stranger's", owner=stranger)
    assert _visible_names(stranger, "view") == [mine.name]


def test_deactivating_a_rule_closes_its_records_at_once(
    rule_world: dict[str, Any], admin_user: Any
) -> None:
    rule = rule_world["read"].permission_rule
    services.rule_save(
        actor=admin_user, rule=rule, name=rule.name, is_active=False, modules={"account": False}
    )
    assert "read account" not in _visible_names(rule_world["viewer"], "view")


def test_visibility_is_one_query_for_any_number_of_records(
    rule_world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    viewer = rule_world["viewer"]
    with django_assert_num_queries(1):
        names = list(visible_records(Account.objects.all(), viewer).values_list("pk", flat=True))
    assert len(names) == 5
