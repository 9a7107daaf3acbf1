"""Totals of an order or offer: net, discounts, one line per tax, gross, monthly run rate.

Every amount is in the billing account's currency and rounded half-up to its minor unit
at the line; totals are sums of rounded lines, as on an invoice. Taxes come from
billing's tax engine (``billing.taxes.taxes_for``) with the billing account's location
and tax basis, so an offer shows the tax its invoices will bear.

Per line: ``gross = quantity x unit price``; ``discount = gross x discount % + the
promotion's discount``; ``net = gross - discount``. Monthly run rate of a recurring line
is its net divided by the months of its billing cycle (an annual 200.00 adds 16.67);
one-off lines add nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from accounts.models import Account
from billing import selectors as billing_selectors
from billing.customers import customer_snapshot, profile_for
from billing.models import VatStatus
from billing.taxes import AppliedTax, TaxTable, taxes_for
from bss.core.money import quantize
from bss.setup.organization.selectors import organization
from catalogue.models import CYCLE_MONTHS, ChargeType

HUNDRED = Decimal(100)


class PricedLine(Protocol):
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    promotion_discount: Decimal
    product: Any
    plan: Any


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    net: Decimal
    monthly: Decimal
    taxes: tuple[AppliedTax, ...]


@dataclass(frozen=True)
class TaxLine:
    code: str
    name: str
    rate: Decimal
    base: Decimal
    amount: Decimal

    @property
    def label(self) -> str:
        rate = self.rate.normalize()
        shown = rate.quantize(Decimal(1)) if rate == rate.to_integral() else rate
        return f"{self.name} {shown} %"


@dataclass(frozen=True)
class Totals:
    currency: str
    lines: tuple[LineAmounts, ...]
    list_total: Decimal
    discount_total: Decimal
    net_total: Decimal
    tax_lines: tuple[TaxLine, ...]
    tax_total: Decimal
    gross_total: Decimal
    monthly_run_rate: Decimal
    tax_note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "list_total": str(self.list_total),
            "discount_total": str(self.discount_total),
            "net_total": str(self.net_total),
            "tax_lines": [
                {
                    "code": tax.code,
                    "name": tax.name,
                    "rate": str(tax.rate),
                    "base": str(tax.base),
                    "amount": str(tax.amount),
                }
                for tax in self.tax_lines
            ],
            "tax_total": str(self.tax_total),
            "gross_total": str(self.gross_total),
            "monthly_run_rate": str(self.monthly_run_rate),
            "tax_note": self.tax_note,
        }


@dataclass
class TaxBasis:
    """Where and how the billing account is taxed, read once per computation."""

    seller_country: str
    country: str
    state: str
    vat_number: str
    is_account_taxable: bool
    vies_status: str
    table: TaxTable

    @classmethod
    def of(cls, billing_account: Account) -> TaxBasis:
        snapshot = customer_snapshot(billing_account)
        latest = (
            billing_selectors.latest_vat_check(snapshot.vat_number) if snapshot.vat_number else None
        )
        return cls(
            seller_country=organization().country,
            country=snapshot.country,
            state=snapshot.state,
            vat_number=snapshot.vat_number,
            is_account_taxable=profile_for(billing_account).is_taxable,
            vies_status=latest.status if latest is not None else VatStatus.UNCHECKED,
            table=TaxTable.load(),
        )


def line_amounts(line: PricedLine, currency: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(gross, discount, net, monthly run rate) of one line, each rounded on its own."""
    gross = quantize(Decimal(line.quantity) * line.unit_price, currency)
    discount = quantize(gross * line.discount_percent / HUNDRED, currency)
    discount = min(gross, discount + quantize(line.promotion_discount or 0, currency))
    net = gross - discount
    months = CYCLE_MONTHS.get(line.plan.billing_cycle, 0)
    is_recurring = line.plan.charge_type != ChargeType.ONE_TIME and months
    monthly = quantize(net / months, currency) if is_recurring else Decimal(0)
    return gross, discount, net, monthly


def compute_totals(
    lines: Sequence[PricedLine] | Iterable[PricedLine],
    *,
    currency: str,
    billing_account: Account,
    basis: TaxBasis | None = None,
) -> Totals:
    basis = basis or TaxBasis.of(billing_account)
    amounts: list[LineAmounts] = []
    bases: dict[AppliedTax, Decimal] = {}
    note = ""
    for line in lines:
        gross, discount, net, monthly = line_amounts(line, currency)
        decision = taxes_for(
            seller_country=basis.seller_country,
            country=basis.country,
            state=basis.state,
            product_type_id=line.product.product_type_id,
            is_account_taxable=basis.is_account_taxable,
            is_product_taxable=line.product.is_taxable,
            vat_number=basis.vat_number,
            vies_status=basis.vies_status,
            table=basis.table,
        )
        if decision.note:
            note = decision.note
        for tax in decision.taxes:
            bases[tax] = bases.get(tax, Decimal(0)) + net
        amounts.append(LineAmounts(gross, discount, net, monthly, decision.taxes))
    tax_lines = tuple(
        TaxLine(
            code=tax.code,
            name=tax.name,
            rate=tax.rate,
            base=base,
            amount=quantize(base * tax.rate / HUNDRED, currency),
        )
        for tax, base in sorted(bases.items(), key=lambda item: (item[0].code, item[0].rate))
    )
    net_total = sum((line.net for line in amounts), Decimal(0))
    tax_total = sum((tax.amount for tax in tax_lines), Decimal(0))
    return Totals(
        currency=currency,
        lines=tuple(amounts),
        list_total=sum((line.gross for line in amounts), Decimal(0)),
        discount_total=sum((line.discount for line in amounts), Decimal(0)),
        net_total=net_total,
        tax_lines=tax_lines,
        tax_total=tax_total,
        gross_total=net_total + tax_total,
        monthly_run_rate=sum((line.monthly for line in amounts), Decimal(0)),
        tax_note=note,
    )
