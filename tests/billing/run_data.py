"""A varied data set for billing-run tests, built through the services, twice if need be.

``build_accounts(prefix)`` makes the same customers and subscriptions each time it is
called, with account numbers starting with ``prefix``: the tests bill one copy one way
and the other copy another way, then compare the copies line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import time_machine
from django.utils import timezone

from accounts.models import Account
from billing.models import Invoice
from catalogue.models import BillingCycle, PriceList, PriceListItem, ProductPlan, ProductPrice
from subscriptions import services
from subscriptions.models import Subscription
from tests.billing.factories import (
    BillingAddressFactory,
    CustomerFactory,
    ProductFactory,
    ProductTypeFactory,
)
from tests.factories import UserFactory

RUN_DATE = date(2026, 4, 1)


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


@dataclass
class Catalogue:
    monthly: ProductPlan
    annual: ProductPlan
    monthly_usd: ProductPlan
    price_list: PriceList


def _plan(price: str, *, cycle: str = BillingCycle.MONTHLY, currency: str = "EUR", **kw: Any):
    product = ProductFactory(product_type=ProductTypeFactory(), max_quantity=None)
    commitment = 12 if cycle == BillingCycle.ANNUAL else 0
    plan = ProductPlan.objects.create(
        product=product,
        billing_cycle=cycle,
        commitment_months=commitment,
        charge_type="recurring_prepaid",
        **kw,
    )
    ProductPrice.objects.create(plan=plan, currency=currency, price=Decimal(price))
    return plan


def build_catalogue() -> Catalogue:
    monthly = _plan("12.00")
    price_list = PriceList.objects.create(name="Partners", currency="EUR", owner=UserFactory())
    PriceListItem.objects.create(
        price_list=price_list, plan=monthly, method="percent", percent=Decimal("-20")
    )
    return Catalogue(
        monthly=monthly,
        annual=_plan("365.00", cycle=BillingCycle.ANNUAL),
        monthly_usd=_plan("9.99", currency="USD"),
        price_list=price_list,
    )


def raise_list_prices(catalogue: Catalogue) -> None:
    """Between the orders and the run the list price goes up: renewals must pick it up."""
    ProductPrice.objects.filter(plan=catalogue.monthly).update(price=Decimal("13.00"))


def _customer(prefix: str, index: int, **fields: Any) -> Account:
    defaults: dict[str, Any] = {
        "is_ordering_enabled": True,
        "is_prorated": True,
        "partial_charges": Account.PartialCharges.ORDER_DAY,
        "billing_day_rule": Account.BillingDayRule.FIRST,
        "payment_days": 14,
    }
    defaults.update(fields)
    account = CustomerFactory(
        number=f"{prefix}-{index:02d}", name=f"{prefix} customer {index}", **defaults
    )
    BillingAddressFactory(account=account, country_code=account.country or "GR")
    return account


def _sell(
    capture: Any, account: Account, plan: ProductPlan, quantity: int, when: datetime, **kw: Any
) -> Subscription:
    # The order-day invoice is issued after commit: still on the order day.
    with time_machine.travel(when, tick=False), capture(execute=True):
        return services.subscription_create(
            actor=None,
            account=account,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            start_date=when.date(),
            effective_at=when,
            **kw,
        )


def _cancel(capture: Any, subscription: Subscription, timing: str, when: datetime) -> None:
    with time_machine.travel(when, tick=False), capture(execute=True):
        services.subscription_cancel(
            actor=None, subscription=subscription, timing=timing, effective_at=when
        )


def _bill(capture: Any, account: Account, when: datetime) -> None:
    from billing.engine import bill_account

    with time_machine.travel(when, tick=False), capture(execute=True):
        bill_account(actor=None, billing_account_id=account.pk, run_date=when.date())


def _customers(prefix: str, catalogue: Catalogue) -> list[Account]:
    """Plain accounts first, then the kinds the bulk path hands to bill_account."""
    accounts = [
        _customer(prefix, 0),
        _customer(prefix, 1, is_prorated=False, partial_charges=Account.PartialCharges.BILLING_DAY),
        _customer(prefix, 2),
    ]
    accounts.append(_customer(prefix, 3, billing_account=accounts[2]))
    accounts.append(_customer(prefix, 4, currency="USD", is_taxable=False))
    accounts += [_customer(prefix, index) for index in range(5, 10)]
    accounts.append(_customer(prefix, 10, partial_charges=Account.PartialCharges.BILLING_DAY))
    accounts.append(_customer(prefix, 11, country="DE", vat_number="DE123456789"))
    accounts[5].price_list_assignments.create(price_list=catalogue.price_list)
    return accounts


def build_accounts(
    prefixes: list[str], catalogue: Catalogue, capture: Any
) -> dict[str, list[Account]]:
    """The same customers for every prefix; orders placed in date order across copies.

    0: prorated to the 1st, Greek VAT, monthly and annual; 1: anniversary billing with
    partial charges on the billing day and 10 % off; 2 pays for 3; 4: US dollars, not
    taxable; 5: a partner price list; 6: suspended (billing goes on); 7: price
    protected; 8: nothing due on the run date; 9: pending cancellation; 10: an immediate
    cancellation whose refund waits for the billing day (a credit); 11: a German business
    (reverse charge after a VIES check).
    """
    copies = {prefix: _customers(prefix, catalogue) for prefix in prefixes}
    monthly, annual = catalogue.monthly, catalogue.annual
    held: dict[tuple[str, int], Subscription] = {}
    steps: list[tuple[datetime, int, Any]] = [
        (at(2026, 1, 5, 9), 6, lambda a: _sell(capture, a, monthly, 1, at(2026, 1, 5, 9))),
        (at(2026, 1, 5, 9), 7, lambda a: _sell(capture, a, monthly, 5, at(2026, 1, 5, 9))),
        (at(2026, 1, 10, 9), 0, lambda a: _sell(capture, a, monthly, 10, at(2026, 1, 10, 9))),
        (at(2026, 1, 10, 9), 0, lambda a: _sell(capture, a, annual, 1, at(2026, 1, 10, 9))),
        (at(2026, 1, 12, 9), 9, lambda a: _sell(capture, a, monthly, 2, at(2026, 1, 12, 9))),
        (at(2026, 1, 20, 9), 3, lambda a: _sell(capture, a, monthly, 2, at(2026, 1, 20, 9))),
        (at(2026, 2, 1, 9), 5, lambda a: _sell(capture, a, monthly, 4, at(2026, 2, 1, 9))),
        (at(2026, 2, 1, 9), 11, lambda a: _sell(capture, a, monthly, 3, at(2026, 2, 1, 9))),
        (
            at(2026, 2, 15, 9),
            1,
            lambda a: _sell(
                capture, a, monthly, 3, at(2026, 2, 15, 9), discount_percent=Decimal("10")
            ),
        ),
        (at(2026, 2, 1, 9), 10, lambda a: _sell(capture, a, monthly, 6, at(2026, 2, 1, 9))),
        (at(2026, 3, 1, 6), 10, lambda a: _bill(capture, a, at(2026, 3, 1, 6))),
        (
            at(2026, 3, 3, 9),
            4,
            lambda a: _sell(capture, a, catalogue.monthly_usd, 7, at(2026, 3, 3, 9)),
        ),
        (at(2026, 3, 10, 9), 8, lambda a: _sell(capture, a, annual, 1, at(2026, 3, 10, 9))),
    ]
    for _when, index, action in steps:
        for prefix, accounts in copies.items():
            held.setdefault((prefix, index), action(accounts[index]))
    for prefix in copies:
        Subscription.objects.filter(pk=held[(prefix, 6)].pk).update(status="suspended")
        Subscription.objects.filter(pk=held[(prefix, 7)].pk).update(
            price_protected_until=date(2026, 3, 1)
        )
    for prefix in copies:
        _cancel(capture, held[(prefix, 9)], "end_of_period", at(2026, 2, 10, 9))
    for prefix in copies:
        _cancel(capture, held[(prefix, 10)], "immediate", at(2026, 3, 11, 9))
    return copies


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    """Everything an invoice says, without ids and without its number."""
    return {
        "kind": invoice.kind,
        "status": invoice.status,
        "origin": invoice.origin,
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "currency": invoice.currency,
        "transaction_currency": invoice.transaction_currency,
        "totals": (
            invoice.net_total,
            invoice.tax_total,
            invoice.gross_total,
            invoice.balance_due,
        ),
        "reverse_charge": (invoice.is_reverse_charge, invoice.tax_note),
        "is_linked": invoice.linked_invoice_id is not None,
        "language": invoice.language,
        "customer": (
            invoice.customer_address,
            invoice.customer_country,
            invoice.customer_state,
            invoice.customer_vat_number,
        ),
        "seller": invoice.seller_details,
        "lines": [
            (
                line.position,
                line.product_id,
                line.description,
                line.period_start,
                line.period_end,
                line.quantity,
                line.unit_price,
                line.amount,
                line.discount,
                line.net,
                line.is_taxable,
                line.applied_taxes,
                line.charge.kind if line.charge else None,
            )
            for line in invoice.lines.select_related("charge").order_by("position")
        ],
        "tax_lines": [
            (tax.code, tax.name, tax.rate, tax.taxable_amount, tax.amount)
            for tax in invoice.tax_lines.order_by("code", "rate")
        ],
    }
