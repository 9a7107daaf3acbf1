"""Module access rights: groups grant actions; restrictions and admins."""

from __future__ import annotations

from typing import Any

import pytest

from bss.core.permissions import all_permission_codes, permission_code, user_has_permission

pytestmark = pytest.mark.django_db


def test_a_group_grants_exactly_its_actions(make_user: Any) -> None:
    user = make_user("accounts.view", "orders.execute")
    assert user_has_permission(user, "accounts", "view")
    assert user_has_permission(user, "orders", "execute")
    assert not user_has_permission(user, "accounts", "edit")
    assert not user_has_permission(user, "invoices", "view")


def test_restricted_module_wins_over_groups(make_user: Any) -> None:
    user = make_user("accounts.view", restricted_modules=["accounts"])
    assert not user_has_permission(user, "accounts", "view")


def test_administrator_has_every_right(admin_user: Any) -> None:
    assert all(
        user_has_permission(admin_user, *code.split(".", 1)) for code in all_permission_codes()
    )


def test_inactive_user_has_no_right(make_user: Any) -> None:
    user = make_user("accounts.view", is_active=False)
    assert not user_has_permission(user, "accounts", "view")


def test_unknown_permission_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown permission"):
        permission_code("accounts", "fly")


def test_special_actions_of_the_reference_exist() -> None:
    codes = set(all_permission_codes())
    assert {
        "orders.execute",
        "orders.deliver_partial",
        "offers.convert",
        "subscriptions.change_quantity",
        "subscriptions.cancel",
        "invoices.run_billing",
        "invoices.credit_manual",
        "accounts.override_credit_limit",
        "setup.manage",
        "setup.run_tools",
    } <= codes


def test_page_without_right_is_403_and_with_right_is_200(make_user: Any, client_for: Any) -> None:
    assert client_for(make_user()).get("/accounts/").status_code == 403
    assert client_for(make_user("accounts.view")).get("/accounts/").status_code == 200


def test_menu_shows_only_modules_the_user_may_open(make_user: Any, client_for: Any) -> None:
    without = client_for(make_user()).get("/").content.decode()
    with_accounts = (
        client_for(make_user("accounts.view", "accounts.create")).get("/").content.decode()
    )
    assert 'href="/accounts/"' not in without
    assert 'href="/accounts/"' in with_accounts
    assert 'href="/accounts/new/"' in with_accounts
