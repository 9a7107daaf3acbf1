"""Standard VAT of the 27 EU member states: one VAT tax per state with a country-wide rule.

Rates are the standard rates in force in 2026 (reduced rates are left to each
installation: a rule per product type overrides the rate). Idempotent: a tax found by
its code keeps whatever rate someone has set since.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing import services
from billing.models import BillingSettings, Tax, TaxRule

ORDER = 25

# ISO country -> standard VAT rate in percent.
EU_STANDARD_VAT_RATES: dict[str, Decimal] = {
    "AT": Decimal("20"),
    "BE": Decimal("21"),
    "BG": Decimal("20"),
    "CY": Decimal("19"),
    "CZ": Decimal("21"),
    "DE": Decimal("19"),
    "DK": Decimal("25"),
    "EE": Decimal("24"),
    "ES": Decimal("21"),
    "FI": Decimal("25.5"),
    "FR": Decimal("20"),
    "GR": Decimal("24"),
    "HR": Decimal("25"),
    "HU": Decimal("27"),
    "IE": Decimal("23"),
    "IT": Decimal("22"),
    "LT": Decimal("21"),
    "LU": Decimal("17"),
    "LV": Decimal("21"),
    "MT": Decimal("18"),
    "NL": Decimal("21"),
    "PL": Decimal("23"),
    "PT": Decimal("23"),
    "RO": Decimal("21"),
    "SE": Decimal("25"),
    "SI": Decimal("22"),
    "SK": Decimal("23"),
}


def vat_code(country: str) -> str:
    return f"VAT-{country}"


def seed_eu_vat(*, actor: Any = None) -> int:
    """Create the VAT tax and country rule of each member state that lacks them."""
    created = 0
    for country, rate in EU_STANDARD_VAT_RATES.items():
        tax = Tax.objects.filter(code=vat_code(country)).first()
        if tax is None:
            tax = services.tax_save(
                actor=actor, code=vat_code(country), name="VAT", rate=rate, is_vat=True
            )
            created += 1
        if not TaxRule.objects.filter(
            tax=tax, country=country, state="", product_type__isnull=True
        ).exists():
            services.tax_rule_save(actor=actor, tax=tax, country=country)
    return created


DEMO_PAYMENT_INSTRUCTIONS = (
    "Please pay {amount} by {due_date} to IBAN GR16 0110 1250 0000 0001 2300 695 "
    "(BIC ETHNGRAA), quoting {number}."
)


def seed(stdout: Any) -> None:
    created = seed_eu_vat()
    if not BillingSettings.objects.exclude(payment_instructions="").exists():
        services.billing_settings_update(actor=None, payment_instructions=DEMO_PAYMENT_INSTRUCTIONS)
    stdout.write(f"  {created} EU VAT taxes added ({Tax.objects.count()} taxes)")
