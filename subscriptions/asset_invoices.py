"""What billing tells the asset pages and API about the invoices of a pricing edit.

Billing sits above subscriptions, so it registers the reader in its ``AppConfig.ready``
(as it registers the charge listener in ``asset_hooks``). Without billing installed
a pricing edit simply reports no invoices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from subscriptions.models import Asset


@dataclass(frozen=True)
class AssetInvoice:
    """One invoice as the asset sees it: enough to find it and check its amounts."""

    id: int
    number: str | None
    kind: str
    status: str
    invoice_date: date | None
    currency: str
    net_total: Decimal
    gross_total: Decimal
    linked_invoice_id: int | None


@dataclass(frozen=True)
class RepricingInvoices:
    """The credit of the old price and the debit of the new one; None while not invoiced."""

    credit: AssetInvoice | None = None
    debit: AssetInvoice | None = None


RepricingReader = Callable[["Asset", int], RepricingInvoices]

_readers: dict[str, RepricingReader] = {}


def register_repricing_reader(key: str, reader: RepricingReader) -> None:
    _readers[key] = reader


def repricing_invoices(asset: Asset, version: int) -> RepricingInvoices:
    """The invoices that the pricing edit to ``version`` produced so far."""
    for reader in _readers.values():
        return reader(asset, version)
    return RepricingInvoices()
