from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss.core.money import (
    UNIT_PRICE_PLACES,
    Money,
    PeriodPart,
    days_between,
    format_decimal_for_locale,
    format_money,
    minor_units,
    prorate,
    prorate_30_day,
    prorate_fraction,
    prorate_hours,
    quantize,
    quantize_unit_price,
    split_amount,
    split_period,
)

D = Decimal
NBSP = "\xa0"


def month(year: int, number: int) -> tuple[date, date]:
    start = date(year, number, 1)
    end = date(year + number // 12, number % 12 + 1, 1)
    return start, end


# ------------------------------------------------------------------------- minor units


@pytest.mark.parametrize(
    ("currency", "places"),
    [("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3)],
)
def test_minor_units(currency: str, places: int) -> None:
    assert minor_units(currency) == places


@pytest.mark.parametrize("currency", ["XYZ", "eur", "", "EURO"])
def test_minor_units_rejects_unknown_currency(currency: str) -> None:
    with pytest.raises(ValueError, match="Unknown currency code"):
        minor_units(currency)


def test_minor_units_is_cached() -> None:
    minor_units("EUR")
    before = minor_units.cache_info().hits
    minor_units("EUR")
    assert minor_units.cache_info().hits == before + 1


# ---------------------------------------------------------------------------- quantize


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (D("2.345"), "EUR", D("2.35")),
        # Half-up means ties away from zero, so a credit mirrors its charge.
        (D("-2.345"), "EUR", D("-2.35")),
        (D("2.344999"), "EUR", D("2.34")),
        (D("2.325"), "EUR", D("2.33")),  # banker's rounding would give 2.32
        (D("0.5"), "JPY", D("1")),
        (D("-0.5"), "JPY", D("-1")),
        (D("1.0005"), "KWD", D("1.001")),
        (D("5"), "EUR", D("5.00")),
        (D("1E+3"), "EUR", D("1000.00")),
        (7, "USD", D("7.00")),
    ],
)
def test_quantize(amount: Decimal | int, currency: str, expected: Decimal) -> None:
    result = quantize(amount, currency)
    assert result == expected
    assert str(result) == str(expected)


def test_quantize_has_no_negative_zero() -> None:
    result = quantize(D("-0.004"), "EUR")
    assert str(result) == "0.00"
    assert not result.is_signed()


@pytest.mark.parametrize("bad", [2.345, True, "2.34", None])
def test_quantize_refuses_non_decimal(bad: object) -> None:
    with pytest.raises(TypeError):
        quantize(bad, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_quantize_refuses_non_finite(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize(bad, "EUR")


def test_quantize_unknown_currency() -> None:
    with pytest.raises(ValueError, match="Unknown currency"):
        quantize(D("1"), "XYZ")


def test_quantize_unit_price() -> None:
    assert UNIT_PRICE_PLACES == 4
    assert str(quantize_unit_price(D("0.12345"))) == "0.1235"
    assert str(quantize_unit_price(D("-0.12345"))) == "-0.1235"
    assert str(quantize_unit_price(D("12"))) == "12.0000"
    assert str(quantize_unit_price(3)) == "3.0000"
    with pytest.raises(TypeError):
        quantize_unit_price(0.1)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (D("1234.5"), "EUR", "de_DE", f"1.234,50{NBSP}€"),
        (D("1234.5"), "USD", "en_US", "$1,234.50"),
        (D("-1234.5"), "USD", "en_US", "-$1,234.50"),
        (D("1234.5"), "JPY", "ja_JP", "￥1,235"),
        (D("1234.5"), "KWD", "en_US", "KWD1,234.500"),
        # Babel alone rounds half-even (0.12); our rule is half-up.
        (D("0.125"), "EUR", "en_US", "€0.13"),
    ],
)
def test_format_money(amount: Decimal, currency: str, locale: str, expected: str) -> None:
    assert format_money(amount, currency, locale) == expected


def test_format_money_default_locale_and_float_refused() -> None:
    assert format_money(D("10"), "GBP") == "£10.00"
    with pytest.raises(TypeError):
        format_money(10.0, "GBP")  # type: ignore[arg-type]


def test_format_decimal_for_locale() -> None:
    assert format_decimal_for_locale(D("0.1200")) == "0.1200"
    assert format_decimal_for_locale(D("1234.5"), "de_DE") == "1.234,5"
    assert format_decimal_for_locale(D("1234.12345"), "de_DE", places=4) == "1.234,1235"
    assert format_decimal_for_locale(D("0.00005"), places=UNIT_PRICE_PLACES) == "0.0001"
    assert format_decimal_for_locale(D("1234567.1"), "hi_IN", places=2) == "12,34,567.10"
    assert format_decimal_for_locale(42) == "42"
    with pytest.raises(ValueError, match="places"):
        format_decimal_for_locale(D("1"), places=-1)


# ------------------------------------------------------------------------------- Money


def test_money_value_object() -> None:
    a = Money(D("10.005"), "EUR")
    b = Money(5, "EUR")  # type: ignore[arg-type]
    assert b.amount == D("5")
    assert isinstance(b.amount, Decimal)
    assert (a + b) == Money(D("15.005"), "EUR")
    assert (a - b) == Money(D("5.005"), "EUR")
    assert -a == Money(D("-10.005"), "EUR")
    assert a.quantized() == Money(D("10.01"), "EUR")
    assert a.format("de_DE") == f"10,01{NBSP}€"
    with pytest.raises(ValueError, match="Cannot combine"):
        a + Money(D("1"), "USD")
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown currency"):
        Money(D("1"), "XXY")
    with pytest.raises(AttributeError):
        a.amount = D("0")  # type: ignore[misc]


# ------------------------------------------------------------------ project references


def test_reference_seats_ordered_mid_month() -> None:
    # Billing day 1, 10 seats at 12.00 ordered 10 January: 22 of 31 days.
    start, end = month(2026, 1)
    result = prorate(
        10 * D("12.00"),
        used_start=date(2026, 1, 10),
        used_end=end,
        period_start=start,
        period_end=end,
        currency="EUR",
    )
    assert result == D("85.16")


@pytest.mark.parametrize(
    ("price", "ordered", "expected"),
    [
        (D("62.00"), date(2026, 1, 10), D("44.00")),  # 22/31
        (D("60.00"), date(2026, 4, 10), D("42.00")),  # 21/30
        (D("31.00"), date(2019, 7, 9), D("23.00")),  # 23/31
    ],
)
def test_reference_monthly_orders(price: Decimal, ordered: date, expected: Decimal) -> None:
    start, end = month(ordered.year, ordered.month)
    result = prorate(
        price, used_start=ordered, used_end=end, period_start=start, period_end=end, currency="EUR"
    )
    assert result == expected


def test_reference_second_half_of_april() -> None:
    # 16-30 April inclusive is [16 April, 1 May): 15 of 30 days.
    start, end = month(2025, 4)
    assert days_between(date(2025, 4, 16), end) == 15
    result = prorate(
        10 * D("12.00"),
        used_start=date(2025, 4, 16),
        used_end=end,
        period_start=start,
        period_end=end,
        currency="EUR",
    )
    assert result == D("60.00")
    assert prorate_fraction(
        used_start=date(2025, 4, 16), used_end=end, period_start=start, period_end=end
    ) == D("0.5")


def test_reference_annual_cancellation_credit() -> None:
    # Annual 1,200.00 cancelled after 3 days: credit the unused 362 of 365 days.
    start, end = date(2025, 1, 1), date(2026, 1, 1)
    assert days_between(start, end) == 365
    credit = prorate(
        D("1200.00"),
        used_start=start + timedelta(days=3),
        used_end=end,
        period_start=start,
        period_end=end,
        currency="EUR",
    )
    assert credit == D("1190.14")
    assert format_money(credit, "EUR", "en_US") == "€1,190.14"


def test_reference_jpy_and_kwd() -> None:
    start, end = month(2026, 1)
    kwargs = {"used_start": date(2026, 1, 10), "used_end": end, "period_start": start}
    assert prorate(D("1000"), **kwargs, period_end=end, currency="JPY") == D("710")
    assert str(prorate(D("1000"), **kwargs, period_end=end, currency="JPY")) == "710"
    # 10.000 * 22/31 = 7.0967… → 7.097
    assert str(prorate(D("10.000"), **kwargs, period_end=end, currency="KWD")) == "7.097"


# ---------------------------------------------------------------------------- proration


def test_days_between() -> None:
    assert days_between(date(2024, 2, 1), date(2024, 3, 1)) == 29
    assert days_between(date(2025, 2, 1), date(2025, 3, 1)) == 28
    assert days_between(date(2025, 1, 1), date(2025, 1, 1)) == 0
    with pytest.raises(ValueError, match="before start"):
        days_between(date(2025, 1, 2), date(2025, 1, 1))
    with pytest.raises(TypeError):
        days_between(datetime(2025, 1, 1), date(2025, 1, 2))  # type: ignore[arg-type]


def test_prorate_rounds_once_at_the_end() -> None:
    # 0.03 * 5/6 = 0.025 exactly; rounding the ratio first (0.8333…) would give 0.02.
    start = date(2025, 1, 1)
    result = prorate(
        D("0.03"),
        used_start=start,
        used_end=start + timedelta(days=5),
        period_start=start,
        period_end=start + timedelta(days=6),
        currency="EUR",
    )
    assert result == D("0.03")


def test_prorate_fraction_non_terminating() -> None:
    start, end = month(2026, 1)
    fraction = prorate_fraction(
        used_start=date(2026, 1, 10), used_end=end, period_start=start, period_end=end
    )
    assert isinstance(fraction, Decimal)
    assert abs(Fraction(fraction) - Fraction(22, 31)) < Fraction(1, 10**26)


def test_prorate_negative_amount_is_a_mirrored_credit() -> None:
    start, end = month(2026, 1)
    kwargs = {"used_start": date(2026, 1, 10), "used_end": end, "period_start": start}
    assert prorate(D("-120.00"), **kwargs, period_end=end, currency="EUR") == D("-85.16")


@pytest.mark.parametrize(
    ("used_start", "used_end", "period_start", "period_end"),
    [
        (date(2025, 1, 1), date(2025, 1, 5), date(2025, 1, 1), date(2025, 1, 1)),  # empty
        (date(2025, 1, 1), date(2025, 1, 5), date(2025, 2, 1), date(2025, 1, 1)),  # inverted
        (date(2024, 12, 31), date(2025, 1, 5), date(2025, 1, 1), date(2025, 2, 1)),
        (date(2025, 1, 2), date(2025, 2, 2), date(2025, 1, 1), date(2025, 2, 1)),
        (date(2025, 1, 10), date(2025, 1, 5), date(2025, 1, 1), date(2025, 2, 1)),
    ],
)
def test_prorate_validates_ranges(
    used_start: date, used_end: date, period_start: date, period_end: date
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        prorate(
            D("10"),
            used_start=used_start,
            used_end=used_end,
            period_start=period_start,
            period_end=period_end,
            currency="EUR",
        )


def test_prorate_empty_used_range_is_zero() -> None:
    start, end = month(2025, 1)
    result = prorate(
        D("10"), used_start=end, used_end=end, period_start=start, period_end=end, currency="EUR"
    )
    assert str(result) == "0.00"


def test_prorate_hours() -> None:
    # 14-day cancellation window, cancelled after 36 hours: 36/336 of 100.00.
    assert prorate_hours(D("100.00"), used_hours=36, period_hours=336, currency="EUR") == D("10.71")
    assert prorate_hours(D("100"), used_hours=D("1.5"), period_hours=3, currency="JPY") == D("50")
    with pytest.raises(ValueError, match="period_hours"):
        prorate_hours(D("1"), used_hours=0, period_hours=0, currency="EUR")
    with pytest.raises(ValueError, match="used_hours"):
        prorate_hours(D("1"), used_hours=5, period_hours=4, currency="EUR")
    with pytest.raises(TypeError):
        prorate_hours(D("1"), used_hours=1.0, period_hours=4, currency="EUR")  # type: ignore[arg-type]


def test_prorate_30_day() -> None:
    assert prorate_30_day(D("60.00"), days_used=21, currency="EUR") == D("42.00")
    assert prorate_30_day(D("62.00"), days_used=31, currency="EUR") == D("62.00")  # capped
    assert prorate_30_day(D("62.00"), days_used=0, currency="EUR") == D("0.00")
    with pytest.raises(ValueError, match="days_used"):
        prorate_30_day(D("1"), days_used=-1, currency="EUR")
    with pytest.raises(TypeError):
        prorate_30_day(D("1"), days_used=D("3"), currency="EUR")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- splitting


def test_split_amount_largest_remainder_ties_to_earliest() -> None:
    assert split_amount(D("100.00"), weights=[1, 1, 1], currency="EUR") == [
        D("33.34"),
        D("33.33"),
        D("33.33"),
    ]
    assert split_amount(D("-100.00"), weights=[1, 1, 1], currency="EUR") == [
        D("-33.34"),
        D("-33.33"),
        D("-33.33"),
    ]
    # Exact shares 3.3333, 6.6666…: the larger remainder wins the leftover cent.
    assert split_amount(D("10.00"), weights=[1, 2], currency="EUR") == [D("3.33"), D("6.67")]


def test_split_amount_rounds_whole_first_and_handles_zero_weights() -> None:
    assert split_amount(D("10.005"), weights=[1, 0, 1], currency="EUR") == [
        D("5.01"),
        D("0.00"),
        D("5.00"),
    ]
    assert split_amount(D("1000"), weights=[D("0.5"), D("0.25"), D("0.25")], currency="JPY") == [
        D("500"),
        D("250"),
        D("250"),
    ]


@pytest.mark.parametrize(
    ("weights", "error"),
    [([], ValueError), ([0, 0], ValueError), ([1, -1], ValueError), ([1.0], TypeError)],
)
def test_split_amount_validates_weights(weights: list[object], error: type[Exception]) -> None:
    with pytest.raises(error):
        split_amount(D("1"), weights=weights, currency="EUR")  # type: ignore[arg-type]


def test_split_period_keeps_every_cent() -> None:
    start, end = month(2026, 1)
    parts = split_period(
        D("100.00"),
        period_start=start,
        period_end=end,
        boundaries=[date(2026, 1, 21), date(2026, 1, 11)],
        currency="EUR",
    )
    assert parts == [
        PeriodPart(date(2026, 1, 1), date(2026, 1, 11), D("32.26")),
        PeriodPart(date(2026, 1, 11), date(2026, 1, 21), D("32.26")),
        PeriodPart(date(2026, 1, 21), date(2026, 2, 1), D("35.48")),
    ]
    assert sum(p.amount for p in parts) == D("100.00")
    start_, end_, amount = parts[0]  # plain tuple unpacking still works
    assert (start_, end_, amount) == (date(2026, 1, 1), date(2026, 1, 11), D("32.26"))


def test_split_period_without_boundaries() -> None:
    start, end = month(2026, 1)
    parts = split_period(
        D("9.999"), period_start=start, period_end=end, boundaries=[], currency="EUR"
    )
    assert parts == [PeriodPart(start, end, D("10.00"))]


@pytest.mark.parametrize(
    "boundaries",
    [
        [date(2026, 1, 1)],  # on the start
        [date(2026, 2, 1)],  # on the end
        [date(2026, 3, 1)],  # outside
        [date(2026, 1, 10), date(2026, 1, 10)],  # duplicate
    ],
)
def test_split_period_validates_boundaries(boundaries: list[date]) -> None:
    start, end = month(2026, 1)
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        split_period(
            D("1"), period_start=start, period_end=end, boundaries=boundaries, currency="EUR"
        )


# ------------------------------------------------------------------ property-based tests

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "GBP"])
AMOUNTS = st.decimals(
    min_value=D("-1000000"),
    max_value=D("1000000"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
WEIGHTS = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=1000),
        st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(ws) > 0)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date]:
    start = draw(DATES)
    return start, start + timedelta(days=draw(st.integers(min_value=1, max_value=400)))


