"""The money of a subscription: period charges, prorated changes and cancellation refunds.

This is the one place these rules live; the billing engine turns the amounts into
charges and the cancellation dialog shows the refund before anyone confirms.

* A period costs ``quantity x unit price``, prorated when the period is partial: by
  actual days (``days / days of the full cycle``), by fixed 30-day months, or not at all,
  as the product type or the organization chooses. Each amount is rounded half-up to the
  currency's minor unit once. Billing day 1, 10 seats at 12.00 ordered on 10 January:
  10 x 12.00 x 22/31 = 85.16.
* A discount is a separate rounded amount: the subscription's discount percent, plus the
  promotion's discount while the promotion still covers the billing cycle.
* A mid-period change runs from its effective date to the end of the current period,
  over the same full cycle: 5 more seats at 12.00 on 21 April of [1 Apr, 1 May):
  5 x 12.00 x 10/30 = 20.00. A decrease gives the mirror credit.
* A cancellation refunds by the product type's refund policy: all of the period's price
  within the full-refund hours; inside the cancellation window the unused days
  (``days used = ceil(hours / 24)``) or hours; nothing after the window. Without a
  window the unused days from the cancellation date are credited (decision 20.1).
  1,200.00 a year, canceled 72 hours in: 1,200.00 x 362/365 = 1,190.14.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from bss.core.money import quantize
from subscriptions.models import ProrationMethod, Subscription
from subscriptions.periods import Period, full_cycle_start

HUNDRED = Decimal(100)
THIRTY_DAYS = 30


def ratio(period: Period, method: str) -> Fraction:
    """The share of the full cycle's price that ``period`` costs."""
    if not period.is_partial or method == ProrationMethod.NONE:
        return Fraction(1)
    if method == ProrationMethod.THIRTY_DAY:
        return Fraction(min(period.days, THIRTY_DAYS), THIRTY_DAYS)
    return Fraction(period.days, period.full_days)


def _exact(value: Decimal) -> Fraction:
    return Fraction(value)


def line_amount(
    *, quantity: int | Decimal, unit_price: Decimal, share: Fraction, currency: str
) -> Decimal:
    exact = _exact(Decimal(quantity)) * _exact(unit_price) * share
    return quantize(Decimal(exact.numerator) / Decimal(exact.denominator), currency)


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    if not percent:
        return Decimal(0)
    return quantize(amount * percent / HUNDRED, currency)


@dataclass(frozen=True)
class PeriodPrice:
    period: Period
    quantity: int
    unit_price: Decimal
    amount: Decimal
    discount: Decimal

    @property
    def net(self) -> Decimal:
        return self.amount - self.discount


def promotion_discount(
    subscription: Subscription, *, amount: Decimal, cycle_number: int
) -> Decimal:
    """The promotion's discount of one cycle's amount, while it covers that cycle."""
    promotion = subscription.promotion
    if promotion is None or amount <= 0:
        return Decimal(0)
    if promotion.kind == "one_time" and cycle_number != 1:
        return Decimal(0)
    if promotion.kind == "limited_recurring" and cycle_number > (promotion.cycles or 0):
        return Decimal(0)
    if promotion.discount_type == "percentage":
        return percent_of(amount, promotion.percent or Decimal(0), subscription.currency)
    off = min(promotion.amount or Decimal(0), subscription.effective_unit_price)
    return min(amount, quantize(off * subscription.quantity, subscription.currency))


def period_price(
    subscription: Subscription,
    period: Period,
    *,
    method: str,
    cycle_number: int,
    quantity: int | None = None,
) -> PeriodPrice:
    units = subscription.quantity if quantity is None else quantity
    unit_price = subscription.effective_unit_price
    amount = line_amount(
        quantity=units,
        unit_price=unit_price,
        share=ratio(period, method),
        currency=subscription.currency,
    )
    discount = percent_of(amount, subscription.discount_percent, subscription.currency)
    discount += promotion_discount(
        subscription, amount=amount - discount, cycle_number=cycle_number
    )
    return PeriodPrice(period, units, unit_price, amount, min(discount, amount))


def remaining_period(subscription: Subscription, from_date: date) -> Period:
    """``[from_date, current period end)`` over the current full cycle."""
    end = subscription.current_period_end
    return Period(
        start=from_date,
        end=end,
        full_start=full_cycle_start(end, subscription.cycle_months, subscription.anchor_day),
    )


