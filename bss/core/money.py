"""Money rules: minor units, rounding, formatting, proration and exact splitting.

Every amount is a ``Decimal`` (``int`` is accepted and converted); floats are refused
because binary fractions cannot represent most prices exactly.

Rounding is ROUND_HALF_UP as Python's ``decimal`` defines it: ties go *away from zero*,
so ``2.345 EUR -> 2.35`` and ``-2.345 EUR -> -2.35``. A credit therefore mirrors the
charge it reverses. A result that rounds to zero is always ``+0`` (never ``-0.00``).

Proration is day based over half-open periods ``[start, end)``: a monthly period
1 January to 1 February has 31 days, and a subscription ordered on 10 January uses
22 of them. Ratios are computed as exact rationals and rounded once at the end.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from typing import NamedTuple, TypeAlias

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, is_currency

__all__ = [
    "THIRTY_DAY_MONTH",
    "UNIT_PRICE_PLACES",
    "Money",
    "PeriodPart",
    "days_between",
    "format_decimal_for_locale",
    "format_money",
    "minor_units",
    "prorate",
    "prorate_30_day",
    "prorate_fraction",
    "prorate_hours",
    "quantize",
    "quantize_unit_price",
    "split_amount",
    "split_period",
]

Amount: TypeAlias = Decimal | int
Weight: TypeAlias = Decimal | int

UNIT_PRICE_PLACES = 4
THIRTY_DAY_MONTH = 30

# Precision used only for the informational Decimal returned by prorate_fraction();
# money results never go through it.
_FRACTION_PRECISION = 28


# --------------------------------------------------------------------------- currencies


@functools.lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` per CLDR (EUR 2, JPY 0, KWD 3)."""
    # Babel answers 2 for any unknown code, which would silently accept typos.
    if not isinstance(currency, str) or not is_currency(currency):
        raise ValueError(
            f"Unknown currency code {currency!r}: expected an upper-case ISO 4217 code "
            "such as 'EUR'."
        )
    return get_currency_precision(currency)


# ----------------------------------------------------------------------------- helpers


def _to_decimal(value: object, *, name: str = "amount") -> Decimal:
    # bool is an int subclass; True as an amount is always a bug.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        kind = type(value).__name__
        raise TypeError(f"{name} must be a Decimal or int, not {kind}; money is never float.")
    result = value if isinstance(value, Decimal) else Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, got {result}.")
    return result


def _from_units(units: int, places: int) -> Decimal:
    """Decimal for ``units`` * 10^-places, built exactly (no context rounding)."""
    sign = 1 if units < 0 else 0
    digits = tuple(int(c) for c in str(abs(units)))
    return Decimal((sign, digits, -places))


def _round_half_up(value: Fraction, places: int) -> Decimal:
    scaled = abs(value) * 10**places
    units, remainder = divmod(scaled.numerator, scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        units += 1
    return _from_units(-units if value < 0 else units, places)


def _check_date(value: object, name: str) -> date:
    # datetime subclasses date; mixing them would make day counts depend on the clock.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a datetime.date, not {type(value).__name__}.")
    return value


def _check_period(period_start: date, period_end: date) -> int:
    _check_date(period_start, "period_start")
    _check_date(period_end, "period_end")
    if period_end <= period_start:
        raise ValueError(
            f"Empty or inverted period [{period_start}, {period_end}): end must be after start."
        )
    return (period_end - period_start).days


# ---------------------------------------------------------------------------- rounding


# Decimal's own ROUND_HALF_UP is the same rule; with unbounded precision its quantize is
# exact, and much faster than going through Fraction (the billing run rounds every line).
_EXACT_HALF_UP = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_UP)


def _round_decimal(value: Decimal, places: int) -> Decimal:
    result = value.quantize(Decimal((0, (1,), -places)), context=_EXACT_HALF_UP)
    return result.copy_abs() if result.is_zero() else result


def quantize(amount: Amount, currency: str) -> Decimal:
    """Round ``amount`` half-up (ties away from zero) to the currency's minor unit."""
    return _round_decimal(_to_decimal(amount), minor_units(currency))


