"""Ordering & billing options: presets per account type, tax country and state, billing days.

The presets follow the recommended set-ups: a direct customer pays at purchase for the
days to renewal (no proration, partial charges on the order day); a reseller and a
reseller's client are prorated to the first of the month and invoiced on the billing
day, Net 30, the client billed through its reseller.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date
from decimal import Decimal
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Account

# Where sales tax depends on the state or province, the tax basis needs it.
STATE_REQUIRED_COUNTRIES = frozenset({"US", "CA"})

ORDERING_FIELDS = (
    "is_ordering_enabled",
    "billing_account",
    "country",
    "state",
    "payment_method",
    "payment_days",
    "is_taxable",
    "credit_limit",
    "is_credit_unlimited",
    "is_prorated",
    "partial_charges",
    "billing_day_rule",
    "billing_day",
)

_COMMON: dict[str, Any] = {"is_taxable": True, "billing_day": None}
PRESETS: dict[str, dict[str, Any]] = {
    Account.Type.DIRECT: {
        **_COMMON,
        "payment_method": Account.PaymentMethod.BANK_TRANSFER,
        "payment_days": 5,
        "is_credit_unlimited": True,
        "credit_limit": Decimal(0),
        "is_prorated": False,
        "partial_charges": Account.PartialCharges.ORDER_DAY,
        "billing_day_rule": Account.BillingDayRule.FIRST_ORDER,
    },
    Account.Type.RESELLER: {
        **_COMMON,
        "payment_method": Account.PaymentMethod.BANK_TRANSFER,
        "payment_days": 30,
        "is_credit_unlimited": False,
        "credit_limit": Decimal(0),
        "is_prorated": True,
        "partial_charges": Account.PartialCharges.BILLING_DAY,
        "billing_day_rule": Account.BillingDayRule.FIRST,
    },
    Account.Type.CLIENT: {
        **_COMMON,
        "payment_method": Account.PaymentMethod.BANK_TRANSFER,
        "payment_days": 30,
        "is_credit_unlimited": True,
        "credit_limit": Decimal(0),
        "is_prorated": True,
        "partial_charges": Account.PartialCharges.BILLING_DAY,
        "billing_day_rule": Account.BillingDayRule.FIRST,
    },
}


def preset_for(
    account_type: str, *, parent: Account | None = None, currency: str = ""
) -> dict[str, Any]:
    """The recommended ordering options of a new account of ``account_type``.

    A reseller's client is billed through its reseller when they share the currency.
    """
    preset = dict(PRESETS.get(account_type, PRESETS[Account.Type.DIRECT]))
    same_currency = not currency or parent is None or parent.currency == currency.strip().upper()
    if account_type == Account.Type.CLIENT and parent is not None and same_currency:
        preset["billing_account"] = parent
    return preset


def presets_for_form() -> dict[str, dict[str, Any]]:
    """The presets as plain JSON values, for the account form's script."""
    return {
        account_type: {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in preset.items()
            if name != "billing_day" or value is not None
        }
        for account_type, preset in PRESETS.items()
    }


@functools.cache
def country_choices() -> list[tuple[str, str]]:
    countries = [
        (country.alpha_2, getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    ]
    return sorted(countries, key=lambda choice: choice[1])


def country_name(code: str) -> str:
    return dict(country_choices()).get((code or "").upper(), code)


@functools.cache
def _subdivisions(country_code: str) -> tuple[tuple[str, str, bool], ...]:
    found = pycountry.subdivisions.get(country_code=country_code) or []
    return tuple(
        sorted(
            ((item.code, item.name, item.parent_code is None) for item in found),
            key=lambda row: row[1],
        )
    )


def state_choices(country_code: str, *, keep: str = "") -> list[tuple[str, str]]:
    """The country's first-level subdivisions (states, provinces, regions)."""
    rows = _subdivisions((country_code or "").upper())
    choices = [(code, name) for code, name, is_top in rows if is_top or code == keep]
    return choices


def state_name(code: str) -> str:
    if not code:
        return ""
    country = code.split("-", 1)[0]
    return next((name for found, name, _top in _subdivisions(country) if found == code), code)


def clean_country_and_state(country: str, state: str) -> tuple[str, str]:
    """Upper-case ISO codes; the state must belong to the country, and is required for some."""
    country = (country or "").strip().upper()
    state = (state or "").strip().upper()
    if country and country not in dict(country_choices()):
        raise ValidationError({"country": _("Unknown country code %(code)s.") % {"code": country}})
    if state:
        if not country:
            raise ValidationError({"country": _("Choose the country of the state.")})
        if state not in {code for code, _name, _top in _subdivisions(country)}:
            raise ValidationError(
                {
                    "state": _("%(state)s is not a state or region of %(country)s.")
                    % {"state": state, "country": country_name(country)}
                }
            )
    elif country in STATE_REQUIRED_COUNTRIES:
        raise ValidationError(
            {
                "state": _("The state is required for %(country)s: taxes depend on it.")
                % {"country": country_name(country)}
            }
        )
    return country, state


def billing_day_in(
    rule: str, fixed_day: int | None, first_order: date | None, year: int, month: int
) -> int:
    """The day of ``month`` on which an account with this rule is billed.

    "Day of the first order" on the 31st bills on the last day of shorter months.
    """
    last = calendar.monthrange(year, month)[1]
    if rule == Account.BillingDayRule.LAST:
        return last
    if rule == Account.BillingDayRule.FIXED and fixed_day:
        return min(fixed_day, last)
    if rule == Account.BillingDayRule.FIRST_ORDER and first_order is not None:
        return min(first_order.day, last)
    return 1