@st.composite
def used_ranges(draw: st.DrawFn) -> tuple[date, date, date, date]:
    start, end = draw(periods())
    length = (end - start).days
    a = draw(st.integers(min_value=0, max_value=length))
    b = draw(st.integers(min_value=a, max_value=length))
    return start + timedelta(days=a), start + timedelta(days=b), start, end


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, currency=CURRENCIES)
def test_quantize_is_idempotent(amount: Decimal, currency: str) -> None:
    once = quantize(amount, currency)
    assert quantize(once, currency) == once
    assert once.as_tuple().exponent == -minor_units(currency)
    assert abs(once - amount) <= D(1).scaleb(-minor_units(currency)) / 2


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, currency=CURRENCIES)
def test_quantize_is_symmetric(amount: Decimal, currency: str) -> None:
    assert quantize(-amount, currency) == -quantize(amount, currency)


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, weights=WEIGHTS, currency=CURRENCIES)
def test_split_amount_sums_exactly(amount: Decimal, weights: list[int], currency: str) -> None:
    whole = quantize(amount, currency)
    parts = split_amount(amount, weights=weights, currency=currency)
    assert len(parts) == len(weights)
    assert sum(parts, D(0)) == whole
    unit = Fraction(1, 10 ** minor_units(currency))
    total_weight = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part.as_tuple().exponent == -minor_units(currency)
        assert abs(Fraction(part) - Fraction(whole) * Fraction(weight) / total_weight) < unit
        if weight == 0:
            assert part == 0