def quantize_unit_price(amount: Amount) -> Decimal:
    """Round a unit price half-up to ``UNIT_PRICE_PLACES`` (4) decimals."""
    return _round_decimal(_to_decimal(amount), UNIT_PRICE_PLACES)


# -------------------------------------------------------------------------- formatting


def format_money(amount: Amount, currency: str, locale: str = "en_US") -> str:
    """Locale-aware currency string, e.g. ``1.234,50\\xa0€`` for EUR in de_DE."""
    # Babel would round half-even on its own; quantizing first keeps our half-up rule.
    return format_currency(quantize(amount, currency), currency, locale=locale)


def format_decimal_for_locale(
    amount: Amount, locale: str = "en_US", *, places: int | None = None
) -> str:
    """Locale-aware plain number with a fixed number of decimals.

    With ``places=None`` the digits the Decimal carries are shown as they are
    (``Decimal("0.1200")`` → ``0.1200``); otherwise the value is rounded half-up to
    ``places`` decimals first (use ``UNIT_PRICE_PLACES`` for unit prices).
    """
    value = _to_decimal(amount)
    if places is None:
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite values always have an int exponent
        places = max(0, -exponent)
    elif places < 0:
        raise ValueError(f"places must be >= 0, got {places}.")
    else:
        value = _round_half_up(Fraction(value), places)
    loc = Locale.parse(locale)
    # Copy so the locale's cached pattern is left untouched.
    pattern = copy.copy(loc.decimal_formats[None])
    pattern.frac_prec = (places, places)
    return pattern.apply(value, loc)


# ------------------------------------------------------------------------------ Money


