"""In a real browser: an admin creates a user, gives the user's group a read-only grant on a
permission rule and puts the rule on one account; the user then sees only that account
and their own."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from bss.setup.models import User
from tests.factories import AccountFactory, RoleFactory, UserFactory
from tests.setup.factories_rules_fields import RuleModuleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN_PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "Tr1cky-Walk-Passw0rd"


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def test_a_group_grant_shows_the_user_only_the_permitted_accounts(
    live_server: Any, browser: Any, page: Any
) -> None:
    # given
    admin = UserFactory(email="boss@test.example", is_superuser=True, is_staff=True)
    RoleFactory(name="Account readers", permissions=["accounts.view"])
    RuleModuleFactory(rule__name="Key accounts", entity="account")
    for name in ("Permitted Ltd", "Hidden Ltd", "Other Ltd"):
        AccountFactory(name=name, owner=admin)
    base = live_server.url

    # when the admin creates the user in Setup > Users
    sign_in(page, base, admin.email, ADMIN_PASSWORD)
    page.goto(f"{base}/setup/")
    page.locator(".setup-nav").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New").click()
    page.fill("#id_email", "walker@test.example")
    page.fill("#id_first_name", "Wally")
    page.fill("#id_password", NEW_PASSWORD)
    page.get_by_label("Account readers").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{base}/setup/users/*/")
    walker = User.objects.get(email="walker@test.example")
    AccountFactory(name="Walker's own", owner=walker)

    # and gives the group a read-only grant on the rule
    page.locator(".setup-nav").get_by_role("link", name="Permission rules").click()
    page.get_by_role("link", name="Key accounts").click()
    page.select_option("#id_grants-0-grantee", label="Account readers")
    page.select_option("#id_grants-0-access", label="Read-only")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("alert").inner_text() == "Permission rule Key accounts saved."

    # and sets the rule on one account
    permitted = Account.objects.get(name="Permitted Ltd")
    page.goto(f"{base}/accounts/{permitted.pk}/edit/")
    page.select_option("#id_permission_rule", label="Key accounts")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{base}/accounts/{permitted.pk}/")

    # then the user, signed in, sees only the permitted account and their own
    walker_context = browser.new_context(viewport={"width": 1366, "height": 768})
    walker_page = walker_context.new_page()
    walker_page.set_default_timeout(15_000)
    sign_in(walker_page, base, "walker@test.example", NEW_PASSWORD)
    walker_page.goto(f"{base}/accounts/")
    names = walker_page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(name.strip() for name in names) == ["Permitted Ltd", "Walker's own"]
    hidden = Account.objects.get(name="Hidden Ltd")
    assert walker_page.goto(f"{base}/accounts/{hidden.pk}/").status == 404
    walker_context.close()
