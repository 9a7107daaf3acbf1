"""Subscription pages: the list with filters, export and bulk action, the subscription page
with its panels and history, the account page's tabs, setup and global search."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.urls import reverse

from accounts.models import Account
from billing.engine import invoice_due_charges
from billing.models import Charge, Invoice
from bss.setup.models import CustomFieldDefinition
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionSettings
from subscriptions.settings_services import subscription_settings_update
from tests.billing.factories import CustomerFactory
from tests.subscriptions.pages.conftest import today

pytestmark = pytest.mark.django_db

LIST = "/subscriptions/"


def many_subscriptions(customer: Account, seats_plan: Any, subscribe: Any, count: int) -> list:
    return [
        subscribe(customer, seats_plan, index + 1, today(), friendly_name=f"Team {index}")
        for index in range(count)
    ]


def test_the_list_shows_subscriptions_with_a_pinned_number_of_queries(
    customer: Account,
    seats_plan: Any,
    subscribe: Any,
    admin_client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    many_subscriptions(customer, seats_plan, subscribe, 12)

    with django_assert_max_num_queries(9):
        response = admin_client.get(LIST)

    assert response.status_code == 200
    text = response.content.decode()
    assert "Team 11" in text
    assert "Team 0" in text
    assert text.count("status-active") >= 12


def test_the_list_query_count_does_not_grow_with_the_rows(
    customer: Account,
    seats_plan: Any,
    subscribe: Any,
    admin_client: Any,
) -> None:
    many_subscriptions(customer, seats_plan, subscribe, 2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin_client.get(LIST)
    many_subscriptions(customer, seats_plan, subscribe, 10)
    with CaptureQueriesContext(connection) as more:
        admin_client.get(LIST)

    assert len(more.captured_queries) == len(few.captured_queries)


def test_the_list_filters_by_status_product_account_renewal_and_external_pricing(
    customer: Account, seats_plan: Any, make_plan: Any, subscribe: Any, admin_client: Any
) -> None:
    first = subscribe(customer, seats_plan, 1, today(), friendly_name="Alpha")
    other_plan = make_plan("5.00")
    other_account = CustomerFactory(is_ordering_enabled=True, name="Zeta Shipping")
    second = subscribe(other_account, other_plan, 2, today(), friendly_name="Bravo")
    services.subscription_suspend(actor=None, subscription=second)
    services.subscription_record_external_pricing(
        actor=None, subscription=first, succeeded=False, reason="No Pricing Data"
    )

    def names(query: str) -> set[str]:
        text = admin_client.get(f"{LIST}?{query}").content.decode()
        return {name for name in ("Alpha", "Bravo") if name in text}

    assert names("status=suspended") == {"Bravo"}
    assert names(f"product={other_plan.product_id}") == {"Bravo"}
    assert names("account=Zeta") == {"Bravo"}
    assert names(f"account={customer.number}") == {"Alpha"}
    assert names("external_pricing_status=failed") == {"Alpha"}
    assert names("external_pricing_status=none") == {"Bravo"}
    assert names("billing_method=prepaid") == {"Alpha", "Bravo"}
    assert first.term_end < second.term_end
    assert names(f"term_end_after={first.term_end}&term_end_before={first.term_end}") == {"Alpha"}
    assert names(f"term_end_after={first.term_end + timedelta(days=1)}") == {"Bravo"}
    assert names(f"term_end_after={second.term_end + timedelta(days=1)}") == set()


def test_the_list_exports_xlsx_with_custom_fields(
    live_subscription: Subscription, admin_client: Any
) -> None:
    CustomFieldDefinition.objects.create(
        entity="subscription", code="cost_center", label="Cost center", field_type="text"
    )
    services.subscription_edit(
        actor=None,
        subscription=live_subscription,
        friendly_name="Office seats",
        auto_renew=True,
        custom_data={"cost_center": "CC-42"},
    )

    page = admin_client.get(LIST).content.decode()
    response = admin_client.get(f"{LIST}?export=xlsx")

    assert "Cost center" in page
    assert "CC-42" in page
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    header, row = rows[0], rows[1]
    assert row[header.index("Number")] == live_subscription.number
    assert row[header.index("Quantity")] == 10
    assert row[header.index("Cost center")] == "CC-42"
    assert row[header.index("Final unit price")] == "12 EUR"


def test_the_bulk_action_activates_price_protection(
    customer: Account, seats_plan: Any, subscribe: Any, operator: Any, client_for: Any
) -> None:
    first, second = many_subscriptions(customer, seats_plan, subscribe, 2)
    customer.owner = operator
    customer.save(update_fields=["owner"])
    client = client_for(operator)

    response = client.post(
        LIST,
        {"bulk_action": "price_protection", "selected": [first.pk, second.pk]},
    )

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.price_protected_until == first.term_end
    assert second.price_protected_until == second.term_end


def test_the_bulk_action_needs_the_price_protection_right(
    live_subscription: Subscription, make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("subscriptions.view", "subscriptions.edit"))

    response = client.post(
        LIST, {"bulk_action": "price_protection", "selected": [live_subscription.pk]}
    )

    assert response.status_code == 403
    live_subscription.refresh_from_db()
    assert live_subscription.price_protected_until is None


def test_the_subscription_page_shows_fields_history_charges_and_invoices(
    live_subscription: Subscription,
    admin_client: Any,
    admin_user: Any,
    django_assert_max_num_queries: Any,
) -> None:
    invoice_due_charges(
        actor=None, billing_account=live_subscription.billing_account, up_to=today()
    )
    services.subscription_change_quantity(
        actor=admin_user, subscription=live_subscription, new_quantity=12
    )
    [invoice] = Invoice.objects.filter(billing_account=live_subscription.billing_account)

    with django_assert_max_num_queries(18):
        response = admin_client.get(live_subscription.get_absolute_url())

    text = response.content.decode()
    assert response.status_code == 200
    assert "Office seats" in text
    assert live_subscription.number in text
    assert 'data-field="quantity">12 ' in text
    assert 'id="panel-charges"' in text
    assert 'id="panel-invoices"' in text
    assert invoice.number in text
    assert text.count("<tr>") >= 3
    assert 'data-kind="quantity"' in text
    assert 'data-kind="created"' in text
    assert "<span data-new-quantity>12</span>" in text
    charges = Charge.objects.filter(subscription_id=live_subscription.pk)
    assert charges.count() == 2
    for label in ("Change quantity", "Cancel", "Edit pricing info", "Suspend", "Price protection"):
        assert label in text


def test_the_page_hides_billing_panels_from_users_without_invoices(
    live_subscription: Subscription, make_user: Any, client_for: Any
) -> None:
    user = make_user("subscriptions.view")
    live_subscription.account.owner = user
    live_subscription.account.save(update_fields=["owner"])

    text = client_for(user).get(live_subscription.get_absolute_url()).content.decode()

    assert 'id="panel-charges"' not in text
    assert "Change quantity" not in text


def test_the_page_of_an_invisible_subscription_is_not_found(
    live_subscription: Subscription, make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("subscriptions.view"))

    assert client.get(live_subscription.get_absolute_url()).status_code == 404


def test_the_account_page_lists_subscriptions_and_assets(
    live_subscription: Subscription, admin_client: Any, django_assert_max_num_queries: Any
) -> None:
    account = live_subscription.account
    url = account.get_absolute_url()

    with django_assert_max_num_queries(18):
        tab = admin_client.get(f"{url}?tab=subscriptions")
    assets = admin_client.get(f"{url}?tab=assets")

    assert tab.status_code == 200
    assert live_subscription.number in tab.content.decode()
    assert "No assets." in assets.content.decode()


def test_global_search_finds_a_subscription_by_number_and_name(
    live_subscription: Subscription, admin_client: Any
) -> None:
    search = reverse("core:search")

    by_number = admin_client.get(search, {"q": live_subscription.number}).content.decode()
    by_name = admin_client.get(search, {"q": "Office seats"}).content.decode()

    assert live_subscription.get_absolute_url() in by_number
    assert live_subscription.get_absolute_url() in by_name


def test_setup_saves_the_subscription_settings(admin_client: Any) -> None:
    url = reverse("subscriptions:settings")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(
        url,
        {
            "proration_method": "thirty_day",
            "suspension_stops_billing": "on",
            "trial_notice_days": "1, 7,3",
        },
    )

    assert response.status_code == 302
    saved = SubscriptionSettings.objects.get()
    assert (saved.proration_method, saved.suspension_stops_billing, saved.trial_notice_days) == (
        "thirty_day",
        True,
        "7,3,1",
    )


def test_setup_refuses_bad_notice_days_and_names_the_field(admin_client: Any) -> None:
    subscription_settings_update(
        actor=None,
        proration_method="actual_days",
        suspension_stops_billing=False,
        trial_notice_days="7,3,1",
    )

    response = admin_client.post(
        reverse("subscriptions:settings"),
        {"proration_method": "actual_days", "trial_notice_days": "7, soon"},
    )

    assert response.status_code == 400
    assert "“soon” is not a number of days" in response.content.decode()
    assert SubscriptionSettings.objects.get().trial_notice_days == "7,3,1"


def test_setup_needs_the_setup_right(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("subscriptions.view"))

    assert client.get(reverse("subscriptions:settings")).status_code == 403


def test_the_menu_links_the_list(live_subscription: Subscription, admin_client: Any) -> None:
    text = admin_client.get("/").content.decode()

    assert f'href="{LIST}"' in text


def test_unit_prices_show_their_meaningful_decimals() -> None:
    from subscriptions.templatetags.subscription_tags import unit_price

    assert unit_price(Decimal("12.0000"), "EUR") == "12.00 EUR"
    assert unit_price(Decimal("0.0455"), "EUR") == "0.0455 EUR"