@dataclass(frozen=True, slots=True)
class Money:
    """An amount tagged with its currency; arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _to_decimal(self.amount))
        minor_units(self.currency)

    def quantized(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    def format(self, locale: str = "en_US") -> str:
        return format_money(self.amount, self.currency, locale)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)


# ---------------------------------------------------------------------------- proration


def days_between(start: date, end: date) -> int:
    """Days in the half-open range ``[start, end)``; ``end`` before ``start`` is an error."""
    _check_date(start, "start")
    _check_date(end, "end")
    if end < start:
        raise ValueError(f"end {end} is before start {start}.")
    return (end - start).days


def _day_ratio(
    *, used_start: date, used_end: date, period_start: date, period_end: date
) -> Fraction:
    period_days = _check_period(period_start, period_end)
    _check_date(used_start, "used_start")
    _check_date(used_end, "used_end")
    if not period_start <= used_start <= used_end <= period_end:
        raise ValueError(
            f"Used range [{used_start}, {used_end}) must lie inside "
            f"period [{period_start}, {period_end}) with start <= end."
        )
    return Fraction((used_end - used_start).days, period_days)


def prorate_fraction(
    *, used_start: date, used_end: date, period_start: date, period_end: date
) -> Decimal:
    """days_used / days_in_period as a Decimal, e.g. 15/30 → ``Decimal("0.5")``.

    Exact when the ratio terminates; otherwise correct to 28 significant digits.
    It is informational: ``prorate`` uses the exact rational, so do not recompute
    money as ``quantize(amount * prorate_fraction(...))``.
    """
    ratio = _day_ratio(
        used_start=used_start, used_end=used_end, period_start=period_start, period_end=period_end
    )
    with localcontext() as ctx:
        ctx.prec = _FRACTION_PRECISION
        return Decimal(ratio.numerator) / Decimal(ratio.denominator)


def prorate(
    amount: Amount,
    *,
    used_start: date,
    used_end: date,
    period_start: date,
    period_end: date,
    currency: str,
) -> Decimal:
    """``amount * days_used / days_in_period``, rounded half-up once to the minor unit."""
    ratio = _day_ratio(
        used_start=used_start, used_end=used_end, period_start=period_start, period_end=period_end
    )
    return _round_half_up(Fraction(_to_decimal(amount)) * ratio, minor_units(currency))


def prorate_hours(
    amount: Amount, *, used_hours: Amount, period_hours: Amount, currency: str
) -> Decimal:
    """``amount * used_hours / period_hours`` for hour-based (cancellation) windows."""
    used = _to_decimal(used_hours, name="used_hours")
    total = _to_decimal(period_hours, name="period_hours")
    if total <= 0:
        raise ValueError(f"period_hours must be positive, got {total}.")
    if not 0 <= used <= total:
        raise ValueError(f"used_hours must be between 0 and {total}, got {used}.")
    ratio = Fraction(used) / Fraction(total)
    return _round_half_up(Fraction(_to_decimal(amount)) * ratio, minor_units(currency))


def prorate_30_day(amount: Amount, *, days_used: int, currency: str) -> Decimal:
    """``amount * min(days_used, 30) / 30`` (30-day-month convention)."""
    if isinstance(days_used, bool) or not isinstance(days_used, int):
        raise TypeError(f"days_used must be an int, not {type(days_used).__name__}.")
    if days_used < 0:
        raise ValueError(f"days_used must be >= 0, got {days_used}.")
    ratio = Fraction(min(days_used, THIRTY_DAY_MONTH), THIRTY_DAY_MONTH)
    return _round_half_up(Fraction(_to_decimal(amount)) * ratio, minor_units(currency))


# ---------------------------------------------------------------------------- splitting


def split_amount(amount: Amount, *, weights: Sequence[Weight], currency: str) -> list[Decimal]:
    """Split ``amount`` proportionally to ``weights``; parts sum to ``quantize(amount)``.

    Largest-remainder method on minor units: every part first gets the floor of its
    exact share, then the leftover units go one each to the largest remainders, ties
    to the earliest part. A zero weight always gets zero. Each part is within one
    minor unit of its exact share. Negative amounts split like their magnitude.
    """
    places = minor_units(currency)
    parsed = [Fraction(_to_decimal(w, name="weight")) for w in weights]
    if not parsed:
        raise ValueError("weights must not be empty.")
    if any(w < 0 for w in parsed):
        raise ValueError("weights must not be negative.")
    weight_sum = sum(parsed, Fraction(0))
    if weight_sum == 0:
        raise ValueError("weights must not all be zero.")

    total_units = (Fraction(quantize(amount, currency)) * 10**places).numerator
    magnitude = abs(total_units)
    shares = [magnitude * w / weight_sum for w in parsed]
    units = [s.numerator // s.denominator for s in shares]
    leftover = magnitude - sum(units)
    by_remainder = sorted(range(len(shares)), key=lambda i: (units[i] - shares[i], i))
    for i in by_remainder[:leftover]:
        units[i] += 1
    sign = -1 if total_units < 0 else 1
    return [_from_units(sign * u, places) for u in units]


class PeriodPart(NamedTuple):
    """One slice ``[start, end)`` of a split billing period and its amount."""

    start: date
    end: date
    amount: Decimal


def split_period(
    amount: Amount,
    *,
    period_start: date,
    period_end: date,
    boundaries: Sequence[date],
    currency: str,
) -> list[PeriodPart]:
    """Cut ``[period_start, period_end)`` at ``boundaries`` and split ``amount`` by days.

    Boundaries may come in any order but must be distinct and strictly inside the
    period. The slices are contiguous, cover the period, and their amounts sum to
    ``quantize(amount, currency)`` exactly; a slice may differ by one minor unit from
    ``prorate`` of the same slice, which is the price of keeping every cent.
    """
    _check_period(period_start, period_end)
    cuts = sorted(_check_date(b, "boundary") for b in boundaries)
    for cut in cuts:
        if not period_start < cut < period_end:
            raise ValueError(
                f"Boundary {cut} is not strictly inside period [{period_start}, {period_end})."
            )
    if len(set(cuts)) != len(cuts):
        raise ValueError("Boundaries must be distinct.")
    edges = [period_start, *cuts, period_end]
    slices = list(itertools.pairwise(edges))
    parts = split_amount(
        amount, weights=[(end - start).days for start, end in slices], currency=currency
    )
    return [PeriodPart(start, end, part) for (start, end), part in zip(slices, parts, strict=True)]
