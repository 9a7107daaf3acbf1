"""Money and periods on invoice pages, in the culture of the invoice currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.safestring import mark_safe

from billing.pdf import format_unit_price
from bss.core.money import format_money

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str, locale: str = "en_US") -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, locale)


@register.simple_tag
def unit_price(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return format_unit_price(amount, currency, locale)


@register.filter
def period(line: Any) -> str:
    """A half-open period as people read it: [1 Jul, 1 Aug) reads 2026-07-01 to 2026-07-31."""
    if line.period_start is None:
        return ""
    return f"{line.period_start.isoformat()} \u2013 {line.last_day.isoformat()}"


@register.filter
def css_string(value: Any) -> str:
    """Text safe inside a double-quoted CSS string (page-margin boxes of the PDF)."""
    text = str(value or "").replace("\\", "\\\\").replace('"', '\\"')
    text = " ".join(text.split()).replace("<", "\\3c ").replace(">", "\\3e ")
    # Inside <style> the HTML parser decodes no entities, so HTML escaping would show
    # "&amp;"; the CSS escaping above already keeps the text inside its string.
    return mark_safe(text)
