"""Which taxes an invoice line bears, and whether a customer's VAT number is valid.

``taxes_for`` answers for one line from the customer's location, the product type, the
account's and the product's taxable flags and the customer's VAT number with its VIES
status. Rules come from ``TaxRule`` rows (see there for how the most specific rule
wins); a ``TaxTable`` reads them once so a billing run asks the database once, not per
line.

EU reverse charge: a seller established in an EU member state invoicing a business in
another member state, whose VAT number VIES confirms, charges no VAT; the invoice says
so in a note. If VIES cannot be reached the answer is "held": the invoice stays a draft
until the number is checked again, because charging the wrong VAT makes a wrong invoice
that only a credit note could undo.

The VAT number checker is an interface. ``OfflineVatChecker`` (the default) checks the
format only; ``UnavailableVatChecker`` always answers "unavailable"; ``ViesVatChecker``
asks the VIES REST service at a configured address. Nothing here reaches the internet
unless ``BILLING_VAT_CHECKER`` names the VIES checker.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Tax, TaxRule, VatStatus

# ISO 3166 codes of the 27 member states (Greece is GR here; its VAT prefix is EL).
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# VAT prefix -> ISO country, where they differ.
COUNTRY_OF_VAT_PREFIX = {"EL": "GR"}

REVERSE_CHARGE_NOTE = gettext_lazy(
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)."
)


@dataclass(frozen=True)
class AppliedTax:
    """One tax on a line: its code, printed name and rate in percent."""

    tax_id: int
    code: str
    name: str
    rate: Decimal

    def as_json(self) -> dict[str, str | int]:
        return {"tax_id": self.tax_id, "code": self.code, "name": self.name, "rate": str(self.rate)}

    @classmethod
    def from_json(cls, data: dict[str, str | int]) -> AppliedTax:
        return cls(
            tax_id=int(data["tax_id"]),
            code=str(data["code"]),
            name=str(data["name"]),
            rate=Decimal(str(data["rate"])),
        )


@dataclass(frozen=True)
class TaxDecision:
    """The taxes of a line, plus what the invoice must say or wait for."""

    taxes: tuple[AppliedTax, ...] = ()
    is_reverse_charge: bool = False
    is_held: bool = False
    note: str = ""


@dataclass(frozen=True)
class _Rule:
    tax_id: int
    state: str
    product_type_id: int | None
    rate: Decimal | None
    is_exempt: bool

    def specificity(self) -> int:
        return (2 if self.state else 0) + (1 if self.product_type_id is not None else 0)


@dataclass
class TaxTable:
    """Active taxes and their rules, read once; answers ``taxes_for`` without queries."""

    taxes: dict[int, Tax] = field(default_factory=dict)
    rules_by_country: dict[str, list[_Rule]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> TaxTable:
        taxes = {tax.pk: tax for tax in Tax.objects.filter(is_active=True)}
        rules: dict[str, list[_Rule]] = defaultdict(list)
        for rule in TaxRule.objects.filter(tax__is_active=True).order_by("pk"):
            rules[rule.country.upper()].append(
                _Rule(
                    tax_id=rule.tax_id,
                    state=rule.state.upper(),
                    product_type_id=rule.product_type_id,
                    rate=rule.rate,
                    is_exempt=rule.is_exempt,
                )
            )
        return cls(taxes=taxes, rules_by_country=dict(rules))

    def location_taxes(
        self, *, country: str, state: str, product_type_id: int | None
    ) -> list[AppliedTax]:
        """Every tax whose most specific matching rule for this place and type charges it."""
        state = (state or "").upper()
        best: dict[int, _Rule] = {}
        for rule in self.rules_by_country.get((country or "").upper(), []):
            if rule.state and rule.state != state:
                continue
            if rule.product_type_id is not None and rule.product_type_id != product_type_id:
                continue
            current = best.get(rule.tax_id)
            if current is None or rule.specificity() > current.specificity():
                best[rule.tax_id] = rule
        applied = []
        for tax_id, rule in best.items():
            if rule.is_exempt:
                continue
            tax = self.taxes[tax_id]
            rate = rule.rate if rule.rate is not None else tax.rate
            applied.append(AppliedTax(tax_id=tax.pk, code=tax.code, name=tax.name, rate=rate))
        return sorted(applied, key=lambda item: (item.code, item.rate))

    def is_vat(self, tax_id: int) -> bool:
        return self.taxes[tax_id].is_vat


def vat_country(vat_number: str) -> str:
    """The ISO country of an EU VAT number's prefix (EL123… → GR), or ""."""
    prefix = (vat_number or "")[:2].upper()
    return COUNTRY_OF_VAT_PREFIX.get(prefix, prefix) if prefix.isalpha() else ""


def is_reverse_charge_candidate(*, seller_country: str, country: str, vat_number: str) -> bool:
    """An EU seller, a customer in another member state, and a VAT number of that state."""
    seller = (seller_country or "").upper()
    customer = (country or "").upper()
    return (
        seller in EU_COUNTRIES
        and customer in EU_COUNTRIES
        and customer != seller
        and bool(vat_number)
        and vat_country(vat_number) == customer
    )


