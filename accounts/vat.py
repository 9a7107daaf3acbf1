"""VAT numbers: normalized spelling and the per-country format of EU VAT identification numbers.

Only the format is checked here (VIES, the EU's online check, needs the internet). A
number is stored with its two-letter prefix, e.g. ``EL094259216``; a bare number gets
the prefix of the account's country when that country is in the EU. Numbers of other
countries (GB, CH, US…) are kept as typed, without a format check.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The VAT prefix differs from the ISO country code only for Greece.
VAT_PREFIX_OF_COUNTRY = {"GR": "EL"}

# Prefix -> (pattern of the part after the prefix, an example of that part).
EU_FORMATS: dict[str, tuple[str, str]] = {
    "AT": (r"U\d{8}", "U12345678"),
    "BE": (r"[01]\d{9}", "0123456789"),
    "BG": (r"\d{9,10}", "123456789"),
    "CY": (r"\d{8}[A-Z]", "12345678X"),
    "CZ": (r"\d{8,10}", "12345678"),
    "DE": (r"\d{9}", "123456789"),
    "DK": (r"\d{8}", "12345678"),
    "EE": (r"\d{9}", "123456789"),
    "EL": (r"\d{9}", "123456789"),
    "ES": (r"[0-9A-Z]\d{7}[0-9A-Z]", "X1234567X"),
    "FI": (r"\d{8}", "12345678"),
    "FR": (r"[0-9A-HJ-NP-Z]{2}\d{9}", "12345678901"),
    "HR": (r"\d{11}", "12345678901"),
    "HU": (r"\d{8}", "12345678"),
    "IE": (r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]", "1234567WA"),
    "IT": (r"\d{11}", "12345678901"),
    "LT": (r"\d{9}|\d{12}", "123456789"),
    "LU": (r"\d{8}", "12345678"),
    "LV": (r"\d{11}", "12345678901"),
    "MT": (r"\d{8}", "12345678"),
    "NL": (r"\d{9}B\d{2}", "123456789B01"),
    "PL": (r"\d{10}", "1234567890"),
    "PT": (r"\d{9}", "123456789"),
    "RO": (r"[1-9]\d{1,9}", "1234567890"),
    "SE": (r"\d{10}01", "123456789001"),
    "SI": (r"\d{8}", "12345678"),
    "SK": (r"\d{10}", "1234567890"),
    # Northern Ireland trades goods under EU VAT rules with its own prefix.
    "XI": (r"\d{9}|\d{12}|GD\d{3}|HA\d{3}", "123456789"),
}
_COMPILED = {prefix: re.compile(rf"(?:{pattern})") for prefix, (pattern, _e) in EU_FORMATS.items()}
_SEPARATORS = re.compile(r"[\s.\-/]")


def vat_prefix(country_code: str) -> str:
    code = (country_code or "").upper()
    return VAT_PREFIX_OF_COUNTRY.get(code, code)


def is_eu_prefix(prefix: str) -> bool:
    return prefix in EU_FORMATS


def normalize_vat_number(raw: str, *, country_code: str = "") -> str:
    """``raw`` without spaces, dots or dashes, upper-case, with the EU prefix when one applies.

    Raises ``ValidationError`` when an EU number does not have its country's format.
    """
    number = _SEPARATORS.sub("", raw or "").upper()
    if not number:
        return ""
    prefix = number[:2]
    if prefix == "GR":
        number, prefix = "EL" + number[2:], "EL"
    if not is_eu_prefix(prefix):
        country_prefix = vat_prefix(country_code)
        if not is_eu_prefix(country_prefix):
            return number
        number, prefix = country_prefix + number, country_prefix
    body = number[2:]
    if not _COMPILED[prefix].fullmatch(body):
        raise ValidationError(
            _("%(number)s is not a valid %(prefix)s VAT number: expected %(prefix)s%(example)s.")
            % {"number": number, "prefix": prefix, "example": EU_FORMATS[prefix][1]}
        )
    return number
