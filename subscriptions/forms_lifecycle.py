"""Forms of the trial pages and the customer request queue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from catalogue.models import Product, ProductPlan
from subscriptions.services import CancelTiming, RefundChoice


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _t("%(product)s (%(code)s), %(plan)s, %(days)d-day trial") % {
            "product": obj.product.name,
            "code": obj.product.code,
            "plan": obj,
            "days": obj.trial_days,
        }


class TrialCreateForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    plan = PlanChoiceField(label=_("Product and plan"), queryset=ProductPlan.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    friendly_name = forms.CharField(label=_("Friendly name"), max_length=200, required=False)

    def __init__(self, *args: Any, accounts: Any, may_backdate: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_backdate = may_backdate
        self.fields["account"].queryset = accounts
        self.fields["plan"].queryset = (
            ProductPlan.objects.filter(trial_enabled=True, product__status=Product.Status.ACTIVE)
            .select_related("product")
            .order_by("product__name", "pk")
        )
        self.fields["start_date"].initial = timezone.localdate()

    def clean_start_date(self) -> Any:
        start = self.cleaned_data["start_date"]
        if start < timezone.localdate() and not self.may_backdate:
            raise forms.ValidationError(_("You may not start a trial in the past."))
        return start


class TrialExtendForm(forms.Form):
    new_end = forms.DateField(
        label=_("New trial end"),
        help_text=_("The trial runs up to the day before this date."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class TrialUpgradeForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)
    friendly_name = forms.CharField(label=_("Friendly name"), max_length=200, required=False)


class RequestDecisionForm(forms.Form):
    timing = forms.ChoiceField(
        label=_("Cancellation time"),
        choices=[
            (CancelTiming.IMMEDIATE, _("Immediate")),
            (CancelTiming.SPECIFIC_DATE, _("Specific date")),
            (CancelTiming.END_OF_PERIOD, _("End of billing period")),
        ],
        required=False,
    )
    cancel_date = forms.DateField(
        label=_("Cancellation date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    refund = forms.ChoiceField(
        label=_("Refund"),
        choices=[
            (RefundChoice.POLICY, _("By the refund policy")),
            (RefundChoice.NONE, _("No refund")),
            (RefundChoice.CUSTOM, _("Custom amount")),
        ],
        initial=RefundChoice.POLICY,
    )
    custom_refund = forms.DecimalField(
        label=_("Custom refund"), required=False, min_value=Decimal(0), decimal_places=2
    )
    note = forms.CharField(label=_("Note (for a rejection)"), max_length=300, required=False)

    def __init__(
        self, *args: Any, may_choose_refund: bool, is_cancel: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not is_cancel:
            for name in ("timing", "cancel_date"):
                del self.fields[name]
        if not is_cancel or not may_choose_refund:
            del self.fields["refund"]
            del self.fields["custom_refund"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("timing") == CancelTiming.SPECIFIC_DATE and not data.get("cancel_date"):
            self.add_error("cancel_date", _("Enter the cancellation date."))
        if data.get("refund") == RefundChoice.CUSTOM and data.get("custom_refund") is None:
            self.add_error("custom_refund", _("Enter the refund amount."))
        return data
