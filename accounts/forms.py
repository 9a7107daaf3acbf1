"""Forms of the Customers pages: they parse input; the services check the rules and write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.addresses import country_area_choices
from accounts.documents import KNOWN_TYPES
from accounts.models import (
    Account,
    Address,
    AddressValidationMode,
    Contact,
    CustomerSettings,
    RebateTerm,
)
from accounts.ordering import ORDERING_FIELDS, country_choices, preset_for, state_choices
from accounts.rebates import Tier
from accounts.selectors import assignable_price_lists
from bss.core.visibility import visible_records
from bss.setup.currencies.selectors import active_currency_choices
from bss.setup.fields.forms import CustomFieldsFormMixin
from bss.setup.fields.selectors import value_choices
from bss.setup.fields.values import account_context_of
from bss.setup.models import PermissionRule, User
from bss.setup.rules.selectors import default_rule_for, rules_usable_by
from catalogue.models import Product

ACCOUNT_ENTITY = "account"
BILL_OWN = "own"
BILL_THROUGH = "through"
EMPTY = [("", "---------")]


def _value_list_choices(entity: str, field: str, keep: str = "") -> list[tuple[str, str]]:
    choices = value_choices(entity, field)
    if keep and keep not in dict(choices):
        choices.append((keep, keep))
    return EMPTY + choices


def active_users() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "email")


class AccountForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_entity = ACCOUNT_ENTITY

    billing_mode = forms.ChoiceField(
        label=_("Billing"),
        choices=[
            (BILL_OWN, _("Set account ordering options")),
            (BILL_THROUGH, _("Bill through another account")),
        ],
        widget=forms.RadioSelect,
        required=False,
        initial=BILL_OWN,
    )

    ACCOUNT_FIELDS = (
        "name",
        "account_type",
        "parent",
        "status",
        "account_manager",
        "currency",
        "transaction_currency",
        "language",
        "industry",
        "lead_source",
        "vat_number",
        "email",
        "phone",
        "website",
        "permission_rule",
    )
    OWN_OPTIONS = (
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

    class Meta:
        model = Account
        fields = [
            "name",
            "account_type",
            "parent",
            "status",
            "account_manager",
            "currency",
            "transaction_currency",
            "language",
            "industry",
            "lead_source",
            "vat_number",
            "email",
            "phone",
            "website",
            "permission_rule",
            *ORDERING_FIELDS,
        ]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        creating = self.instance.pk is None
        instance = self.instance
        resellers = visible_records(
            Account.objects.filter(account_type=Account.Type.RESELLER), user
        ).order_by("name")
        self.fields["parent"].queryset = resellers
        self.fields["parent"].help_text = _("Only for a reseller's client.")
        self.fields["account_manager"].queryset = active_users()
        self._setup_currencies(instance)
        self.fields["language"] = forms.ChoiceField(
            label=_("Language"),
            required=False,
            choices=[("", _("Organization default")), *settings.LANGUAGES],
            help_text=_("Of documents and emails sent to the customer."),
        )
        self.fields["industry"] = forms.ChoiceField(
            label=_("Industry"),
            required=False,
            choices=_value_list_choices("account", "industry", instance.industry),
        )
        self.fields["lead_source"] = forms.ChoiceField(
            label=_("Lead source"),
            required=False,
            choices=_value_list_choices("account", "lead_source", instance.lead_source),
        )
        self.fields["vat_number"].help_text = _(
            "EU numbers are checked per country, e.g. EL094259216 or DE123456789."
        )
        self._setup_permission_rule(user)
        self._setup_ordering(instance, resellers, creating)
        self.add_custom_fields(stored=None if creating else dict(instance.custom_data or {}))

    def _setup_currencies(self, instance: Account) -> None:
        keep = instance.currency if instance.pk else ""
        active = active_currency_choices(keep=keep)
        if active:
            self.fields["currency"] = forms.ChoiceField(label=_("Currency"), choices=active)
            self.fields["transaction_currency"] = forms.ChoiceField(
                label=_("Transaction currency"),
                required=False,
                choices=EMPTY + active_currency_choices(keep=instance.transaction_currency),
            )
        else:
            self.fields["currency"].help_text = _("ISO code, e.g. EUR.")
            self.fields["transaction_currency"].help_text = _("Optional ISO code.")

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

    def _setup_ordering(self, instance: Account, resellers: Any, creating: bool) -> None:
        payers = resellers.filter(billing_account__isnull=True)
        if instance.pk:
            payers = payers.exclude(pk=instance.pk)
        if instance.billing_account_id:
            payers = payers | Account.objects.filter(pk=instance.billing_account_id)
        self.fields["billing_account"].queryset = payers
        self.fields["billing_account"].help_text = _("The account that receives the invoices.")
        country = self.data.get(self.add_prefix("country")) if self.is_bound else instance.country
        self.fields["country"] = forms.ChoiceField(
            label=_("Country"),
            required=False,
            choices=EMPTY + country_choices(),
            help_text=_("Basis of taxation."),
        )
        self.fields["country"].widget.attrs.update(
            {
                "hx-get": reverse("accounts:region_options"),
                "hx-target": "#id_state",
                "hx-trigger": "change",
            }
        )
        self.fields["state"] = forms.ChoiceField(
            label=_("State"),
            required=False,
            choices=EMPTY + state_choices(country or "", keep=instance.state),
            help_text=_("Required for the United States and Canada."),
        )
        self.fields["payment_days"].help_text = _("Net 30 = invoices due 30 days after issue.")
        self.fields["payment_days"].required = False
        self.fields["credit_limit"].required = False
        self.fields["billing_day"].help_text = _("For a fixed billing day: 1 to 28.")
        for name in ("payment_method", "partial_charges", "billing_day_rule"):
            self.fields[name].required = False
        if creating and not self.is_bound:
            for name, value in preset_for(Account.Type.DIRECT).items():
                if name in self.fields and name != "billing_account":
                    self.initial[name] = value
        if not self.is_bound:
            self.initial["billing_mode"] = BILL_THROUGH if instance.billing_account_id else BILL_OWN

    def account_field_rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ACCOUNT_FIELDS]

    def own_option_rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.OWN_OPTIONS]

    def clean_currency(self) -> str:
        currency = str(self.cleaned_data["currency"]).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Enter a three-letter ISO currency code, e.g. EUR."))
        return currency

    def clean_transaction_currency(self) -> str:
        return str(self.cleaned_data.get("transaction_currency") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("is_ordering_enabled"):
            mode = cleaned.get("billing_mode") or BILL_OWN
            if mode == BILL_THROUGH and not cleaned.get("billing_account"):
                self.add_error(
                    "billing_account", _("Choose the account that receives the invoices.")
                )
            if mode == BILL_OWN:
                cleaned["billing_account"] = None
                if not cleaned.get("country"):
                    self.add_error("country", _("The country is required: it is the tax basis."))
                if cleaned.get("payment_days") is None:
                    self.add_error("payment_days", _("Enter the payment terms in days."))
                if not cleaned.get("is_credit_unlimited") and cleaned.get("credit_limit") is None:
                    self.add_error("credit_limit", _("Enter a credit limit or tick Unlimited."))
        changes = {name: cleaned[name] for name in self.Meta.fields if name in cleaned}
        creating = self.instance.pk is None
        self.clean_custom_data(
            account_context=account_context_of(None if creating else self.instance, changes),
            existing=None if creating else dict(self.instance.custom_data or {}),
        )
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """What ``account_create`` / ``account_update`` take from this form.

        With ordering off the ordering options are left as they are (or as the preset
        sets them on a new account), so switching ordering on later finds them again.
        """
        data = self.cleaned_data
        arguments = {name: data[name] for name in self.ACCOUNT_FIELDS}
        arguments["is_ordering_enabled"] = bool(data.get("is_ordering_enabled"))
        if arguments["is_ordering_enabled"]:
            arguments["billing_account"] = data.get("billing_account")
            for name in self.OWN_OPTIONS:
                value = data.get(name)
                if name in ("payment_method", "partial_charges", "billing_day_rule") and not value:
                    continue
                if name == "credit_limit" and value is None:
                    value = Decimal(0)
                if name == "payment_days" and value is None:
                    continue
                arguments[name] = value
        arguments["custom_data"] = self.custom_data_input
        return arguments


class AccountDeleteForm(forms.Form):
    confirm_number = forms.CharField(label=_("Type the account number to confirm"), max_length=30)

    def __init__(self, *args: Any, number: str, **kwargs: Any) -> None:
        self.number = number
        super().__init__(*args, **kwargs)

    def clean_confirm_number(self) -> str:
        typed = self.cleaned_data["confirm_number"].strip()
        if typed != self.number:
            raise forms.ValidationError(_t("Type %(number)s exactly.") % {"number": self.number})
        return typed


class AssignManagerForm(forms.Form):
    """The input of the "assign account manager" bulk action.

    Takes the list page's (id, name) pairs of active users, so the select costs no query.
    """

    manager = forms.TypedChoiceField(label=_("Account manager"), coerce=int)

    def __init__(
        self, *args: Any, users: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if users is None:
            users = [(user.pk, str(user)) for user in active_users()]
        self.fields["manager"].choices = [("", "---------"), *users]

    def clean_manager(self) -> User:
        found = active_users().filter(pk=self.cleaned_data["manager"]).first()
        if found is None:
            raise forms.ValidationError(_t("Choose an active user."))
        return found


# ---------------------------------------------------------------------------- contacts


class ContactForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_entity = "contact"

    account_number = forms.CharField(
        label=_("Account"),
        max_length=30,
        help_text=_("The account's number, e.g. ACC-000012; change it to move the contact."),
    )

    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "company_role",
            "email",
            "phone",
            "mobile",
            "fax",
            "is_primary",
            "is_bill_to",
            "has_opted_in",
            "has_storefront_access",
            "storefront_role",
        ]

    def __init__(
        self, *args: Any, user: Any, account: Account | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        instance = self.instance
        fixed_account = account if instance.pk is None else None
        if fixed_account is not None:
            del self.fields["account_number"]
        elif instance.pk is not None and not self.is_bound:
            self.initial["account_number"] = instance.account.number
        self.fixed_account = fixed_account
        self.fields["company_role"] = forms.ChoiceField(
            label=_("Company role"),
            required=False,
            choices=_value_list_choices("contact", "company_role", instance.company_role),
        )
        self.fields["storefront_role"].help_text = _("Admin when left empty.")
        self.fields["is_primary"].help_text = _("Takes the flag from the current primary contact.")
        creating = instance.pk is None
        self.add_custom_fields(stored=None if creating else dict(instance.custom_data or {}))

    def clean_account_number(self) -> Account:
        number = self.cleaned_data["account_number"].strip().upper()
        found = visible_records(Account.objects.filter(number=number), self.user, "edit").first()
        if found is None:
            raise forms.ValidationError(
                _t("No account %(number)s that you may edit.") % {"number": number}
            )
        return found

    def target_account(self) -> Account:
        if self.fixed_account is not None:
            return self.fixed_account
        return self.cleaned_data["account_number"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        account = (
            self.fixed_account
            or cleaned.get("account_number")
            or (self.instance.account if self.instance.pk else None)
        )
        self.clean_custom_data(
            account_context=account_context_of(account) if isinstance(account, Account) else None,
            existing=None if self.instance.pk is None else dict(self.instance.custom_data or {}),
        )
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        arguments = {name: self.cleaned_data[name] for name in self.Meta.fields}
        arguments["custom_data"] = self.custom_data_input
        return arguments


# --------------------------------------------------------------------------- addresses


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [
            "kind",
            "label",
            "country_code",
            "name",
            "company_name",
            "street_address",
            "city",
            "city_area",
            "postal_code",
            "sorting_code",
            "country_area",
        ]
        widgets = {"street_address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country_code"] = forms.ChoiceField(
            label=_("Country"), choices=EMPTY + country_choices()
        )
        country = (
            self.data.get(self.add_prefix("country_code"))
            if self.is_bound
            else self.instance.country_code or self.initial.get("country_code", "")
        )
        self.area_choices = country_area_choices(country or "")
        self.fields["country_area"].widget.attrs["list"] = "country-area-options"
        self.fields["country_code"].widget.attrs.update(
            {
                "hx-get": reverse("accounts:region_options") + "?for=address",
                "hx-target": "#country-area-options",
                "hx-trigger": "change",
            }
        )
        self.fields["country_area"].help_text = _(
            "Required where the country uses states or provinces."
        )
        self.fields["label"].help_text = _("e.g. Head office, Warehouse")
        self.fields["name"].help_text = _("Optional person or department")

    def service_arguments(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] or "" for name in self.Meta.fields}


# -------------------------------------------------------------------- price lists, rebates


class PriceListAssignForm(forms.Form):
    price_list = forms.ModelChoiceField(label=_("Price list"), queryset=None)

    def __init__(self, *args: Any, account: Account, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_list"].queryset = assignable_price_lists(account, user)
        self.fields["price_list"].help_text = _(
            "Lists in %(currency)s; they price new subscriptions only."
        ) % {"currency": account.currency}


class RebateTermForm(forms.Form):
    applies_to = forms.ChoiceField(label=_("Applies to"), choices=RebateTerm.AppliesTo.choices)
    period = forms.ChoiceField(label=_("For"), choices=RebateTerm.Period.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=RebateTerm.Mode.choices)
    products = forms.ModelMultipleChoiceField(
        label=_("Products"),
        queryset=Product.objects.none(),
        required=False,
        help_text=_("Only for “Invoice items of specific products”."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = Product.objects.order_by("name")


class RebateTierForm(forms.Form):
    from_amount = forms.DecimalField(label=_("From"), min_value=0, decimal_places=2, required=False)
    to_amount = forms.DecimalField(
        label=_("To"),
        min_value=0,
        decimal_places=2,
        required=False,
        help_text=_("Empty = no limit"),
    )
    percent = forms.DecimalField(
        label=_("Percent"), min_value=0, max_value=100, decimal_places=2, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        filled = [cleaned.get(name) is not None for name in ("from_amount", "percent")]
        if any(filled) and not all(filled):
            raise forms.ValidationError(_("A tier needs “from” and a percent."))
        return cleaned


RebateTierFormSet = forms.formset_factory(RebateTierForm, extra=4, max_num=20)


def tiers_from(formset: Any) -> list[Tier]:
    return [
        Tier(
            from_amount=form.cleaned_data["from_amount"],
            to_amount=form.cleaned_data.get("to_amount"),
            percent=form.cleaned_data["percent"],
        )
        for form in formset.forms
        if form.cleaned_data and form.cleaned_data.get("from_amount") is not None
    ]


# --------------------------------------------------------------------------- documents


class DocumentForm(CustomFieldsFormMixin, forms.Form):
    custom_field_entity = "document"

    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("Shown instead of the file name.")
    )
    file = forms.FileField(label=_("File"))
    stage = forms.ChoiceField(label=_("Status"), required=False)
    document_type = forms.ChoiceField(label=_("Type"), required=False)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False
    )
    is_published = forms.BooleanField(label=_("Publish to Storefront"), required=False)

    def __init__(self, *args: Any, account: Account, document: Any = None, **kwargs: Any) -> None:
        if document is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": document.name,
                    "stage": document.stage,
                    "document_type": document.document_type,
                    "contact": document.contact_id,
                    "is_published": document.is_published,
                },
            )
        super().__init__(*args, **kwargs)
        self.document = document
        if document is not None:
            del self.fields["file"]
        self.fields["stage"].choices = _value_list_choices(
            "document", "stage", document.stage if document else ""
        )
        self.fields["document_type"].choices = _value_list_choices(
            "document", "document_type", document.document_type if document else ""
        )
        self.fields["contact"].queryset = account.contacts.order_by("last_name", "first_name")
        self.add_custom_fields(
            stored=None if document is None else dict(document.custom_data or {})
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_custom_data(
            account_context=None,
            existing=None if self.document is None else dict(self.document.custom_data or {}),
        )
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        names = ("name", "stage", "document_type", "contact", "is_published")
        arguments = {name: self.cleaned_data[name] for name in names}
        arguments["custom_data"] = self.custom_data_input
        return arguments


# ----------------------------------------------------------------------------- settings


class CustomerSettingsForm(forms.Form):
    address_validation = forms.ChoiceField(
        label=_("Address validation"),
        choices=AddressValidationMode.choices,
        widget=forms.RadioSelect,
        help_text=_("Addresses are checked per country: required fields, postal codes, states."),
    )
    document_types = forms.MultipleChoiceField(
        label=_("Allowed file types"),
        choices=[(kind, f".{kind}") for kind in sorted(KNOWN_TYPES)],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Checked by extension and by content."),
    )
    document_max_size_mb = forms.IntegerField(label=_("Maximum file size (MB)"), min_value=1)
    default_file_space_mb = forms.IntegerField(
        label=_("File space per user (MB)"),
        min_value=0,
        help_text=_("For users without a limit of their own; 0 = may not upload."),
    )

    def size_rows(self) -> list[forms.BoundField]:
        return [self["document_max_size_mb"], self["default_file_space_mb"]]

    @classmethod
    def for_settings(cls, current: CustomerSettings, data: Any = None) -> CustomerSettingsForm:
        return cls(
            data,
            initial={
                "address_validation": current.address_validation,
                "document_types": list(current.document_types or []),
                "document_max_size_mb": current.document_max_size_mb,
                "default_file_space_mb": current.default_file_space_mb,
            },
        )


class UserFileQuotaForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.none())
    limit_mb = forms.IntegerField(
        label=_("File space (MB)"),
        min_value=0,
        required=False,
        help_text=_("Empty = the organization's default."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_users()
