"""Forms of payments: they parse input; the services check the rules and write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from billing.models import Invoice
from bss.core.visibility import visible_records
from payments.models import (
    MANUAL_PAYMENT_TYPES,
    NotificationPlan,
    NotificationPlanStep,
    PaymentMethod,
    PaymentType,
)
from payments.services import open_debit_invoices

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PaymentMethodForm(forms.ModelForm):
    class Meta:
        model = PaymentMethod
        fields = [
            "number",
            "description",
            "payment_days",
            "collection",
            "charges_before_activation",
            "notification_plan",
            "is_active",
        ]


class NotificationPlanForm(forms.ModelForm):
    class Meta:
        model = NotificationPlan
        fields = ["name", "is_active", "is_default"]


class PlanStepForm(forms.ModelForm):
    class Meta:
        model = NotificationPlanStep
        fields = ["offset_days", "notification", "action"]


class AccountLookupForm(forms.Form):
    account = forms.CharField(
        label=_("Account"), help_text=_("The account's number or part of its name.")
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.account: Account | None = None

    def clean_account(self) -> str:
        term = self.cleaned_data["account"].strip()
        matches = visible_records(Account.objects.all(), self.user).filter(
            Q(number__iexact=term) | Q(name__icontains=term)
        )
        found = list(matches.order_by("name")[:2])
        if not found:
            raise forms.ValidationError(_("No account matches “%s”.") % term)
        if len(found) > 1 and found[0].number.lower() != term.lower():
            raise forms.ValidationError(
                _("Several accounts match “%s”; type more of the name or the number.") % term
            )
        self.account = found[0]
        return term


class PaymentForm(forms.Form):
    payment_type = forms.ChoiceField(
        label=_("Type"),
        choices=[
            (value, label) for value, label in PaymentType.choices if value in MANUAL_PAYMENT_TYPES
        ],
    )
    payment_date = forms.DateField(label=_("Payment date"), widget=DATE_INPUT)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=18, decimal_places=4, min_value=Decimal("0.0001")
    )
    currency = forms.CharField(label=_("Currency"), max_length=3)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    invoices = forms.ModelMultipleChoiceField(
        label=_("Settle these invoices"),
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen = the oldest unpaid invoices first; the rest stays as credit."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("payment_date", timezone.localdate())
        kwargs["initial"].setdefault("currency", account.currency)
        super().__init__(*args, **kwargs)
        self.account = account
        field = self.fields["invoices"]
        field.queryset = open_debit_invoices(account, account.currency)  # type: ignore[attr-defined]
        field.label_from_instance = lambda invoice: (  # type: ignore[attr-defined]
            f"{invoice.number} · {invoice.invoice_date:%Y-%m-%d} · {invoice.balance_due.normalize():f} {invoice.currency}"
        )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class AllocateForm(forms.Form):
    invoices = forms.ModelMultipleChoiceField(
        label=_("Settle these invoices"),
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen = the oldest unpaid invoices first."),
    )

    def __init__(self, *args: Any, account: Account, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = open_debit_invoices(account, currency)  # type: ignore[attr-defined]


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=300)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=18, decimal_places=4, min_value=Decimal("0.0001")
    )
    refund_date = forms.DateField(label=_("Refund date"), widget=DATE_INPUT, required=False)
    via_gateway = forms.BooleanField(label=_("Refund the card through the gateway"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


class PaymentSettingsForm(forms.Form):
    payment_method = forms.ModelChoiceField(
        label=_("Payment method"),
        queryset=PaymentMethod.objects.filter(is_active=True).order_by("number"),
        required=False,
        help_text=_("A method with payment days sets the account's payment terms."),
    )
    auto_charge = forms.BooleanField(
        label=_("Charge the card when an invoice is issued"), required=False
    )


class CardForm(forms.Form):
    token = forms.CharField(
        label=_("Card token"),
        max_length=100,
        help_text=_("The payment method id the gateway's card form returned (pm_…)."),
    )


class StatementForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DATE_INPUT, required=False)
    end = forms.DateField(label=_("To"), widget=DATE_INPUT, required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end is on or after the start."))
        return data


class UpcomingPaymentForm(forms.Form):
    payment_type = forms.ChoiceField(
        label=_("Type"),
        choices=[
            (value, label)
            for value, label in PaymentType.choices
            if value in (PaymentType.CASH, PaymentType.DEPOSIT, PaymentType.CHECK)
        ],
    )
    payment_date = forms.DateField(label=_("Payment date"), widget=DATE_INPUT)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=18, decimal_places=4, min_value=Decimal("0.0001")
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