@PROPERTY_SETTINGS
@given(
    amount=AMOUNTS,
    period=periods(),
    data=st.data(),
    currency=CURRENCIES,
)
def test_split_period_is_contiguous_and_sums_exactly(
    amount: Decimal, period: tuple[date, date], data: st.DataObject, currency: str
) -> None:
    start, end = period
    days = (end - start).days
    offsets = data.draw(
        st.sets(st.integers(min_value=1, max_value=days - 1), max_size=10)
        if days > 1
        else st.just(set())
    )
    boundaries = [start + timedelta(days=o) for o in offsets]
    parts = split_period(
        amount, period_start=start, period_end=end, boundaries=boundaries, currency=currency
    )
    assert len(parts) == len(boundaries) + 1
    assert parts[0].start == start
    assert parts[-1].end == end
    for earlier, later in itertools.pairwise(parts):
        assert earlier.end == later.start
    assert all(p.start < p.end for p in parts)
    assert sum((p.amount for p in parts), D(0)) == quantize(amount, currency)


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, period=periods(), currency=CURRENCIES)
def test_prorate_full_period_is_the_quantized_whole(
    amount: Decimal, period: tuple[date, date], currency: str
) -> None:
    start, end = period
    result = prorate(
        amount,
        used_start=start,
        used_end=end,
        period_start=start,
        period_end=end,
        currency=currency,
    )
    assert result == quantize(amount, currency)


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, ranges=used_ranges(), currency=CURRENCIES)
def test_prorate_lies_between_zero_and_the_whole(
    amount: Decimal, ranges: tuple[date, date, date, date], currency: str
) -> None:
    used_start, used_end, start, end = ranges
    result = prorate(
        amount,
        used_start=used_start,
        used_end=used_end,
        period_start=start,
        period_end=end,
        currency=currency,
    )
    whole = quantize(amount, currency)
    assert min(D(0), whole) <= result <= max(D(0), whole)
    fraction = prorate_fraction(
        used_start=used_start, used_end=used_end, period_start=start, period_end=end
    )
    assert D(0) <= fraction <= D(1)


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, days=st.integers(min_value=0, max_value=60), currency=CURRENCIES)
def test_prorate_30_day_caps_at_the_whole(amount: Decimal, days: int, currency: str) -> None:
    result = prorate_30_day(amount, days_used=days, currency=currency)
    whole = quantize(amount, currency)
    assert min(D(0), whole) <= result <= max(D(0), whole)
    if days >= 30:
        assert result == whole


@PROPERTY_SETTINGS
@given(amount=AMOUNTS, currency=CURRENCIES)
def test_quantize_agrees_with_exact_rational_rounding(amount: Decimal, currency: str) -> None:
    """Decimal's quantize (the fast path) rounds exactly as the rational reference does."""
    places = minor_units(currency)
    scaled = abs(Fraction(amount)) * 10**places
    units, remainder = divmod(scaled.numerator, scaled.denominator)
    units += 2 * remainder >= scaled.denominator
    expected = D(units if amount >= 0 else -units).scaleb(-places)
    assert quantize(amount, currency) == expected
    assert str(quantize(amount, currency)) == str(expected.copy_abs() if not units else expected)
