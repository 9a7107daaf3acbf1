"""Asset API: list with filters, create through the service, edit-pricing answering its
credit and debit invoices to the cent, cancel, PATCH of expiry and custom fields, rights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account
from billing.models import Charge, Invoice
from bss.setup.fields import services as field_services
from catalogue.models import BillingCycle, ChargeType, ProductPlan
from subscriptions import assets
from subscriptions.models import Asset, AssetStatus
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/assets/"
ASSET_RIGHTS = ("assets.view", "assets.create", "assets.edit", "assets.edit_pricing")


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def march_20() -> Iterator[Any]:
    with time_machine.travel(at(2026, 3, 20, 15), tick=False) as traveller:
        yield traveller


@pytest.fixture
def licence_plan(make_plan: Any) -> ProductPlan:
    """A one-off licence at 400.00 (EUR)."""
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


@pytest.fixture
def licence(
    admin_user: Any,
    customer: Account,
    licence_plan: ProductPlan,
    django_capture_on_commit_callbacks: Any,
) -> Asset:
    """3 licences at 400.00 less 10 %, bought 10 March 2026: invoiced 1,080.00 that day."""
    with (
        time_machine.travel(at(2026, 3, 10, 11), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return assets.asset_create(
            actor=admin_user,
            account=customer,
            product=licence_plan.product,
            plan=licence_plan,
            quantity=3,
            discount_percent=Decimal("10"),
            purchase_date=date(2026, 3, 10),
            expiration_date=date(2027, 3, 10),
        )


@pytest.fixture
def clerk(make_user: Any, customer: Account) -> Any:
    """An asset clerk owning the customer, with every asset right."""
    user = make_user(*ASSET_RIGHTS)
    customer.owner = user
    customer.save(update_fields=["owner"])
    return user


@pytest.fixture
def clerk_api(clerk: Any, api_client_for: Any) -> Any:
    return api_client_for(clerk)


def post(client: Any, asset: Asset, operation: str, body: dict) -> Any:
    return client.post(f"{BASE}{asset.pk}/{operation}/", body, format="json")


def test_list_filters_and_detail(
    licence: Asset,
    admin_user: Any,
    customer: Account,
    make_plan: Any,
    admin_api: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # given a second asset: another account, another product, expiring later
    other_plan = make_plan("50.00", cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)
    other_account = CustomerFactory(is_ordering_enabled=True, is_taxable=False)
    with django_capture_on_commit_callbacks(execute=True):
        other = assets.asset_create(
            actor=admin_user,
            account=other_account,
            product=other_plan.product,
            plan=other_plan,
            quantity=1,
            purchase_date=date(2026, 3, 12),
            expiration_date=date(2028, 1, 1),
        )
    assets.asset_cancel(actor=admin_user, asset=other)

    with django_assert_max_num_queries(8):
        everything = admin_api.get(BASE).json()
    by_account = admin_api.get(BASE, {"account": customer.pk}).json()
    by_product = admin_api.get(BASE, {"product": other_plan.product_id}).json()
    canceled = admin_api.get(BASE, {"status": "canceled"}).json()
    expiring = admin_api.get(BASE, {"expiring_before": "2027-12-31"}).json()
    detail = admin_api.get(f"{BASE}{licence.pk}/").json()

    def codes(page: dict) -> list[str]:
        return [row["code"] for row in page["results"]]

    assert codes(everything) == [other.code, licence.code]
    assert codes(by_account) == [licence.code]
    assert codes(by_product) == [other.code]
    assert codes(canceled) == [other.code]
    assert codes(expiring) == [licence.code]
    assert (detail["quantity"], detail["unit_price"], detail["discount_percent"]) == (
        3,
        "400.0000",
        "10.0000",
    )
    assert (detail["status"], detail["expiration_date"], detail["pricing_version"]) == (
        "active",
        "2027-03-10",
        1,
    )


def test_a_bad_filter_value_answers_400(admin_api: Any) -> None:
    response = admin_api.get(BASE, {"expiring_before": "next year"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expiring_before"]


def test_create_bills_the_asset_once(
    clerk_api: Any,
    customer: Account,
    licence_plan: ProductPlan,
    reservation_field: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = {
        "account": customer.pk,
        "product": licence_plan.product_id,
        "plan": licence_plan.pk,
        "quantity": 2,
        "discount_percent": "5",
        "purchase_date": "2026-03-10",
        "expiration_date": "2027-03-10",
        "custom_fields": {"reservation_id": "RI-7781"},
    }
    with (
        time_machine.travel(at(2026, 3, 10, 11), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = clerk_api.post(BASE, body, format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["code"].startswith("AST-")
    assert (created["unit_price"], created["custom_fields"]) == (
        "400.0000",
        {"reservation_id": "RI-7781"},
    )
    # 2 x 400.00 = 800.00 less 5 % = 760.00, invoiced on the purchase day
    [invoice] = Invoice.objects.filter(billing_account=customer)
    assert (invoice.invoice_date, invoice.gross_total) == (date(2026, 3, 10), Decimal("760.00"))


def test_create_refuses_a_recurring_product_and_writes_nothing(
    clerk_api: Any, customer: Account, make_plan: Any
) -> None:
    monthly = make_plan("10.00")
    body = {
        "account": customer.pk,
        "product": monthly.product_id,
        "plan": monthly.pk,
        "quantity": 1,
    }

    response = clerk_api.post(BASE, body, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["product"]
    assert "becomes a subscription" in errors["product"][0]
    assert not Asset.objects.exists()
    assert not Charge.objects.exists()


def test_create_names_each_bad_field(
    clerk_api: Any, licence_plan: ProductPlan, reservation_field: Any
) -> None:
    stranger = CustomerFactory(is_ordering_enabled=True)
    body = {
        "account": stranger.pk,
        "product": licence_plan.product_id,
        "plan": licence_plan.pk,
        "quantity": 0,
        "discount_percent": "120",
        "custom_fields": {"no_such_field": "x"},
    }

    response = clerk_api.post(BASE, body, format="json")

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == [
        "account",
        "custom_fields",
        "discount_percent",
        "quantity",
    ]
    assert not Asset.objects.exists()


def test_edit_pricing_answers_the_credit_and_the_debit_to_the_cent(
    licence: Asset, clerk_api: Any, customer: Account, march_20: Any
) -> None:
    # given 3 licences invoiced 1,080.00 on 10 March
    [original] = Invoice.objects.filter(billing_account=customer)
    assert original.gross_total == Decimal("1080.00")

    # when the pricing becomes 350.00 less 5 % on 20 March
    response = post(
        clerk_api, licence, "edit-pricing", {"unit_price": "350.00", "discount_percent": "5"}
    )

    # then a credit of the old 1,080.00, linked to the original invoice, and a debit of
    # 3 x 350.00 = 1,050.00 less 52.50 = 997.50, both dated 20 March
    assert response.status_code == 200, response.json()
    body = response.json()
    credit, debit = body["credit_invoice"], body["debit_invoice"]
    assert (credit["kind"], credit["gross_total"], credit["linked_invoice_id"]) == (
        "credit",
        "1080.00",
        original.pk,
    )
    assert (debit["kind"], debit["net_total"], debit["gross_total"]) == (
        "debit",
        "997.50",
        "997.50",
    )
    assert credit["invoice_date"] == debit["invoice_date"] == "2026-03-20"
    assert credit["number"]
    assert debit["number"]
    assert (body["asset"]["unit_price"], body["asset"]["pricing_version"]) == ("350.0000", 2)
    # both cover the original period, 10 March 2026 to 9 March 2027
    periods = {
        (line.invoice.kind, line.period_start, line.last_day)
        for line in Invoice.objects.get(pk=debit["id"]).lines.select_related("invoice")
    } | {
        (line.invoice.kind, line.period_start, line.last_day)
        for line in Invoice.objects.get(pk=credit["id"]).lines.select_related("invoice")
    }
    assert periods == {
        ("debit", date(2026, 3, 10), date(2027, 3, 9)),
        ("credit", date(2026, 3, 10), date(2027, 3, 9)),
    }
    assert credit["number"] in Invoice.objects.get(pk=debit["id"]).notes


def test_edit_pricing_keeps_what_is_left_out(
    licence: Asset, clerk_api: Any, customer: Account, march_20: Any
) -> None:
    response = post(clerk_api, licence, "edit-pricing", {"discount_percent": "0"})

    # 3 x 400.00 without the discount: 1,200.00
    assert response.status_code == 200
    assert response.json()["debit_invoice"]["gross_total"] == "1200.00"
    assert response.json()["asset"]["unit_price"] == "400.0000"


def test_edit_pricing_before_the_invoice_answers_no_invoices_yet(
    admin_user: Any,
    customer: Account,
    licence_plan: ProductPlan,
    clerk_api: Any,
    march_20: Any,
) -> None:
    customer.partial_charges = Account.PartialCharges.BILLING_DAY
    customer.save(update_fields=["partial_charges"])
    asset = assets.asset_create(
        actor=admin_user,
        account=customer,
        product=licence_plan.product,
        plan=licence_plan,
        quantity=1,
        purchase_date=date(2026, 3, 20),
    )

    response = post(clerk_api, asset, "edit-pricing", {"unit_price": "300"})

    assert response.status_code == 200
    body = response.json()
    assert (body["credit_invoice"], body["debit_invoice"]) == (None, None)
    assert sorted(Charge.objects.filter(account=customer).values_list("amount", flat=True)) == [
        Decimal("-400.00"),
        Decimal("300.00"),
        Decimal("400.00"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"unit_price": "-1"}, "unit_price"),
        ({"discount_percent": "101"}, "discount_percent"),
        ({"unit_price": "abc"}, "unit_price"),
        ({"unit_price": "400", "discount_percent": "10"}, "unit_price"),
        ({}, "non_field_errors"),
    ],
)
def test_edit_pricing_refusals_name_the_field_and_change_nothing(
    licence: Asset, clerk_api: Any, customer: Account, march_20: Any, body: dict, field: str
) -> None:
    response = post(clerk_api, licence, "edit-pricing", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    licence.refresh_from_db()
    assert (licence.unit_price, licence.discount_percent, licence.pricing_version) == (
        Decimal("400.0000"),
        Decimal("10.0000"),
        1,
    )
    assert Invoice.objects.filter(billing_account=customer).count() == 1


def test_patch_changes_the_expiry_and_custom_fields(
    licence: Asset, clerk_api: Any, reservation_field: Any
) -> None:
    response = clerk_api.patch(
        f"{BASE}{licence.pk}/",
        {"expiration_date": "2027-06-30", "custom_fields": {"reservation_id": "RI-1"}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    licence.refresh_from_db()
    assert (licence.expiration_date, licence.custom_data) == (
        date(2027, 6, 30),
        {"reservation_id": "RI-1"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expiration_date": "2026-03-01"}, "expiration_date"),
        ({"expiration_date": "soon"}, "expiration_date"),
        ({"unit_price": "1"}, "unit_price"),
        ({"quantity": 9}, "quantity"),
        ({"custom_fields": {"reservation_id": "x" * 300}}, "custom_fields"),
        ({"custom_fields": "RI-1"}, "custom_fields"),
    ],
)
def test_patch_refusals_name_the_field_and_change_nothing(
    licence: Asset, clerk_api: Any, reservation_field: Any, body: dict, field: str
) -> None:
    response = clerk_api.patch(f"{BASE}{licence.pk}/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    licence.refresh_from_db()
    assert (licence.expiration_date, licence.quantity, licence.custom_data) == (
        date(2027, 3, 10),
        3,
        {},
    )


def test_a_canceled_asset_takes_only_custom_fields(
    licence: Asset, clerk_api: Any, customer: Account, reservation_field: Any
) -> None:
    canceled = post(clerk_api, licence, "cancel", {"reason": "Returned"})
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"

    new_expiry = clerk_api.patch(
        f"{BASE}{licence.pk}/",
        {"expiration_date": "2028-01-01", "custom_fields": {"reservation_id": "RI-9"}},
        format="json",
    )
    repriced = post(clerk_api, licence, "edit-pricing", {"unit_price": "1"})
    again = post(clerk_api, licence, "cancel", {})
    fields_only = clerk_api.patch(
        f"{BASE}{licence.pk}/", {"custom_fields": {"reservation_id": "RI-9"}}, format="json"
    )

    assert new_expiry.status_code == 400
    assert list(new_expiry.json()["errors"]) == ["expiration_date"]
    assert "only its custom fields can change" in new_expiry.json()["errors"]["expiration_date"][0]
    assert (repriced.status_code, list(repriced.json()["errors"])) == (400, ["status"])
    assert again.status_code == 400
    assert fields_only.status_code == 200
    assert fields_only.json()["custom_fields"] == {"reservation_id": "RI-9"}
    licence.refresh_from_db()
    assert (licence.status, licence.expiration_date, licence.unit_price) == (
        AssetStatus.CANCELED,
        date(2027, 3, 10),
        Decimal("400.0000"),
    )
    assert Invoice.objects.filter(billing_account=customer).count() == 1


def test_each_write_needs_its_right(
    licence: Asset,
    customer: Account,
    licence_plan: ProductPlan,
    make_user: Any,
    api_client_for: Any,
) -> None:
    viewer = make_user("assets.view")
    editor = make_user("assets.view", "assets.edit")
    customer.owner = editor
    customer.save(update_fields=["owner"])
    viewer_api, editor_api = api_client_for(viewer), api_client_for(editor)
    create_body = {
        "account": customer.pk,
        "product": licence_plan.product_id,
        "plan": licence_plan.pk,
        "quantity": 1,
    }

    assert viewer_api.post(BASE, create_body, format="json").status_code == 403
    assert post(viewer_api, licence, "cancel", {}).status_code == 403
    assert viewer_api.patch(f"{BASE}{licence.pk}/", {}, format="json").status_code == 403
    assert post(editor_api, licence, "edit-pricing", {"unit_price": "1"}).status_code == 403
    assert editor_api.put(f"{BASE}{licence.pk}/", {}, format="json").status_code == 405
    # the viewer does not own the account: the asset is not there for them
    assert viewer_api.get(f"{BASE}{licence.pk}/").status_code == 404
    assert viewer_api.get(BASE).json()["results"] == []
    licence.refresh_from_db()
    assert (licence.status, licence.unit_price) == (AssetStatus.ACTIVE, Decimal("400.0000"))
    assert Asset.objects.count() == 1
