"""Price display on catalogue pages: the currency's minor unit, more digits only when used."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils import translation

from bss.core.money import UNIT_PRICE_PLACES, format_decimal_for_locale, minor_units

register = template.Library()


@register.filter
def unit_price(amount: Any, currency: str) -> str:
    """9.9000 EUR → 9.90, 0.0550 EUR → 0.055, 1234 JPY → 1,234 (in the page's locale)."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(amount)
    exponent = value.normalize().as_tuple().exponent
    used = max(0, -exponent) if isinstance(exponent, int) else 0
    places = min(max(minor_units(currency), used), UNIT_PRICE_PLACES)
    locale = translation.to_locale(translation.get_language() or "en")
    return format_decimal_for_locale(value, locale, places=places)
