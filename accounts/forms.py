from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from bss.setup.fields.forms import CustomFieldsFormMixin
from bss.setup.fields.values import account_context_of
from bss.setup.models import PermissionRule
from bss.setup.rules.selectors import default_rule_for, rules_usable_by

ACCOUNT_ENTITY = "account"


class AccountForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_entity = ACCOUNT_ENTITY

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
            "permission_rule",
        ]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Account.objects.filter(account_type=Account.Type.RESELLER)
        self.fields["parent"].help_text = _("Only for a reseller's client.")
        self.fields["currency"].help_text = _("ISO code, e.g. EUR.")
        self._setup_permission_rule(user)
        creating = self.instance.pk is None
        self.add_custom_fields(stored=None if creating else dict(self.instance.custom_data or {}))

    def _setup_permission_rule(self, user: Any) -> None:
        """Rules applied to accounts and shared with the user, plus the one the account has."""
        current = self.instance.permission_rule_id
        usable = rules_usable_by(user, ACCOUNT_ENTITY).values("pk")
        rule_field = self.fields["permission_rule"]
        rule_field.queryset = PermissionRule.objects.filter(
            Q(pk__in=usable) | Q(pk=current)
        ).order_by("name")
        rule_field.empty_label = _("None: only the owner and administrators")
        rule_field.help_text = _("Who else may see and change this account.")
        if self.instance.pk is None and not self.is_bound:
            default = default_rule_for(ACCOUNT_ENTITY, user=user)
            if default is not None:
                self.initial["permission_rule"] = default.pk

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Enter a three-letter ISO currency code, e.g. EUR."))
        return currency

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        changes = {name: cleaned[name] for name in self.Meta.fields if name in cleaned}
        creating = self.instance.pk is None
        self.clean_custom_data(
            account_context=account_context_of(None if creating else self.instance, changes),
            existing=None if creating else dict(self.instance.custom_data or {}),
        )
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """What ``account_create`` / ``account_update`` take from this form."""
        return {
            **{name: self.cleaned_data[name] for name in self.Meta.fields},
            "custom_data": self.custom_data_input,
        }
