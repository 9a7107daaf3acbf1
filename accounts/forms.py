from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = [
            "name",
            "account_type",
            "parent",
            "status",
            "currency",
            "email",
            "phone",
            "website",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Account.objects.filter(account_type=Account.Type.RESELLER)
        self.fields["parent"].help_text = _("Only for a reseller's client.")
        self.fields["currency"].help_text = _("ISO code, e.g. EUR.")

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Enter a three-letter ISO currency code, e.g. EUR."))
        return currency
