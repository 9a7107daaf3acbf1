"""Forms of the Orders pages; the line form is shared with offers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from bss.core.visibility import visible_records
from bss.setup.fields.forms import CustomFieldsFormMixin
from bss.setup.fields.values import account_context_of
from bss.setup.rules.selectors import rules_usable_by
from catalogue.models import PriceList, ProductPlan, ProductStatus
from orders.models import ItemAction, Order, OrderStatus, StatusType, StorefrontType
from orders.selectors import LIVE_SUBSCRIPTION_STATUSES
from subscriptions.models import Subscription

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def plan_choices_queryset() -> Any:
    return (
        ProductPlan.objects.filter(product__status=ProductStatus.ACTIVE)
        .select_related("product")
        .order_by("product__name", "position", "pk")
    )


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ProductPlan) -> str:
        return f"{obj.product.name} · {obj.label}"


class RecordFormMixin(CustomFieldsFormMixin):
    """Account, billing-to, price list and permission rule of an order or offer."""

    def setup_record_fields(self, *, user: Any, instance: Any) -> None:
        accounts = visible_records(Account.objects.all(), user).order_by("name")
        self.fields["account"].queryset = accounts
        self.fields["billing_account"].queryset = accounts
        self.fields["billing_account"].required = False
        self.fields["billing_account"].help_text = _(
            "Empty: the account's billing account (a reseller for its clients) or the account."
        )
        self.fields["price_list"].queryset = visible_records(
            PriceList.objects.filter(is_active=True), user
        ).order_by("name")
        entity = self.custom_field_entity
        self.fields["permission_rule"].queryset = rules_usable_by(user, entity)
        if instance is not None and instance.pk:
            self.fields["account"].disabled = True
        self.add_custom_fields(
            stored=dict(instance.custom_data or {})
            if instance is not None and instance.pk
            else None
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}  # type: ignore[misc]
        account = cleaned.get("account")
        existing = getattr(self, "instance", None)
        self.clean_custom_data(
            account_context=account_context_of(account),
            existing=dict(existing.custom_data or {})
            if existing is not None and existing.pk
            else None,
        )
        return cleaned


class OrderForm(RecordFormMixin, forms.ModelForm):
    custom_field_entity = "order"

    class Meta:
        model = Order
        fields = [
            "account",
            "billing_account",
            "name",
            "price_list",
            "order_date",
            "permission_rule",
            "notes",
        ]
        widgets = {"order_date": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Empty: the account name and the order number.")
        self.fields["order_date"].initial = timezone.localdate()
        self.setup_record_fields(user=user, instance=self.instance)

    def _post_clean(self) -> None:
        """The service validates the order."""

    def service_arguments(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self._meta.fields}
        data["name"] = data.get("name") or ""
        data["notes"] = data.get("notes") or ""
        data["custom_data"] = self.custom_data_input
        return data


class LineForm(forms.Form):
    """One line of an order or offer: the plan names the product."""

    plan = PlanChoiceField(label=_("Product and plan"), queryset=ProductPlan.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        max_digits=14,
        decimal_places=4,
        help_text=_("Empty: the price list's price. A different price needs the permission."),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"), min_value=0, max_value=100, decimal_places=2, initial=0
    )
    friendly_name = forms.CharField(label=_("Friendly name"), required=False, max_length=200)
    parent_item = forms.TypedChoiceField(
        label=_("Add-on of"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, lines: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plan_choices_queryset()
        self.fields["parent_item"].choices = [("", "—")] + [
            (line.pk, f"#{line.position} {line.product.name}")
            for line in lines
            if line.parent_item_id is None
        ]


class SubscriptionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Subscription) -> str:
        return f"{obj.number} · {obj.product.name} × {obj.quantity}"  # noqa: RUF001 - a times sign


class OrderItemForm(LineForm):
    action = forms.ChoiceField(label=_("Action"), choices=ItemAction.choices, initial="new")
    target_subscription = SubscriptionChoiceField(
        label=_("Subscription to change"),
        required=False,
        queryset=Subscription.objects.none(),
        help_text=_(
            "For quantity changes, upgrades, renewals and cancellations; for a new add-on, "
            "the existing subscription it attaches to."
        ),
    )
    start_date = forms.DateField(label=_("Start date"), required=False, widget=DATE_INPUT)

    def __init__(self, *args: Any, account: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if account is not None:
            self.fields["target_subscription"].queryset = (
                Subscription.objects.filter(account=account, status__in=LIVE_SUBSCRIPTION_STATUSES)
                .select_related("product")
                .order_by("number")
            )


class OrderStatusForm(forms.ModelForm):
    class Meta:
        model = OrderStatus
        fields = [
            "name",
            "status_type",
            "storefront_type",
            "is_active",
            "is_default",
            "color",
            "position",
        ]
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.system_key:
            for name in ("status_type", "storefront_type", "is_active"):
                self.fields[name].disabled = True

    def _post_clean(self) -> None:
        """The service validates the status."""

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class StatusChangeForm(forms.Form):
    status = forms.ModelChoiceField(label=_("Status"), queryset=OrderStatus.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].queryset = (
            OrderStatus.objects.filter(is_active=True)
            .exclude(status_type=StatusType.AUTOMATIC_EXECUTE)
            .exclude(status_type=StatusType.IN_PROGRESS, storefront_type=StorefrontType.DRAFT)
            .order_by("position", "pk")
        )


class ExecuteForm(forms.Form):
    start_date = forms.DateField(label=_("Subscriptions start on"), widget=DATE_INPUT)
    invoice_date = forms.DateField(
        label=_("First invoice date"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Empty: the start date."),
    )
    override_credit = forms.BooleanField(
        label=_("Execute even if the credit limit is exceeded"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_date"].initial = timezone.localdate()
