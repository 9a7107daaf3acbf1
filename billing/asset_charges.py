"""Charges of assets: the one-time charge of a purchase and the re-billing of a pricing edit.

* Creating an asset records a ONE_TIME charge keyed ``(account, "asset:<id>:v<version>")``
  over the asset's period (start to expiration, or its start day), invoiced on the
  purchase day or on the next billing day, by the account's option.
* Editing its pricing (version n to n+1), once the old charge is on an issued debit
  invoice, issues right away a credit invoice for the old price, linked to that debit
  invoice, and a debit invoice for the new price over the same period. While the old
  charge is not invoiced yet, a credit charge for it and the new charge wait together
  for the same invoice instead.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import BillingProfile, billing_profile
from billing.models import Charge, ChargeKind, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from billing.services import (
    ChargeInput,
    CreditItem,
    InvoiceHeld,
    charge_record,
    credit_invoice_create,
    invoice_from_charges,
    invoice_issue,
)
from billing.subscription_charges import invoice_after_commit
from subscriptions import asset_hooks
from subscriptions.amounts import line_amount, percent_of
from subscriptions.asset_hooks import AssetChange
from subscriptions.asset_invoices import AssetInvoice, RepricingInvoices
from subscriptions.models import Asset

logger = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)


def asset_charge_key(asset: Asset, version: int) -> str:
    return f"asset:{asset.pk}:v{version}"


def next_billing_day(profile: BillingProfile, day: date) -> date:
    """The account's billing day on or after ``day``."""
    year, month = day.year, day.month
    for _step in range(2):
        candidate = date(year, month, profile.billing_day_in(year, month))
        if candidate >= day:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("a billing day falls within two months")


def _period(asset: Asset) -> tuple[date, date]:
    end = asset.expiration_date
    if end is None or end <= asset.start_date:
        end = asset.start_date + ONE_DAY
    return asset.start_date, end


def asset_charge(
    asset: Asset,
    *,
    version: int,
    unit_price: Decimal,
    discount_percent: Decimal,
    bill_on: date,
    label: str = "",
) -> ChargeInput:
    amount = line_amount(
        quantity=asset.quantity, unit_price=unit_price, share=Fraction(1), currency=asset.currency
    )
    discount = percent_of(amount, discount_percent, asset.currency)
    start, end = _period(asset)
    name = f"{asset.product.name} ({asset.code})"
    return ChargeInput(
        account=asset.account,
        kind=ChargeKind.ONE_TIME,
        description=f"{label}: {name}" if label else name,
        period_start=start,
        period_end=end,
        amount=amount,
        discount=discount,
        quantity=Decimal(asset.quantity),
        unit_price=unit_price,
        product=asset.product,
        idempotency_key=asset_charge_key(asset, version),
        bill_on=bill_on,
        currency=asset.currency,
    )


def _record_purchase(change: AssetChange) -> None:
    asset = change.asset
    profile = billing_profile(asset.account)
    bill_on = (
        asset.purchase_date
        if profile.invoices_on_order_day
        else next_billing_day(profile, asset.purchase_date)
    )
    stored = charge_record(
        actor=change.actor,
        charges=[
            asset_charge(
                asset,
                version=asset.pricing_version,
                unit_price=asset.unit_price,
                discount_percent=asset.discount_percent,
                bill_on=bill_on,
            )
        ],
    )
    invoice_after_commit({charge.billing_account_id for charge in stored})


def _issue(change: AssetChange, invoice: Invoice, day: date) -> Invoice:
    try:
        return invoice_issue(actor=change.actor, invoice=invoice, invoice_date=day)
    except InvoiceHeld as reason:
        # The draft waits for the VAT check; the hourly retry issues it.
        logger.info("billing: asset invoice %s held: %s", invoice.pk, reason)
        return invoice


