"""Forms of the subscription pages: the shortcut dialogs and the settings page.

Each dialog form takes the subscription and the user; it offers only the choices the
subscription and the user's rights allow, and the service checks every rule again.
Every operation that the service can replay takes an optional effective date and time
(empty = now); a day before today needs the "backdate" right.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.selectors import quote_for_account
from bss.core.forms import apply_validation_error
from bss.core.permissions import user_has_permission
from bss.setup.fields.forms import CustomFieldsFormMixin
from catalogue.models import PriceList, ProductPlan
from catalogue.relations import downgrade_targets, upgrade_targets
from subscriptions.models import ProrationMethod, Subscription, SubscriptionStatus
from subscriptions.services import CancelTiming, RefundChoice

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class OperationForm(forms.Form):
    """A dialog's form: knows its subscription and user, and how to show service errors."""

    takes_effective_date = True
    # Service error keys that are called differently in the dialog.
    error_fields: dict[str, str] = {}

    effective_at = forms.DateTimeField(
        label=_("Effective date and time"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("Empty = now. A day before today needs the right to backdate."),
    )

    def __init__(
        self, data: Any = None, *, subscription: Subscription, user: Any, **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.subscription = subscription
        self.user = user
        if not self.takes_effective_date:
            del self.fields["effective_at"]

    def clean_effective_at(self) -> Any:
        moment = self.cleaned_data.get("effective_at")
        if moment is None:
            return None
        if timezone.localdate(moment) < timezone.localdate() and not user_has_permission(
            self.user, "subscriptions", "backdate"
        ):
            raise ValidationError(
                _t("You may not backdate operations: leave the date empty or choose today.")
            )
        return moment

    def show_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            error = ValidationError(
                {self.error_fields.get(key, key): value for key, value in error.error_dict.items()}
            )
        apply_validation_error(self, error)


class SubscriptionEditForm(CustomFieldsFormMixin, OperationForm):
    takes_effective_date = False
    custom_field_entity = "subscription"

    friendly_name = forms.CharField(label=_("Friendly name"), max_length=200, required=False)
    auto_renew = forms.BooleanField(label=_("Renew automatically"), required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["friendly_name"].initial = self.subscription.friendly_name
        self.fields["auto_renew"].initial = self.subscription.auto_renew
        self.add_custom_fields(stored=dict(self.subscription.custom_data or {}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_custom_data(account_context=None, existing=dict(self.subscription.custom_data))
        return cleaned


class ChangeQuantityForm(OperationForm):
    error_fields = {"renewal_value": "new_quantity"}

    new_quantity = forms.IntegerField(
        label=_("New total quantity"), min_value=1, help_text=_("The total, not the difference.")
    )
    at_renewal = forms.BooleanField(
        label=_("Apply at the renewal instead of now"),
        required=False,
        help_text=_("Schedules the new quantity as a future request for the next term."),
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["new_quantity"].initial = self.subscription.quantity
        self.offer_schedule = False

    def show_error(self, error: ValidationError) -> None:
        new = self.cleaned_data.get("new_quantity")
        super().show_error(error)
        refused_decrease = (
            hasattr(error, "error_dict")
            and "new_quantity" in error.error_dict
            and new is not None
            and new < self.subscription.quantity
        )
        self.offer_schedule = bool(refused_decrease and not self.cleaned_data.get("at_renewal"))


class EditPricingForm(OperationForm):
    cycle = forms.ChoiceField(
        label=_("Applies to"),
        choices=[("current", _("The current billing cycle")), ("next", _("The next cycle"))],
        initial="current",
        widget=forms.RadioSelect,
        help_text=_("Current: the difference is charged or credited pro rata to the period end."),
    )
    user_unit_price = forms.DecimalField(
        label=_("User-defined unit price"),
        required=False,
        min_value=Decimal(0),
        max_digits=18,
        decimal_places=4,
        help_text=_("Replaces the resolved price and clears the external pricing status."),
    )
    clear_user_price = forms.BooleanField(label=_("Go back to the resolved price"), required=False)
    discount_percent = forms.DecimalField(
        label=_("Discount %"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=7,
        decimal_places=4,
    )
    price_list = forms.ModelChoiceField(
        label=_("Price list"), queryset=PriceList.objects.none(), required=False
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        subscription = self.subscription
        self.fields["user_unit_price"].initial = subscription.user_unit_price
        self.fields["discount_percent"].initial = subscription.discount_percent
        self.fields["price_list"].queryset = PriceList.objects.filter(
            currency=subscription.currency
        ).order_by("name")
        self.fields["price_list"].initial = subscription.price_list_id

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("clear_user_price") and cleaned.get("user_unit_price") is not None:
            self.add_error(
                "user_unit_price",
                _t("Either enter a user-defined price or go back to the resolved one."),
            )
        return cleaned


class CancelForm(OperationForm):
    TIMING_LABELS = {
        CancelTiming.IMMEDIATE: _("Immediately"),
        CancelTiming.SPECIFIC_DATE: _("On a specific date (today or earlier in this cycle)"),
        CancelTiming.END_OF_PERIOD: _("At the end of the billing period"),
    }
    REFUND_LABELS = {
        RefundChoice.POLICY: _("By the refund policy"),
        RefundChoice.NONE: _("No refund"),
        RefundChoice.CUSTOM: _("A custom amount"),
    }

    timing = forms.ChoiceField(label=_("When"), widget=forms.RadioSelect)
    cancel_date = forms.DateField(
        label=_("Cancellation date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    refund = forms.ChoiceField(
        label=_("Refund"), widget=forms.RadioSelect, initial="policy", required=False
    )
    custom_refund = forms.DecimalField(
        label=_("Custom refund"), required=False, min_value=Decimal(0), decimal_places=4
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        timings = self.offered_timings(self.subscription)
        if self.subscription.status == SubscriptionStatus.PENDING_CANCEL:
            timings = [timing for timing in timings if timing != CancelTiming.END_OF_PERIOD]
        self.fields["timing"].choices = [(t, self.TIMING_LABELS[t]) for t in timings]
        if timings:
            self.fields["timing"].initial = timings[-1]
        refunds = [RefundChoice.POLICY]
        if user_has_permission(self.user, "subscriptions", "custom_refund"):
            refunds += [RefundChoice.NONE, RefundChoice.CUSTOM]
        else:
            del self.fields["custom_refund"]
        self.fields["refund"].choices = [(r, self.REFUND_LABELS[r]) for r in refunds]

    @staticmethod
    def offered_timings(subscription: Subscription) -> list[str]:
        product_type = subscription.product.product_type
        offered = [
            (CancelTiming.IMMEDIATE, "offer_cancel_immediate"),
            (CancelTiming.SPECIFIC_DATE, "offer_cancel_specific_date"),
            (CancelTiming.END_OF_PERIOD, "offer_cancel_end_of_period"),
        ]
        return [timing for timing, flag in offered if getattr(product_type, flag, True)]

    def _rows(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    @property
    def date_rows(self) -> list[forms.BoundField]:
        return self._rows("cancel_date", "effective_at")

    @property
    def refund_rows(self) -> list[forms.BoundField]:
        return self._rows("custom_refund", "reason")

    def clean_refund(self) -> str:
        return self.cleaned_data.get("refund") or RefundChoice.POLICY

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("timing") == CancelTiming.SPECIFIC_DATE and not cleaned.get("cancel_date"):
            self.add_error("cancel_date", _t("Enter the cancellation date."))
        if cleaned.get("refund") == RefundChoice.CUSTOM and cleaned.get("custom_refund") is None:
            self.add_error("custom_refund", _t("Enter the amount to refund."))
        return cleaned


def _plan_choices(products: list[Any], subscription: Subscription) -> list[tuple[str, str]]:
    """The recurring plans of ``products`` with the unit price this account would pay."""
    choices = []
    today = timezone.localdate()
    plans = ProductPlan.objects.filter(product__in=products).select_related("product")
    for plan in plans.order_by("product__name", "position", "pk"):
        if not plan.is_recurring:
            continue
        try:
            quote = quote_for_account(
                subscription.account,
                product=plan.product,
                plan=plan,
                quantity=subscription.quantity,
                on_date=today,
            )
            price = f"{quote.final_unit_price.normalize():f} {subscription.currency}"
        except ValidationError:
            price = _t("no price in %(currency)s") % {"currency": subscription.currency}
        choices.append((str(plan.pk), f"{plan.product.name} · {plan.label} · {price}"))
    return choices


class UpgradeForm(OperationForm):
    error_fields = {"target_product": "target_plan", "target_subscription": "destination"}

    target_plan = forms.ChoiceField(label=_("Upgrade to"))
    quantity = forms.IntegerField(label=_("Seats to move"), min_value=1)
    destination = forms.ChoiceField(
        label=_("Into"),
        required=False,
        help_text=_("A new subscription starting today, or an existing one of the account."),
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        subscription = self.subscription
        targets = upgrade_targets(subscription.product)
        self.fields["target_plan"].choices = _plan_choices(targets, subscription)
        self.fields["quantity"].initial = subscription.quantity
        self.fields["quantity"].max_value = subscription.quantity
        self.fields["quantity"].help_text = _t(
            "All %(count)d seats upgrade the whole subscription; fewer keep the rest here."
        ) % {"count": subscription.quantity}
        existing = (
            Subscription.objects.filter(
                account_id=subscription.account_id,
                product__in=targets,
                status=SubscriptionStatus.ACTIVE,
            )
            .exclude(pk=subscription.pk)
            .select_related("product")
            .order_by("number")
        )
        self.existing = {str(target.pk): target for target in existing}
        self.fields["destination"].choices = [("", _t("A new subscription"))] + [
            (
                key,
                f"{target.number} · {target.display_name} · {target.quantity} x "
                f"{target.final_unit_price.normalize():f} {target.currency}",
            )
            for key, target in self.existing.items()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        plan_pk = cleaned.get("target_plan")
        cleaned["plan"] = (
            ProductPlan.objects.select_related("product").filter(pk=plan_pk).first()
            if plan_pk
            else None
        )
        cleaned["target_subscription"] = self.existing.get(cleaned.get("destination") or "")
        return cleaned


class DowngradeForm(OperationForm):
    takes_effective_date = False
    error_fields = {"target_product": "target_plan", "renewal_value": "target_plan"}

    target_plan = forms.ChoiceField(
        label=_("Downgrade to"), help_text=_("Takes effect at the end of the term.")
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        targets = downgrade_targets(self.subscription.product)
        self.fields["target_plan"].choices = _plan_choices(targets, self.subscription)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        plan_pk = cleaned.get("target_plan")
        cleaned["plan"] = (
            ProductPlan.objects.select_related("product").filter(pk=plan_pk).first()
            if plan_pk
            else None
        )
        return cleaned


class ConfirmForm(OperationForm):
    """Operations that need nothing but the moment they take effect."""


class SuspendForm(OperationForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


class PriceProtectionForm(OperationForm):
    until = forms.DateField(
        label=_("Protected until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Exclusive; empty turns protection off. No unit or billing changes before it."),
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["until"].initial = (
            self.subscription.price_protected_until or self.subscription.term_end
        )


class SubscriptionSettingsForm(forms.Form):
    proration_method = forms.ChoiceField(
        label=_("Proration"),
        choices=ProrationMethod.choices,
        widget=forms.RadioSelect,
        help_text=_("How partial periods are charged; a product type may override it."),
    )
    suspension_stops_billing = forms.BooleanField(
        label=_("Suspended subscriptions are not billed"),
        required=False,
        help_text=_(
            "Off: suspension only stops provisioning and billing goes on. "
            "On: the billing run skips suspended subscriptions."
        ),
    )
    trial_notice_days = forms.CharField(
        label=_("Trial ending notices (days before the end)"),
        max_length=40,
        help_text=_("Comma-separated, e.g. 7,3,1. None is sent in the first half of a trial."),
    )


class BulkPriceProtectionForm(forms.Form):
    until = forms.DateField(
        label=_("Protected until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty = each subscription's next renewal."),
    )