def taxes_for(
    *,
    seller_country: str,
    country: str,
    state: str = "",
    product_type_id: int | None,
    is_account_taxable: bool,
    is_product_taxable: bool,
    vat_number: str = "",
    vies_status: str = VatStatus.UNCHECKED,
    table: TaxTable | None = None,
) -> TaxDecision:
    """The taxes one line bears.

    Tax-exempt accounts and products bear none. A reverse-charge customer bears no VAT
    (other taxes of the place still apply) once VIES says the number is valid; while
    VIES is unavailable or the number was never checked the decision is held.
    """
    if not is_account_taxable or not is_product_taxable:
        return TaxDecision()
    table = table or TaxTable.load()
    applied = table.location_taxes(country=country, state=state, product_type_id=product_type_id)
    if not is_reverse_charge_candidate(
        seller_country=seller_country, country=country, vat_number=vat_number
    ):
        return TaxDecision(taxes=tuple(applied))
    if vies_status == VatStatus.VALID:
        return TaxDecision(
            taxes=tuple(tax for tax in applied if not table.is_vat(tax.tax_id)),
            is_reverse_charge=True,
            note=str(REVERSE_CHARGE_NOTE),
        )
    if vies_status == VatStatus.INVALID:
        return TaxDecision(taxes=tuple(applied))
    return TaxDecision(
        taxes=tuple(applied),
        is_held=True,
        note=_("The VAT number %(number)s could not be checked in VIES yet.")
        % {"number": vat_number},
    )


# ------------------------------------------------------------------------ VAT checks


@dataclass(frozen=True)
class VatCheckResult:
    vat_number: str
    status: str
    checked_at: datetime
    registered_name: str = ""
    registered_address: str = ""
    detail: str = ""


class VatNumberChecker(Protocol):
    """Asks an authority whether a VAT number is registered; never raises for outages."""

    name: str

    def check(self, vat_number: str) -> VatCheckResult: ...


class OfflineVatChecker:
    """The default: a number in its country's EU format is valid; no network involved."""

    name = "offline"

    def check(self, vat_number: str) -> VatCheckResult:
        from accounts.vat import is_eu_prefix, normalize_vat_number

        number = (vat_number or "").upper()
        try:
            normalized = normalize_vat_number(number)
        except ValidationError as error:
            return VatCheckResult(
                number, VatStatus.INVALID, timezone.now(), detail=" ".join(error.messages)
            )
        status = VatStatus.VALID if is_eu_prefix(normalized[:2]) else VatStatus.INVALID
        return VatCheckResult(normalized, status, timezone.now(), detail="format check")


class UnavailableVatChecker:
    """VIES down: every answer is "unavailable" (tests and the hold path use it)."""

    name = "unavailable"

    def check(self, vat_number: str) -> VatCheckResult:
        return VatCheckResult(
            vat_number, VatStatus.UNAVAILABLE, timezone.now(), detail="VIES unavailable"
        )


# VIES userError values that mean "ask again later", not "the number is invalid".
VIES_RETRY_ERRORS = frozenset(
    {
        "SERVICE_UNAVAILABLE",
        "MS_UNAVAILABLE",
        "TIMEOUT",
        "GLOBAL_MAX_CONCURRENT_REQ",
        "MS_MAX_CONCURRENT_REQ",
        "SERVER_BUSY",
    }
)


class ViesVatChecker:
    """The EU's VIES REST service (``POST {base_url}/check-vat-number``)."""

    name = "vies"

    def __init__(self, base_url: str | None = None, timeout: float | None = None) -> None:
        self.base_url = (base_url or settings_value("BILLING_VIES_URL", "")).rstrip("/")
        self.timeout = (
            timeout
            if timeout is not None
            else float(settings_value("BILLING_VIES_TIMEOUT_SECONDS", 5))
        )

    def check(self, vat_number: str) -> VatCheckResult:
        number = (vat_number or "").upper()
        if not self.base_url:
            return self._unavailable(number, "no VIES address configured")
        body = json.dumps({"countryCode": number[:2], "vatNumber": number[2:]}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/check-vat-number",
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError) as error:
            return self._unavailable(number, f"{error.__class__.__name__}: {error}"[:300])
        user_error = str(answer.get("userError") or "")
        if user_error in VIES_RETRY_ERRORS:
            return self._unavailable(number, user_error)
        status = VatStatus.VALID if answer.get("valid") is True else VatStatus.INVALID
        return VatCheckResult(
            number,
            status,
            timezone.now(),
            registered_name=_clean_vies_text(answer.get("name")),
            registered_address=_clean_vies_text(answer.get("address")),
            detail=user_error[:300],
        )

    def _unavailable(self, number: str, detail: str) -> VatCheckResult:
        return VatCheckResult(number, VatStatus.UNAVAILABLE, timezone.now(), detail=detail)


def _clean_vies_text(value: object) -> str:
    # VIES answers "---" when a member state does not disclose the name or address.
    text = str(value or "").strip()
    return "" if text in {"---", "-"} else text


def settings_value(name: str, default: object) -> object:
    return getattr(settings, name, default)


def vat_checker() -> VatNumberChecker:
    """The configured checker (``BILLING_VAT_CHECKER``, a dotted class path)."""
    path = str(settings_value("BILLING_VAT_CHECKER", "billing.taxes.OfflineVatChecker"))
    return import_string(path)()
