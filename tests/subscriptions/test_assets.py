"""Assets: one-time charge at purchase, pricing edits credited and re-billed to the cent."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from billing.engine import invoice_due_charges
from billing.models import Charge, Invoice, InvoiceKind
from catalogue.models import BillingCycle, ChargeType
from subscriptions import assets
from subscriptions.models import Asset, AssetStatus

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def lines_of(invoice: Invoice) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            f"{line.period_start:%Y-%m-%d}",
            f"{line.last_day:%Y-%m-%d}",
            f"{line.quantity.normalize()}",
            f"{line.amount:.2f}",
            f"{line.net:.2f}",
        )
        for line in invoice.lines.order_by("position")
    ]


@pytest.fixture
def licence_plan(make_plan: Any) -> Any:
    return make_plan("400.00", cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)


def buy(admin_user: Any, customer: Account, plan: Any, capture: Any, **kwargs: Any) -> Asset:
    with time_machine.travel(at(2026, 3, 10, 11), tick=False), capture(execute=True):
        return assets.asset_create(
            actor=admin_user,
            account=customer,
            product=plan.product,
            plan=plan,
            quantity=3,
            discount_percent=Decimal("10"),
            purchase_date=date(2026, 3, 10),
            expiration_date=date(2027, 3, 10),
            **kwargs,
        )


def test_an_asset_is_invoiced_once_on_the_order_day(
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when an order item creates the asset twice
    asset = buy(
        admin_user,
        customer,
        licence_plan,
        django_capture_on_commit_callbacks,
        origin_order_item_id=77,
    )
    again = buy(
        admin_user,
        customer,
        licence_plan,
        django_capture_on_commit_callbacks,
        origin_order_item_id=77,
    )

    # then one asset, one charge, one invoice: 3 x 400.00 = 1,200.00 less 10 % = 1,080.00
    assert again.pk == asset.pk
    assert asset.code.startswith("AST-")
    assert asset.unit_price == Decimal("400.0000")
    [invoice] = Invoice.objects.filter(billing_account=customer)
    assert invoice.invoice_date == date(2026, 3, 10)
    assert lines_of(invoice) == [("2026-03-10", "2027-03-09", "3", "1200.00", "1080.00")]
    assert invoice.gross_total == Decimal("1080.00")
    [charge] = Charge.objects.filter(account=customer)
    assert charge.idempotency_key == f"asset:{asset.pk}:v1"


def test_asset_price_change_credits_the_old_price_and_bills_the_new_one(
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given 3 licences at 400.00 less 10 %, invoiced 1,080.00 on 10 March
    asset = buy(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    [original] = Invoice.objects.filter(billing_account=customer)

    # when the pricing becomes 350.00 less 5 % on 20 March
    with (
        time_machine.travel(at(2026, 3, 20, 15), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assets.asset_edit_pricing(
            actor=admin_user,
            asset=asset,
            unit_price=Decimal("350.00"),
            discount_percent=Decimal("5"),
        )

    # then a credit invoice of 1,080.00 linked to the original, and a new debit of
    # 3 x 350.00 = 1,050.00 less 52.50 = 997.50 over the same period
    credit = Invoice.objects.get(billing_account=customer, kind=InvoiceKind.CREDIT)
    debit = Invoice.objects.filter(billing_account=customer, kind=InvoiceKind.DEBIT).latest("pk")
    assert credit.linked_invoice_id == original.pk
    assert credit.invoice_date == debit.invoice_date == date(2026, 3, 20)
    assert lines_of(credit) == [("2026-03-10", "2027-03-09", "3", "1080.00", "1080.00")]
    assert credit.gross_total == Decimal("1080.00")
    assert lines_of(debit) == [("2026-03-10", "2027-03-09", "3", "1050.00", "997.50")]
    assert debit.gross_total == Decimal("997.50")
    assert credit.number in debit.notes
    assert original.number in debit.notes
    assert Invoice.objects.filter(billing_account=customer).count() == 3
    asset.refresh_from_db()
    assert (asset.unit_price, asset.discount_percent, asset.pricing_version) == (
        Decimal("350.0000"),
        Decimal("5.0000"),
        2,
    )


def test_pricing_edit_before_the_invoice_waits_for_the_same_invoice(
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an account invoiced on its billing day (the 1st)
    customer.partial_charges = Account.PartialCharges.BILLING_DAY
    customer.save(update_fields=["partial_charges"])
    asset = buy(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    assert not Invoice.objects.exists()
    with time_machine.travel(at(2026, 3, 20, 15), tick=False):
        assets.asset_edit_pricing(
            actor=admin_user, asset=asset, unit_price=Decimal("350"), discount_percent=Decimal("5")
        )

    # when the billing day comes
    [invoice] = invoice_due_charges(actor=None, billing_account=customer, up_to=date(2026, 4, 1))

    # then the old price and its credit cancel out and the new price remains
    assert [line.net for line in invoice.lines.order_by("position")] == [
        Decimal("1080.00"),
        Decimal("997.50"),
        Decimal("-1080.00"),
    ]
    assert invoice.gross_total == Decimal("997.50")


def test_a_canceled_asset_keeps_everything_but_custom_fields(
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    asset = buy(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    assets.asset_cancel(actor=admin_user, asset=asset, reason="Returned")
    with pytest.raises(ValidationError) as refused:
        assets.asset_edit_pricing(
            actor=admin_user, asset=asset, unit_price=Decimal("1"), discount_percent=Decimal(0)
        )
    assert "only its custom fields can change" in str(refused.value)
    with pytest.raises(ValidationError):
        assets.asset_update(actor=admin_user, asset=asset, expiration_date=date(2028, 1, 1))
    asset.refresh_from_db()
    assert (asset.status, asset.unit_price, asset.expiration_date) == (
        AssetStatus.CANCELED,
        Decimal("400.0000"),
        date(2027, 3, 10),
    )
    assert Invoice.objects.filter(billing_account=customer).count() == 1


def test_the_daily_job_expires_assets_once(
    admin_user: Any,
    customer: Account,
    licence_plan: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    asset = buy(admin_user, customer, licence_plan, django_capture_on_commit_callbacks)
    assert assets.assets_expire_due(today=date(2027, 3, 9)) == 0
    assert assets.assets_expire_due(today=date(2027, 3, 10)) == 1
    assert assets.assets_expire_due(today=date(2027, 3, 11)) == 0
    asset.refresh_from_db()
    assert asset.status == AssetStatus.EXPIRED


def test_a_recurring_product_is_not_an_asset(
    admin_user: Any, customer: Account, make_plan: Any
) -> None:
    plan = make_plan("10.00")
    with pytest.raises(ValidationError) as refused:
        assets.asset_create(
            actor=admin_user,
            account=customer,
            product=plan.product,
            plan=plan,
            quantity=1,
            purchase_date=date(2026, 3, 1),
        )
    assert "product" in refused.value.message_dict
    assert not Asset.objects.exists()
