from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bss.setup.currencies.selectors import active_currency_choices


def _currency_choices(keep: str | None, required: bool) -> list[tuple[str, str]]:
    choices = active_currency_choices(keep=keep)
    return choices if required else [("", "—"), *choices]


class ActiveCurrencyField(forms.ChoiceField):
    """The currency picker of every form in the BSS: active currencies only.

    ``keep`` (a code) stays selectable although inactive: the value an edited record
    already holds. Choices are read when the field renders or validates, never at import.
    """

    def __init__(self, *, keep: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Currency"))
        required = kwargs.get("required", True)
        super().__init__(choices=partial(_currency_choices, keep, required), **kwargs)


class CurrencyCreateForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=3, help_text=_("ISO 4217, e.g. EUR, USD, JPY.")
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Leave empty to use the standard English name."),
    )
    culture = forms.CharField(
        label=_("Display culture"),
        max_length=20,
        initial="en_US",
        help_text=_("How amounts are written: a locale such as el_GR, de_DE or en_US."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class CurrencyEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    culture = forms.CharField(
        label=_("Display culture"),
        max_length=20,
        help_text=_("How amounts are written: a locale such as el_GR, de_DE or en_US."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Inactive currencies cannot be chosen on any record."),
    )


class ExchangeRateForm(forms.Form):
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    rate = forms.DecimalField(
        label=_("Rate to the home currency"),
        max_digits=20,
        decimal_places=8,
        min_value=0,
        help_text=_("How much one unit of this currency is worth in the home currency."),
    )
