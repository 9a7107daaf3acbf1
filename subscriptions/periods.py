"""Billing periods: where a subscription's periods start and end.

Periods are half-open ``[start, end)`` calendar ranges. A subscription has an *anchor
day* (1-31; 31 reads "the last day of the month") and periods run from one anchor date
to the anchor date ``cycle_months`` later, the day clamped to the length of the month.

*Aligned* subscriptions (the account prorates to its billing day, or the plan has its
own billing day) start with a partial period from the start date to the next anchor
date, then run full cycles from there. Billing day 1, ordered 9 July: [9 Jul, 1 Aug),
then [1 Aug, 1 Sep). Plan billing day 15, ordered 10 July: [10 Jul, 15 Jul), then
[15 Jul, 15 Aug). A partial period is prorated against the full cycle that contains it,
[1 Jul, 1 Aug) (31 days) and [15 Jun, 15 Jul) (30 days) in these examples.

*Anniversary* subscriptions (no proration) use the start day as the anchor: ordered
9 July, the periods are [9 Jul, 9 Aug), [9 Aug, 9 Sep)...
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

LAST_DAY = 31


def on_anchor(year: int, month: int, anchor_day: int) -> date:
    """The anchor date of a month: the anchor day, or the month's last day if shorter."""
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def add_months(day: date, months: int, anchor_day: int) -> date:
    """The anchor date ``months`` months after (or before) the month of ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return on_anchor(index // 12, index % 12 + 1, anchor_day)


def is_anchor_date(day: date, anchor_day: int) -> bool:
    return day == on_anchor(day.year, day.month, anchor_day)


def next_anchor_date(after: date, anchor_day: int) -> date:
    """The first anchor date strictly after ``after``."""
    candidate = on_anchor(after.year, after.month, anchor_day)
    return candidate if candidate > after else add_months(after, 1, anchor_day)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` and the full cycle ``[full_start, end)`` it is prorated against."""

    start: date
    end: date
    full_start: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def full_days(self) -> int:
        return (self.end - self.full_start).days

    @property
    def is_partial(self) -> bool:
        return self.start > self.full_start


def full_cycle_start(end: date, cycle_months: int, anchor_day: int) -> date:
    return add_months(end, -cycle_months, anchor_day)


def period_ending(end: date, start: date, cycle_months: int, anchor_day: int) -> Period:
    """The period ``[start, end)`` with the full cycle that ends with it."""
    return Period(start=start, end=end, full_start=full_cycle_start(end, cycle_months, anchor_day))


def first_period(
    *,
    start: date,
    cycle_months: int,
    anchor_day: int,
    aligned: bool,
    coterm_end: date | None = None,
) -> Period:
    """The first period of a subscription that starts on ``start``.

    ``coterm_end`` (an add-on's parent period end, for the same cycle) ends the first
    period there, prorated against the parent's full cycle.
    """
    if coterm_end is not None and coterm_end > start:
        return period_ending(coterm_end, start, cycle_months, anchor_day)
    if not aligned or is_anchor_date(start, anchor_day):
        return Period(
            start=start, end=add_months(start, cycle_months, anchor_day), full_start=start
        )
    boundary = next_anchor_date(start, anchor_day)
    return period_ending(boundary, start, cycle_months, anchor_day)


def following_period(previous_end: date, cycle_months: int, anchor_day: int) -> Period:
    return Period(
        start=previous_end,
        end=add_months(previous_end, cycle_months, anchor_day),
        full_start=previous_end,
    )


def term_end_for(first: Period, term_months: int, anchor_day: int) -> date:
    """Terms are counted in full cycles from the cycle containing the first period.

    A partial first period is therefore its own (short) first term when the term is one
    cycle long: billing day 1, ordered 9 July, monthly → renews on 1 August.
    """
    return max(first.end, add_months(first.full_start, term_months, anchor_day))