def change_price(
    subscription: Subscription,
    *,
    quantity_delta: int,
    effective_date: date,
    method: str,
    unit_price: Decimal | None = None,
) -> PeriodPrice:
    """The prorated charge (delta > 0) or credit (delta < 0) of a mid-period change."""
    period = remaining_period(subscription, effective_date)
    price = subscription.effective_unit_price if unit_price is None else unit_price
    share = ratio(period, method) if effective_date > period.full_start else Fraction(1)
    amount = line_amount(
        quantity=abs(quantity_delta), unit_price=price, share=share, currency=subscription.currency
    )
    discount = percent_of(amount, subscription.discount_percent, subscription.currency)
    sign = 1 if quantity_delta > 0 else -1
    return PeriodPrice(period, quantity_delta, price, sign * amount, sign * discount)


# ------------------------------------------------------------------------------ refunds


class RefundRefused(Exception):
    """The refund policy does not allow this cancellation; the message says why."""


@dataclass(frozen=True)
class RefundDecision:
    amount: Decimal
    paid: Decimal
    basis: str
    explanation: str


def paid_for_current_period(subscription: Subscription, *, method: str) -> Decimal:
    """The net price charged for the current period at the current quantity."""
    period = remaining_period(subscription, subscription.current_period_start)
    price = period_price(
        subscription, period, method=method, cycle_number=subscription.cycle_number
    )
    return price.net


def cancellation_refund(
    subscription: Subscription,
    *,
    cancel_date: date,
    cancel_at: datetime,
    method: str,
    quantity: int | None = None,
) -> RefundDecision:
    """The credit a cancellation of ``quantity`` units (default all) earns by the policy.

    Raises ``RefundRefused`` when the product type's window has passed or a partial
    cancellation is not allowed.
    """
    units = subscription.quantity if quantity is None else quantity
    product_type = subscription.product.product_type
    if subscription.billing_method != Subscription.BillingMethod.PREPAID:
        return RefundDecision(Decimal(0), Decimal(0), "none", _("Billed in arrears: no refund."))
    if subscription.billed_through is None or subscription.billed_through <= cancel_date:
        return RefundDecision(
            Decimal(0), Decimal(0), "none", _("The current period was not charged yet.")
        )
    paid_all = paid_for_current_period(subscription, method=method)
    paid = quantize(paid_all * units / subscription.quantity, subscription.currency)
    window = product_type.cancellation_window_hours if product_type else 0
    if window:
        partial = units != subscription.quantity
        if partial and product_type is not None and not product_type.allow_partial_cancellation:
            raise RefundRefused(
                _("Partial cancellation is not allowed for %(type)s.") % {"type": product_type.name}
            )
        started = _term_started_at(subscription, cancel_at)
        hours = (cancel_at - started).total_seconds() / 3600
        if hours > window:
            raise RefundRefused(
                _("The cancellation window of %(hours)d hours has passed.") % {"hours": window}
            )
        if product_type is not None and hours <= product_type.full_refund_hours:
            return RefundDecision(
                paid,
                paid,
                "full",
                _("Within %(hours)d hours of purchase: full refund.")
                % {"hours": product_type.full_refund_hours},
            )
        period = remaining_period(subscription, subscription.current_period_start)
        if product_type is not None and product_type.refund_basis == "hourly":
            total_hours = period.days * 24
            used = Fraction(math.ceil(hours), 1)
            share = (total_hours - used) / total_hours
            basis = _("%(left)d of %(total)d hours unused.") % {
                "left": total_hours - math.ceil(hours),
                "total": total_hours,
            }
        else:
            used_days = max(1, math.ceil(hours / 24))
            share = Fraction(period.days - used_days, period.days)
            basis = _("%(left)d of %(total)d days unused.") % {
                "left": period.days - used_days,
                "total": period.days,
            }
        amount = quantize(
            Decimal(share.numerator) * paid / Decimal(share.denominator), subscription.currency
        )
        return RefundDecision(max(amount, Decimal(0)), paid, "prorated", basis)
    if cancel_date <= subscription.current_period_start:
        return RefundDecision(paid, paid, "full", _("Canceled from the period start."))
    unused = remaining_period(subscription, cancel_date)
    credit = change_price(
        subscription, quantity_delta=-units, effective_date=cancel_date, method=method
    )
    return RefundDecision(
        -credit.net,
        paid,
        "prorated",
        _("%(left)d of %(total)d days unused.") % {"left": unused.days, "total": unused.full_days},
    )


def _term_started_at(subscription: Subscription, cancel_at: datetime) -> datetime:
    """When the current term began (purchase or renewal); the window counts from there."""
    if subscription.term_started_at is not None:
        return subscription.term_started_at
    start = datetime.combine(subscription.term_start, datetime.min.time())
    return start.replace(tzinfo=cancel_at.tzinfo) if cancel_at.tzinfo else start
