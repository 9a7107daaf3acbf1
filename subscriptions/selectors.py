"""Reads of subscriptions that pages, the API and other apps share."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import Account
from bss.core.money import quantize
from subscriptions.models import BILLED_STATUSES, Subscription

HUNDRED = Decimal(100)
MONTHS_PER_YEAR = 12


def billed_subscriptions_of(account: Account) -> QuerySet[Subscription]:
    """The account's subscriptions that bill every period (not trials, not bundle parts)."""
    return Subscription.objects.filter(
        account=account, status__in=BILLED_STATUSES, bundle__isnull=True
    ).exclude(billing_method=Subscription.BillingMethod.PAY_PER_USE)


def monthly_amount(subscription: Subscription) -> Decimal:
    """The subscription's price per month, unrounded: quantity x net unit price / months."""
    net_unit = (
        subscription.effective_unit_price * (HUNDRED - subscription.discount_percent) / HUNDRED
    )
    return subscription.quantity * net_unit / subscription.cycle_months


def monthly_run_rate(account: Account) -> Decimal:
    """The monthly value of the account's running subscriptions, rounded once at the end.

    5 seats at 18.00 monthly and 2 at 100.00 a year: 90.00 + 200.00 / 12 = 106.67.
    """
    rows = billed_subscriptions_of(account).filter(currency=account.currency)
    total = sum((monthly_amount(subscription) for subscription in rows), Decimal(0))
    return quantize(total, account.currency)


def annual_run_rate(account: Account) -> Decimal:
    rows = billed_subscriptions_of(account).filter(currency=account.currency)
    total = sum((monthly_amount(s) * MONTHS_PER_YEAR for s in rows), Decimal(0))
    return quantize(total, account.currency)
