"""Money and status on subscription pages, formatted in the reader's language."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import translation

from bss.core.money import format_decimal_for_locale, format_money, minor_units

register = template.Library()

UNIT_PRICE_PLACES = 4


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, _locale())


@register.simple_tag
def unit_price(amount: Decimal | None, currency: str) -> str:
    """A unit price with its meaningful decimals (up to 4), at least the currency's."""
    if amount is None:
        return ""
    exponent = amount.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    places = min(max(minor_units(currency), decimals), UNIT_PRICE_PLACES)
    return f"{format_decimal_for_locale(amount, _locale(), places=places)} {currency}"


@register.filter
def last_day(end: object) -> object:
    """The last day of a half-open period ending on ``end``."""
    from datetime import date, timedelta

    return end - timedelta(days=1) if isinstance(end, date) else end


@register.filter
def status_label(value: str) -> str:
    """A stored subscription status as people read it ("pending_cancel" → "Pending for cancel")."""
    from subscriptions.models import SubscriptionStatus

    return str(SubscriptionStatus(value).label) if value in SubscriptionStatus.values else value
