from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pycountry
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from django import forms
from django.utils.translation import gettext_lazy as _

from bss.core.translation import enabled_languages
from bss.setup.currencies.forms import ActiveCurrencyField
from bss.setup.models import Organization
from bss.setup.organization.services import (
    DATE_FORMATS,
    LOGO_MAX_BYTES,
    NUMBER_LOCALES,
    time_zone_names,
)

SAMPLE_DATE = date(2026, 12, 31)
SAMPLE_NUMBER = Decimal("1234567.89")


def date_format_choices() -> list[tuple[str, str]]:
    return [(pattern, format_date(SAMPLE_DATE, pattern, locale="en")) for pattern in DATE_FORMATS]


def number_locale_choices() -> list[tuple[str, str]]:
    return [
        (
            code,
            f"{format_decimal(SAMPLE_NUMBER, locale=code)} · {Locale.parse(code).get_display_name('en')}",
        )
        for code in NUMBER_LOCALES
    ]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(time_zone_names())]


def country_choices() -> list[tuple[str, str]]:
    countries = sorted(pycountry.countries, key=lambda country: country.name)
    return [("", "—"), *((country.alpha_2, country.name) for country in countries)]


class OrganizationForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (line 2)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=country_choices, required=False)
    tax_id = forms.CharField(label=_("Tax id"), max_length=50, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, at most 2 MB; printed on PDFs and emails."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    home_currency = ActiveCurrencyField(label=_("Home currency"))
    default_language = forms.ChoiceField(label=_("Default language"), choices=enabled_languages)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    date_format = forms.ChoiceField(label=_("Date format"), choices=date_format_choices)
    number_locale = forms.ChoiceField(label=_("Number format"), choices=number_locale_choices)
    file_space_mb = forms.IntegerField(
        label=_("File space allowance (MB)"),
        min_value=1,
        help_text=_("Space for uploaded documents across the organization."),
    )

    PROFILE_FIELDS = (
        "legal_name",
        "address_line1",
        "address_line2",
        "city",
        "postal_code",
        "country",
        "tax_id",
        "email",
        "phone",
        "default_language",
        "time_zone",
        "date_format",
        "number_locale",
        "file_space_mb",
    )

    def __init__(self, *args: Any, instance: Organization, **kwargs: Any) -> None:
        self.instance = instance
        home = instance.home_currency.code if instance.home_currency else None
        kwargs.setdefault(
            "initial",
            {
                **{name: getattr(instance, name) for name in self.PROFILE_FIELDS},
                "home_currency": home,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["home_currency"] = ActiveCurrencyField(
            label=_("Home currency"),
            required=home is not None,
            help_text=_("Exchange rates of the other currencies are relative to it."),
        )

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo and logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo may be at most 2 MB."))
        return logo

    def profile_changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.PROFILE_FIELDS}
