"""The accounts list: 20,000 rows in a fixed number of queries, filters, export, bulk actions."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.models import Account
from accounts.registry import register_transaction_check
from bss.core.models import Event
from tests.factories import AccountFactory, UserFactory
from tests.setup.factories_rules_fields import RuleGrantFactory, RuleModuleFactory

pytestmark = pytest.mark.django_db

TWENTY_THOUSAND = 20_000


@pytest.fixture
def big_book() -> dict[str, Any]:
    """20,000 accounts: 200 resellers with 99 clients each, spread over five owners."""
    owners = [UserFactory(first_name=f"Owner{index}") for index in range(5)]
    manager = UserFactory(first_name="Mia", last_name="Manager")
    resellers = Account.objects.bulk_create(
        Account(
            number=f"ACC-R{index:05d}",
            name=f"Reseller {index:03d}",
            account_type=Account.Type.RESELLER,
            owner=owners[index % 5],
            account_manager=manager,
        )
        for index in range(200)
    )
    Account.objects.bulk_create(
        (
            Account(
                number=f"ACC-C{index:06d}",
                name=f"Client {index:05d}",
                account_type=Account.Type.CLIENT,
                parent=resellers[index % 200],
                owner=owners[index % 5],
                currency="USD" if index % 10 == 0 else "EUR",
                status=Account.Status.INACTIVE if index % 7 == 0 else Account.Status.ACTIVE,
            )
            for index in range(TWENTY_THOUSAND - 200)
        ),
        batch_size=2000,
    )
    return {"owners": owners, "manager": manager, "resellers": resellers}


def test_20000_accounts_list_in_a_fixed_number_of_queries_and_export_to_xlsx(
    admin_client: Client, big_book: dict[str, Any]
) -> None:
    # given
    admin_client.get("/accounts/")  # the first request creates the organization profile

    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/accounts/", {"sort": "-name"})

    # then: session, user, languages, organization, custom fields, the users of the
    # manager and owner selects, the permission rules of the rule select, count, page
    assert response.status_code == 200
    assert response.context["paginator"].count == TWENTY_THOUSAND
    assert len(response.context["rows"]) == 25
    assert len(queries) <= 9, "\n".join(query["sql"][:120] for query in queries)

    # when filtered, the page costs the same
    reseller = big_book["resellers"][0]
    owner = big_book["owners"][0]
    with CaptureQueriesContext(connection) as filtered_queries:
        filtered = admin_client.get(
            "/accounts/",
            {
                "account_type": "client",
                "status": "active",
                "currency": "usd",
                "reseller": reseller.name,
                "owner": owner.pk,
            },
        )
    assert len(filtered_queries) == len(queries)
    rows = [record for record, _values in filtered.context["rows"]]
    assert filtered.context["paginator"].count == 84
    assert {
        (row.parent_id, row.currency, row.status, row.owner_id, row.account_type) for row in rows
    } == {(reseller.pk, "USD", "active", owner.pk, "client")}

    # when exported
    resellers = admin_client.get("/accounts/", {"export": "xlsx", "account_type": "reseller"})
    sheet = load_workbook(io.BytesIO(b"".join(resellers.streaming_content))).active
    reseller_rows = list(sheet.iter_rows(values_only=True))
    assert reseller_rows[0][:6] == ("Number", "Name", "Type", "Reseller", "Manager", "Currency")
    assert len(reseller_rows) == 201
    assert reseller_rows[1][:5] == ("ACC-R00000", "Reseller 000", "Reseller", None, "Mia Manager")
    everything = admin_client.get("/accounts/", {"export": "xlsx"})
    workbook = load_workbook(io.BytesIO(b"".join(everything.streaming_content)), read_only=True)
    assert sum(1 for _row in workbook.active.iter_rows(values_only=True)) == TWENTY_THOUSAND + 1


def test_list_filters_by_manager(admin_client: Client) -> None:
    manager = UserFactory(first_name="Nina")
    AccountFactory(name="Managed", account_manager=manager)
    AccountFactory(name="Unmanaged")
    response = admin_client.get("/accounts/", {"account_manager": manager.pk})
    assert [record.name for record, _values in response.context["rows"]] == ["Managed"]


def test_bulk_assign_manager_touches_only_editable_selected_accounts(
    make_user: Any, client_for: Any
) -> None:
    # given a user who may edit one account and only read another
    seller = make_user("accounts.view", "accounts.edit")
    manager = UserFactory(first_name="Theo", last_name="Manager")
    read_rule = RuleModuleFactory(rule__name="Read only").rule
    RuleGrantFactory(rule=read_rule, user=seller, access="read")
    own = AccountFactory(name="Own", owner=seller)
    readable = AccountFactory(name="Readable", permission_rule=read_rule)
    hidden = AccountFactory(name="Hidden")
    client = client_for(seller)

    # when
    response = client.post(
        "/accounts/",
        {
            "bulk_action": "assign_manager",
            "bulk_assign_manager-manager": manager.pk,
            "selected": [own.pk, readable.pk, hidden.pk],
            "next": "/accounts/?status=active",
        },
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/?status=active"
    assert list(Account.objects.order_by("name").values_list("name", "account_manager_id")) == [
        ("Hidden", None),
        ("Own", manager.pk),
        ("Readable", None),
    ]
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Assign account manager: 1 record done. 2 skipped (not editable or refused)."
    ]
    assert Event.objects.filter(name="account.updated", aggregate_id=str(own.pk)).count() == 1


def test_bulk_deactivate_reports_refusals_and_keeps_going(
    admin_client: Client, admin_user: Any
) -> None:
    first = AccountFactory(name="One")
    second = AccountFactory(name="Two")
    response = admin_client.post(
        "/accounts/", {"bulk_action": "deactivate", "selected": [first.pk, second.pk]}
    )
    assert response.status_code == 302
    assert set(Account.objects.values_list("status", flat=True)) == {"inactive"}


def test_bulk_actions_need_the_edit_right(make_user: Any, client_for: Any) -> None:
    viewer = make_user("accounts.view")
    own = AccountFactory(owner=viewer)
    client = client_for(viewer)
    page = client.get("/accounts/")
    assert page.context["bulk_actions"] == []
    assert 'name="selected" value=' not in page.content.decode()
    response = client.post("/accounts/", {"bulk_action": "deactivate", "selected": [own.pk]})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == "active"


def test_the_page_shows_the_bulk_toolbar_to_editors(admin_client: Client) -> None:
    account = AccountFactory(name="Pickable")
    html = admin_client.get("/accounts/").content.decode()
    assert f'name="selected" value="{account.pk}" form="bulk-form"' in html
    assert '<option value="assign_manager"' in html
    assert 'name="bulk_assign_manager-manager"' in html


def test_a_bulk_action_without_selection_changes_nothing(admin_client: Client) -> None:
    AccountFactory()
    response = admin_client.post("/accounts/", {"bulk_action": "deactivate"})
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Select at least one record."]
    assert set(Account.objects.values_list("status", flat=True)) == {"active"}


def test_bulk_delete_is_not_an_action_and_transactions_block_deletion(
    admin_client: Client, clean_registry: Any
) -> None:
    account = AccountFactory(name="Busy")
    register_transaction_check(lambda checked: "2 orders" if checked.pk == account.pk else None)
    page = admin_client.get(f"/accounts/{account.pk}/delete/")
    assert (
        "This account has transactions (2 orders) and cannot be deleted." in page.content.decode()
    )
    response = admin_client.post(
        f"/accounts/{account.pk}/delete/", {"confirm_number": account.number}
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Busy has transactions (2 orders) and cannot be deleted; deactivate it instead."
    ]
    assert Account.objects.filter(pk=account.pk).exists()


def test_a_bulk_action_with_a_missing_input_names_it(admin_client: Client) -> None:
    account = AccountFactory()
    response = admin_client.post(
        "/accounts/", {"bulk_action": "assign_manager", "selected": [account.pk]}
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Account manager: This field is required."
    ]
    account.refresh_from_db()
    assert account.account_manager is None
