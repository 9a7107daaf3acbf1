"""Asset list and detail pages with their dialogs; the usage upload page."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from accounts.models import Account
from billing.models import Invoice, InvoiceKind
from catalogue.models import BillingCycle, ChargeType
from subscriptions import assets
from subscriptions.models import Asset, AssetStatus, Subscription, UsageRecord

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def licence_plan(make_plan: Any) -> Any:
    return make_plan("400.00", cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)


def make_asset(user: Any, account: Account, plan: Any, capture: Any, quantity: int = 3) -> Asset:
    with time_machine.travel(at(2026, 3, 10, 11), tick=False), capture(execute=True):
        return assets.asset_create(
            actor=user,
            account=account,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            purchase_date=date(2026, 3, 10),
        )


def test_the_asset_list_query_count_does_not_grow_with_rows(
    admin_client: Any,
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for quantity in range(1, 31):
        make_asset(admin_user, customer, licence_plan, django_capture_on_commit_callbacks, quantity)
    # Session, user, languages, organization, custom fields, products of the filter,
    # count, rows: none per row.
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("assets:list"))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    newest = Asset.objects.order_by("-pk").first()
    assert reverse("assets:detail", kwargs={"pk": newest.pk}) in response.content.decode()


def test_edit_pricing_and_cancel_from_the_detail_page(
    admin_client: Any,
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    asset = make_asset(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    page = admin_client.get(reverse("assets:detail", kwargs={"pk": asset.pk}))
    assert 'id="edit-pricing-dialog"' in page.content.decode()

    refused = admin_client.post(
        reverse("assets:edit_pricing", kwargs={"pk": asset.pk}),
        {"unit_price": "-1", "discount_percent": "0"},
    )
    assert refused.status_code == 200
    assert "unit_price" in refused.context["pricing_form"].errors
    assert Invoice.objects.filter(billing_account=customer).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(
            reverse("assets:edit_pricing", kwargs={"pk": asset.pk}),
            {"unit_price": "390.00", "discount_percent": "0"},
        )
    assert done.status_code == 302
    credit = Invoice.objects.get(billing_account=customer, kind=InvoiceKind.CREDIT)
    assert credit.gross_total == Decimal("1200.00")
    newest = Invoice.objects.filter(kind=InvoiceKind.DEBIT).latest("pk")
    assert newest.gross_total == Decimal("1170.00")

    admin_client.post(reverse("assets:cancel", kwargs={"pk": asset.pk}), {"reason": "Returned"})
    asset.refresh_from_db()
    assert asset.status == AssetStatus.CANCELED
    page = admin_client.get(reverse("assets:detail", kwargs={"pk": asset.pk}))
    assert 'id="edit-pricing-dialog"' not in page.content.decode()


def test_pricing_edits_need_their_own_right(
    client_for: Any,
    make_user: Any,
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    asset = make_asset(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    viewer = client_for(make_user("assets.view", "assets.edit", is_superuser=False))
    response = viewer.post(
        reverse("assets:edit_pricing", kwargs={"pk": asset.pk}),
        {"unit_price": "1", "discount_percent": "0"},
    )
    assert response.status_code in (403, 404)
    asset.refresh_from_db()
    assert asset.unit_price == Decimal("400.0000")


def sheet(rows: list[list[Any]]) -> SimpleUploadedFile:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.append(
        ["Subscription", "Metric", "Quantity", "Unit", "Occurred at", "Idempotency key"]
    )
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("usage.xlsx", buffer.getvalue())


@pytest.fixture
def metered(customer: Account, make_plan: Any, subscribe: Any) -> Subscription:
    plan = make_plan("0.10", charge_type=ChargeType.RECURRING_PAY_PER_USE)
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        return subscribe(customer, plan, 1, date(2026, 3, 1))


def test_an_upload_with_one_bad_row_stores_nothing_and_names_row_and_column(
    admin_client: Any, metered: Subscription
) -> None:
    rows = [
        [metered.number, "gb", 5, "GB", "2026-03-02 10:00", "k1"],
        [metered.number, "gb", "five", "GB", "2026-03-02 11:00", "k2"],
        ["SUB-9999999", "gb", 1, "GB", "2026-03-02 12:00", "k3"],
    ]
    with time_machine.travel(at(2026, 3, 3, 9), tick=False):
        response = admin_client.post(reverse("usage:upload"), {"file": sheet(rows)})
    errors = [(e.row, e.field) for e in response.context["errors"]]
    assert errors == [(3, "quantity")]
    assert not UsageRecord.objects.exists()

    rows[1][2] = 6
    with time_machine.travel(at(2026, 3, 3, 9), tick=False):
        response = admin_client.post(reverse("usage:upload"), {"file": sheet(rows)})
    assert [(e.row, e.field) for e in response.context["errors"]] == [(4, "subscription")]
    assert not UsageRecord.objects.exists()


def test_a_clean_upload_is_stored_and_a_second_upload_counts_duplicates(
    admin_client: Any, metered: Subscription
) -> None:
    rows = [
        [metered.number, "gb", 5, "GB", "2026-03-02 10:00", "k1"],
        [metered.pk, "gb", 2.5, "GB", "2026-03-02 11:00", "k2"],
    ]
    with time_machine.travel(at(2026, 3, 3, 9), tick=False):
        first = admin_client.post(reverse("usage:upload"), {"file": sheet(rows)})
        second = admin_client.post(reverse("usage:upload"), {"file": sheet(rows)})
    assert (first.context["result"].accepted, first.context["result"].duplicates) == (2, 0)
    assert (second.context["result"].accepted, second.context["result"].duplicates) == (0, 2)
    assert sum(UsageRecord.objects.values_list("quantity", flat=True)) == Decimal("7.5")
