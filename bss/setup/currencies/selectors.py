"""Currency reads every module uses: choices, exchange rates by date, conversion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from bss.core import money
from bss.setup.models import Currency, ExchangeRate
from bss.setup.organization.selectors import home_currency_code

# Enough digits that dividing two 20-digit rates leaves the cents untouched.
CONVERSION_PRECISION = 60


class ExchangeRateMissing(LookupError):
    """No rate is valid on the requested day (or no home currency is set)."""


def active_currency_choices(*, keep: str | None = None) -> list[tuple[str, str]]:
    """Choices for every currency field: active currencies only.

    ``keep`` is the value a record already holds; it stays selectable when its currency
    was deactivated later, so editing an old record does not force a currency change.
    """
    currencies = Currency.objects.filter(is_active=True)
    if keep:
        currencies = Currency.objects.filter(is_active=True) | Currency.objects.filter(code=keep)
    return [(currency.code, f"{currency.code} · {currency.name}") for currency in currencies]


def active_currency_codes() -> set[str]:
    return set(Currency.objects.filter(is_active=True).values_list("code", flat=True))


def currency_by_code(code: str) -> Currency | None:
    return Currency.objects.filter(code=code.upper()).first()


def currencies_with_latest_rate(on: date) -> QuerySet[Currency]:
    """Currencies annotated with the rate (and its start) valid on ``on``."""
    valid = ExchangeRate.objects.filter(currency=OuterRef("pk"), valid_from__lte=on).order_by(
        "-valid_from"
    )
    return Currency.objects.annotate(
        latest_rate=Subquery(
            valid.values("rate")[:1],
            output_field=DecimalField(max_digits=20, decimal_places=8),
        ),
        latest_rate_from=Subquery(valid.values("valid_from")[:1]),
    )


def plain_rate(rate: Decimal | None) -> Decimal | None:
    """A rate without the trailing zeros of its 8 stored decimals (0.92000000 reads 0.92)."""
    if rate is None:
        return None
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def rate_on(currency_code: str, day: date) -> Decimal:
    """Units of the home currency one unit of ``currency_code`` was worth on ``day``.

    The rate is the one with the newest ``valid_from`` on or before ``day``; the home
    currency is always 1. Raises ExchangeRateMissing when no rate was valid yet.
    """
    home = home_currency_code()
    if home is None:
        raise ExchangeRateMissing(_("No home currency is set in the organization profile."))
    if currency_code == home:
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency__code=currency_code, valid_from__lte=day)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ExchangeRateMissing(
            _("No exchange rate for %(code)s is valid on %(day)s.")
            % {"code": currency_code, "day": day.isoformat()}
        )
    return rate


def convert(amount: Decimal | int, from_code: str, to_code: str, day: date) -> Decimal:
    """``amount`` in ``from_code`` expressed in ``to_code`` at the rates valid on ``day``.

    Goes through the home currency and rounds once, half-up, to ``to_code``'s minor unit.
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"amount must be a Decimal or int, not {type(amount).__name__}.")
    if from_code == to_code:
        return money.quantize(amount, to_code)
    from_rate = rate_on(from_code, day)
    to_rate = rate_on(to_code, day)
    with localcontext() as context:
        context.prec = CONVERSION_PRECISION
        value = Decimal(amount) * from_rate / to_rate
    return money.quantize(value, to_code)
