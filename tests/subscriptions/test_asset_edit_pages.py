"""Asset pages: the menu entry, the edit page (expiry and custom fields; only custom fields
once canceled), the account page's assets tab, and the list's filters and export."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Account
from bss.setup.fields import services as field_services
from catalogue.models import BillingCycle, ChargeType
from subscriptions import assets
from subscriptions.models import Asset, AssetStatus
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = reverse("assets:list")


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def licence_plan(make_plan: Any) -> Any:
    return make_plan("400.00", cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)


@pytest.fixture
def reservation_field(admin_user: Any) -> Any:
    return field_services.custom_field_create(
        actor=admin_user,
        entity="asset",
        label="Reservation ID",
        field_type="text",
        code="reservation_id",
        show_in_storefront=True,
    )


def make_asset(
    user: Any,
    account: Account,
    plan: Any,
    capture: Any,
    *,
    quantity: int = 3,
    expiration_date: date | None = date(2027, 3, 10),
) -> Asset:
    with time_machine.travel(at(2026, 3, 10, 11), tick=False), capture(execute=True):
        return assets.asset_create(
            actor=user,
            account=account,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            purchase_date=date(2026, 3, 10),
            expiration_date=expiration_date,
        )


@pytest.fixture
def licence(
    admin_user: Any, customer: Account, licence_plan: Any, django_capture_on_commit_callbacks: Any
) -> Asset:
    return make_asset(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)


def edit_url(asset: Asset) -> str:
    return reverse("assets:edit", kwargs={"pk": asset.pk})


def test_the_menu_links_the_asset_list_for_those_who_may_see_assets(
    client_for: Any, make_user: Any
) -> None:
    allowed = client_for(make_user("assets.view")).get("/").content.decode()
    refused = client_for(make_user("subscriptions.view")).get("/").content.decode()

    assert f'href="{LIST}"' in allowed
    assert f'href="{LIST}"' not in refused


def test_the_edit_page_saves_the_expiry_and_custom_fields(
    licence: Asset, admin_client: Any, reservation_field: Any
) -> None:
    page = admin_client.get(edit_url(licence))
    assert page.status_code == 200
    assert 'name="cf_reservation_id"' in page.content.decode()
    assert 'value="2027-03-10"' in page.content.decode()

    response = admin_client.post(
        edit_url(licence), {"expiration_date": "2027-06-30", "cf_reservation_id": "RI-7781"}
    )

    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.expiration_date, licence.custom_data) == (
        date(2027, 6, 30),
        {"reservation_id": "RI-7781"},
    )
    detail = admin_client.get(licence.get_absolute_url()).content.decode()
    assert '<dd data-field="reservation_id">RI-7781</dd>' in detail
    assert f'href="{edit_url(licence)}"' in detail


def test_the_edit_page_names_a_bad_field_and_saves_nothing(
    licence: Asset, admin_client: Any, reservation_field: Any
) -> None:
    before_start = admin_client.post(
        edit_url(licence), {"expiration_date": "2026-03-01", "cf_reservation_id": "RI-1"}
    )
    too_long = admin_client.post(
        edit_url(licence), {"expiration_date": "2027-03-10", "cf_reservation_id": "x" * 300}
    )

    assert before_start.status_code == 200
    assert list(before_start.context["form"].errors) == ["expiration_date"]
    assert "comes after the start date" in before_start.content.decode()
    assert list(too_long.context["form"].errors) == ["cf_reservation_id"]
    licence.refresh_from_db()
    assert (licence.expiration_date, licence.custom_data) == (date(2027, 3, 10), {})


def test_a_canceled_asset_edits_only_its_custom_fields(
    licence: Asset, admin_user: Any, admin_client: Any, reservation_field: Any
) -> None:
    assets.asset_cancel(actor=admin_user, asset=licence, reason="Returned")

    page = admin_client.get(edit_url(licence)).content.decode()
    assert 'id="asset-read-only"' in page
    assert 'name="expiration_date"' in page
    assert "disabled" in page.split('name="expiration_date"')[1].split(">")[0]
    response = admin_client.post(
        edit_url(licence), {"expiration_date": "2028-01-01", "cf_reservation_id": "RI-9"}
    )

    # the posted date is ignored (the field is read-only), the custom field is saved
    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.status, licence.expiration_date, licence.custom_data) == (
        AssetStatus.CANCELED,
        date(2027, 3, 10),
        {"reservation_id": "RI-9"},
    )
    detail = admin_client.get(licence.get_absolute_url()).content.decode()
    assert "Edit custom fields" in detail
    assert 'id="edit-pricing-dialog"' not in detail


def test_editing_needs_the_edit_right_and_the_record(
    licence: Asset, customer: Account, client_for: Any, make_user: Any
) -> None:
    viewer = make_user("assets.view")
    stranger = make_user("assets.view", "assets.edit")
    customer.owner = viewer
    customer.save(update_fields=["owner"])

    assert client_for(viewer).get(edit_url(licence)).status_code == 403
    assert client_for(stranger).get(edit_url(licence)).status_code == 404
    refused = client_for(stranger).post(edit_url(licence), {"expiration_date": "2027-06-30"})
    assert refused.status_code == 404
    detail = client_for(viewer).get(licence.get_absolute_url()).content.decode()
    assert 'id="asset-edit"' not in detail
    licence.refresh_from_db()
    assert licence.expiration_date == date(2027, 3, 10)


def test_the_account_page_links_each_asset_and_all_of_them(
    licence: Asset, customer: Account, admin_client: Any
) -> None:
    page = admin_client.get(f"{customer.get_absolute_url()}?tab=assets").content.decode()

    assert f'href="{licence.get_absolute_url()}"' in page
    assert f'href="{LIST}?account={customer.number}"' in page


def test_the_list_filters_by_account_product_status_and_expiry(
    licence: Asset,
    admin_user: Any,
    admin_client: Any,
    make_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other_plan = make_plan("50.00", cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)
    other_account = CustomerFactory(is_ordering_enabled=True, is_taxable=False)
    soon = make_asset(
        admin_user,
        other_account,
        other_plan,
        django_capture_on_commit_callbacks,
        expiration_date=date(2026, 4, 1),
    )
    never = make_asset(
        admin_user,
        other_account,
        other_plan,
        django_capture_on_commit_callbacks,
        expiration_date=None,
    )
    assets.asset_cancel(actor=admin_user, asset=never)

    def codes(**params: Any) -> list[str]:
        with time_machine.travel(at(2026, 3, 20, 10), tick=False):
            response = admin_client.get(LIST, {"sort": "code", **params})
        return [record.code for record, _cells in response.context["rows"]]

    assert codes(account=licence.account.number) == [licence.code]
    assert codes(account=other_account.name) == [soon.code, never.code]
    assert codes(product=other_plan.product_id) == [soon.code, never.code]
    assert codes(status="canceled") == [never.code]
    assert codes(expires_within="30") == [soon.code]
    assert codes(expires_within="365") == [licence.code, soon.code]
    assert codes(expiration_date_after="2027-01-01") == [licence.code]


def test_the_list_exports_what_it_shows(
    licence: Asset, admin_client: Any, customer: Account
) -> None:
    response = admin_client.get(LIST, {"account": customer.number, "export": "xlsx"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Code", "Account", "Product")
    assert [row[0] for row in rows[1:]] == [licence.code]


def test_the_filtered_list_query_count_does_not_grow_with_rows(
    admin_client: Any,
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    reservation_field: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for quantity in range(1, 31):
        make_asset(
            admin_user,
            customer,
            licence_plan,
            django_capture_on_commit_callbacks,
            quantity=quantity,
        )
    # Session, user, languages, organization, custom fields, products of the filter,
    # count, rows: none per row.
    with django_assert_max_num_queries(8):
        response = admin_client.get(
            LIST, {"account": customer.number, "status": "active", "expires_within": "365"}
        )
    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    assert Asset.objects.count() == 30


def test_the_edit_page_offers_only_the_fields_the_accounts_display_rules_show(
    licence: Asset, admin_client: Any, admin_user: Any, reservation_field: Any
) -> None:
    # given a field shown only for resellers, with a value stored through the service
    field_services.custom_field_create(
        actor=admin_user,
        entity="asset",
        label="Reseller reference",
        field_type="text",
        code="reseller_reference",
        display_rule={"field": "account_type", "values": ["reseller"]},
    )
    Asset.objects.filter(pk=licence.pk).update(custom_data={"reseller_reference": "R-1"})
    licence.refresh_from_db()

    page = admin_client.get(edit_url(licence)).content.decode()
    saved = admin_client.post(
        edit_url(licence), {"expiration_date": "2027-03-10", "cf_reservation_id": "RI-2"}
    )

    # then the direct customer's asset offers only the reservation id and keeps the rest
    assert 'name="cf_reservation_id"' in page
    assert 'name="cf_reseller_reference"' not in page
    assert saved.status_code == 302
    licence.refresh_from_db()
    assert licence.custom_data == {"reseller_reference": "R-1", "reservation_id": "RI-2"}
