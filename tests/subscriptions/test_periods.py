"""Period arithmetic: anchors, partial first periods, terms; properties over many dates."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions.periods import (
    add_months,
    first_period,
    following_period,
    next_anchor_date,
    on_anchor,
    term_end_for,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
anchors = st.integers(min_value=1, max_value=31)
cycles = st.sampled_from([1, 12, 36])


def test_worked_examples() -> None:
    july = first_period(start=date(2025, 7, 9), cycle_months=1, anchor_day=1, aligned=True)
    assert (july.start, july.end, july.days, july.full_days) == (
        date(2025, 7, 9),
        date(2025, 8, 1),
        23,
        31,
    )
    product_day = first_period(start=date(2025, 7, 10), cycle_months=1, anchor_day=15, aligned=True)
    assert (product_day.end, product_day.days, product_day.full_days) == (date(2025, 7, 15), 5, 30)
    anniversary = first_period(start=date(2025, 7, 9), cycle_months=1, anchor_day=9, aligned=False)
    assert (anniversary.end, anniversary.is_partial) == (date(2025, 8, 9), False)
    triennial = first_period(start=date(2026, 1, 10), cycle_months=36, anchor_day=1, aligned=True)
    assert triennial.full_days == 1096


def test_the_last_day_anchor_follows_the_month_length() -> None:
    assert add_months(date(2026, 1, 31), 1, 31) == date(2026, 2, 28)
    assert add_months(date(2026, 2, 28), 1, 31) == date(2026, 3, 31)
    assert add_months(date(2024, 1, 31), 1, 31) == date(2024, 2, 29)


@settings(max_examples=60, deadline=None)
@given(start=days, anchor=anchors, cycle=cycles, aligned=st.booleans())
def test_first_period_is_inside_its_full_cycle(
    start: date, anchor: int, cycle: int, aligned: bool
) -> None:
    anchor = anchor if aligned else start.day
    period = first_period(start=start, cycle_months=cycle, anchor_day=anchor, aligned=aligned)
    assert period.full_start <= period.start < period.end
    assert 0 < period.days <= period.full_days
    assert period.full_days <= 31 * cycle + 1
    assert period.end == on_anchor(period.end.year, period.end.month, anchor)


@settings(max_examples=60, deadline=None)
@given(start=days, anchor=anchors, cycle=cycles, count=st.integers(min_value=1, max_value=30))
def test_periods_tile_time_without_gaps(start: date, anchor: int, cycle: int, count: int) -> None:
    period = first_period(start=start, cycle_months=cycle, anchor_day=anchor, aligned=True)
    for _ in range(count):
        following = following_period(period.end, cycle, anchor)
        assert following.start == period.end
        assert not following.is_partial
        period = following


@settings(max_examples=60, deadline=None)
@given(after=days, anchor=anchors)
def test_next_anchor_date_is_the_first_one_after(after: date, anchor: int) -> None:
    found = next_anchor_date(after, anchor)
    assert found > after
    assert (found - after).days <= 31


@settings(max_examples=60, deadline=None)
@given(start=days, anchor=anchors, term=st.sampled_from([1, 12, 36]))
def test_the_term_ends_on_a_period_boundary(start: date, anchor: int, term: int) -> None:
    period = first_period(start=start, cycle_months=1, anchor_day=anchor, aligned=True)
    end = term_end_for(period, term, anchor)
    boundary = period.end
    while boundary < end:
        boundary = following_period(boundary, 1, anchor).end
    assert boundary == end
