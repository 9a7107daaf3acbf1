"""Building blocks of billing tests: charges in, draft invoices out, through the services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from billing import services
from billing.models import ChargeKind, Invoice
from billing.services import ChargeInput

_subscription_ids = iter(range(1000, 10**9))


def charge(
    account: Any,
    amount: str,
    *,
    start: date = date(2026, 7, 1),
    end: date = date(2026, 8, 1),
    kind: str = ChargeKind.RECURRING_ADVANCE,
    product: Any = None,
    quantity: str = "1",
    unit_price: str | None = None,
    description: str = "Cloud service",
    subscription_id: int | None = None,
    discount: str = "0",
    bill_on: date | None = None,
) -> ChargeInput:
    return ChargeInput(
        account=account,
        kind=kind,
        description=description,
        period_start=start,
        period_end=end,
        amount=Decimal(amount),
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price) if unit_price is not None else None,
        discount=Decimal(discount),
        product=product,
        subscription_id=subscription_id if subscription_id is not None else next(_subscription_ids),
        bill_on=bill_on,
    )


def draft_invoice(account: Any, *charges: ChargeInput, up_to: date = date(2026, 7, 1)) -> Invoice:
    services.charge_record(actor=None, charges=list(charges))
    invoice = services.invoice_from_charges(actor=None, billing_account=account, up_to=up_to)
    assert invoice is not None
    return invoice


def issued_invoice(
    account: Any, *charges: ChargeInput, on: date = date(2026, 7, 1), **issue: Any
) -> Invoice:
    invoice = draft_invoice(account, *charges, up_to=on)
    return services.invoice_issue(actor=None, invoice=invoice, invoice_date=on, **issue)