def _reprice(change: AssetChange) -> None:
    asset = change.asset
    assert change.old_pricing_version is not None
    assert change.old_unit_price is not None
    assert change.old_discount_percent is not None
    old = (
        Charge.objects.select_for_update(of=("self",))
        .select_related("invoice")
        .filter(
            account=asset.account,
            subscription_id__isnull=True,
            idempotency_key=asset_charge_key(asset, change.old_pricing_version),
        )
        .first()
    )
    today = timezone.localdate()
    invoiced = (
        old is not None
        and old.invoice is not None
        and old.invoice.kind == InvoiceKind.DEBIT
        and old.invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
    )
    if not invoiced:
        bill_on = old.bill_on if old is not None else today
        inputs = [
            asset_charge(
                asset,
                version=asset.pricing_version,
                unit_price=asset.unit_price,
                discount_percent=asset.discount_percent,
                bill_on=bill_on,
                label=_("New price"),
            )
        ]
        if old is not None:
            inputs.insert(
                0,
                ChargeInput(
                    account=asset.account,
                    kind=ChargeKind.PRORATED_CREDIT,
                    description=_("Previous price: %(name)s") % {"name": old.description},
                    period_start=old.period_start,
                    period_end=old.period_end,
                    amount=-old.amount,
                    discount=-old.discount,
                    quantity=-old.quantity,
                    unit_price=old.unit_price,
                    product=asset.product,
                    idempotency_key=f"{old.idempotency_key}:credit",
                    bill_on=bill_on,
                    currency=old.currency,
                ),
            )
        stored = charge_record(actor=change.actor, charges=inputs)
        invoice_after_commit({charge.billing_account_id for charge in stored})
        return
    assert old is not None
    assert old.invoice is not None
    original = old.invoice
    [new_charge] = charge_record(
        actor=change.actor,
        charges=[
            asset_charge(
                asset,
                version=asset.pricing_version,
                unit_price=asset.unit_price,
                discount_percent=asset.discount_percent,
                bill_on=today,
                label=_("New price"),
            )
        ],
    )
    credited_line = old.invoice_lines.get(invoice=original)
    credit = credit_invoice_create(
        actor=change.actor,
        debit_invoice=original,
        items=[
            CreditItem(
                line=credited_line,
                description=_("Previous price: %(name)s") % {"name": credited_line.description},
            )
        ],
        linked_invoice=original,
        invoice_date=today,
        notes=_("Pricing of asset %(code)s changed: the old price is credited.")
        % {"code": asset.code},
    )
    credit = _issue(change, credit, today)
    debit = invoice_from_charges(
        actor=change.actor,
        billing_account=original.billing_account,
        up_to=today,
        currency=new_charge.currency,
        charge_ids=[new_charge.pk],
    )
    assert debit is not None
    debit.notes = _(
        "New price of asset %(code)s; the old price on invoice %(original)s is credited by "
        "credit invoice %(credit)s."
    ) % {"code": asset.code, "original": original, "credit": credit}
    debit.save(update_fields=["notes", "updated_at"])
    _issue(change, debit, today)


def record_asset_charges(change: AssetChange) -> None:
    """The hook subscriptions call inside the asset service's transaction."""
    if change.kind == asset_hooks.CREATED:
        _record_purchase(change)
    elif change.kind == asset_hooks.REPRICED:
        _reprice(change)


def _summary(invoice: Invoice | None) -> AssetInvoice | None:
    if invoice is None:
        return None
    return AssetInvoice(
        id=invoice.pk,
        number=invoice.number,
        kind=invoice.kind,
        status=invoice.status,
        invoice_date=invoice.invoice_date,
        currency=invoice.currency,
        net_total=invoice.net_total,
        gross_total=invoice.gross_total,
        linked_invoice_id=invoice.linked_invoice_id,
    )


def repricing_invoices(asset: Asset, version: int) -> RepricingInvoices:
    """The credit of version - 1 and the debit of ``version``, as far as they are invoiced.

    When the old charge was already invoiced, the credit is a credit invoice crediting
    its line; otherwise the credit charge waits with the new one for the same invoice.
    """
    old_key = asset_charge_key(asset, version - 1)
    charges = {
        charge.idempotency_key: charge
        for charge in Charge.objects.select_related("invoice").filter(
            account_id=asset.account_id,
            subscription_id__isnull=True,
            idempotency_key__in=[old_key, f"{old_key}:credit", asset_charge_key(asset, version)],
        )
    }
    new_charge = charges.get(asset_charge_key(asset, version))
    credit_line = (
        InvoiceLine.objects.select_related("invoice")
        .filter(credited_line__charge=charges[old_key], invoice__kind=InvoiceKind.CREDIT)
        .order_by("pk")
        .first()
        if old_key in charges
        else None
    )
    credit = credit_line.invoice if credit_line is not None else None
    if credit is None and f"{old_key}:credit" in charges:
        credit = charges[f"{old_key}:credit"].invoice
    return RepricingInvoices(
        credit=_summary(credit),
        debit=_summary(new_charge.invoice if new_charge is not None else None),
    )
