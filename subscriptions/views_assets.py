"""Asset pages: the list, the detail page with its pricing edit and cancel dialogs.

Assets belong to accounts, so every read goes through record visibility; an asset the
user may not see answers 404. Writes call ``subscriptions.assets`` services only.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.money import format_money, quantize
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import can_access, get_visible_or_404
from bss.setup.fields.forms import CustomFieldsFormMixin
from bss.setup.fields.selectors import custom_field_sections
from bss.setup.fields.values import account_context_of, rule_matches
from catalogue.models import Product
from subscriptions import assets
from subscriptions.models import Asset, AssetStatus


def asset_url(asset: Asset) -> str:
    return reverse("assets:detail", kwargs={"pk": asset.pk})


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


EXPIRY_WINDOWS = (30, 60, 90, 365)


class AssetFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=AssetStatus.choices)
    product = django_filters.ModelChoiceFilter(
        label=_("Product"),
        queryset=Product.objects.filter(
            pk__in=Asset.objects.values("product_id").distinct()
        ).order_by("name"),
    )
    account = django_filters.CharFilter(
        label=_("Account"), method="filter_account", help_text=_("Name or number")
    )
    expires_within = django_filters.ChoiceFilter(
        label=_("Expires within"),
        choices=lambda: [
            (str(days), ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in EXPIRY_WINDOWS
        ],
        method="filter_expires_within",
    )
    expiration_date = django_filters.DateFromToRangeFilter(
        label=_("Expires between"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    purchase_date = django_filters.DateFromToRangeFilter(
        label=_("Purchase date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Asset
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(Q(account__name__icontains=term) | Q(account__number__iexact=term))

    def filter_expires_within(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Active assets expiring from today up to ``value`` days ahead."""
        today = timezone.localdate()
        return queryset.filter(
            status=AssetStatus.ACTIVE,
            expiration_date__gte=today,
            expiration_date__lte=today + timedelta(days=int(value)),
        )


class AssetListView(RecordListView):
    model = Asset
    permission_module = "assets"
    title = _("Assets")
    filterset_class = AssetFilter
    search_fields = ("code", "account__name", "account__number", "product__name")
    search_placeholder = _("Code, account or product")
    default_sort = "-purchase_date"
    columns = [
        Column("code", _("Code"), sort="code", link=True, css="text-nowrap"),
        Column("account.name", _("Account"), sort="account__name"),
        Column("product.name", _("Product"), sort="product__name"),
        Column("quantity", _("Quantity"), sort="quantity", css="text-end"),
        Column(
            "unit_price",
            _("Unit price"),
            sort="unit_price",
            value=lambda asset: format_money(asset.unit_price, asset.currency, _locale()),
            css="text-end text-nowrap",
        ),
        Column("purchase_date", _("Purchase date"), sort="purchase_date"),
        Column("expiration_date", _("Expires"), sort="expiration_date"),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda a: a.get_status_display()
        ),
    ]

    def base_queryset(self) -> Any:
        return Asset.objects.select_related("account", "product")


class AssetPricingForm(forms.Form):
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=18, decimal_places=4, min_value=0
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"), max_digits=7, decimal_places=4, min_value=0, max_value=100
    )


class AssetEditForm(CustomFieldsFormMixin, forms.Form):
    """The expiration date of an active asset and the custom fields of any asset.

    A canceled or expired asset shows its expiration date disabled: only its custom
    fields can change (the service refuses the rest as well).
    """

    custom_field_entity = assets.ASSET_ENTITY

    expiration_date = forms.DateField(
        label=_("Expiration date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty = the asset does not expire."),
    )

    def __init__(self, data: Any = None, *, asset: Asset, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.asset = asset
        self.is_read_only = asset.status != AssetStatus.ACTIVE
        expiry = self.fields["expiration_date"]
        expiry.initial = asset.expiration_date
        if self.is_read_only:
            expiry.disabled = True
            expiry.help_text = _t("Read-only: the asset is %(status)s.") % {
                "status": asset.get_status_display()
            }
        self.add_custom_fields(stored=dict(asset.custom_data or {}))
        self._drop_fields_hidden_for(account_context_of(asset.account))

    def _drop_fields_hidden_for(self, context: dict[str, Any]) -> None:
        """The account never changes here: a field its display rule hides is not offered,
        and its stored value is left alone."""
        shown = []
        for custom_field in self.custom_fields:
            if rule_matches(custom_field.display_rule, context):
                shown.append(custom_field)
            else:
                del self.fields[custom_field.filter_name]
        self.custom_fields = shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_custom_data(
            account_context=account_context_of(self.asset.account),
            existing=dict(self.asset.custom_data or {}),
        )
        return cleaned

    def show_error(self, error: ValidationError) -> None:
        """The service names custom fields by key and a forbidden change by "status"."""
        if hasattr(error, "error_dict"):
            names = {field.code: field.filter_name for field in self.custom_fields}
            names["status"] = "expiration_date"
            error = ValidationError(
                {names.get(key, key): value for key, value in error.error_dict.items()}
            )
        apply_validation_error(self, error)


class AssetCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


def _asset(request: HttpRequest, pk: int, access: str = "view") -> Asset:
    return get_visible_or_404(
        Asset.objects.select_related("account", "billing_account", "product", "plan"),
        request.user,
        access,  # type: ignore[arg-type]
        pk=pk,
    )


def _render_detail(request: HttpRequest, asset: Asset, **forms_in: Any) -> HttpResponse:
    user = request.user
    may_edit_record = can_access(asset, user, "edit")
    is_active = asset.status == AssetStatus.ACTIVE and may_edit_record
    gross = quantize(asset.unit_price * asset.quantity, asset.currency)
    discount = quantize(gross * asset.discount_percent / Decimal(100), asset.currency)
    context = {
        "asset": asset,
        "locale": _locale(),
        "pricing_form": forms_in.get("pricing_form")
        or AssetPricingForm(
            initial={"unit_price": asset.unit_price, "discount_percent": asset.discount_percent}
        ),
        "cancel_form": forms_in.get("cancel_form") or AssetCancelForm(),
        "may_edit_pricing": is_active and user_has_permission(user, "assets", "edit_pricing"),
        "may_cancel": is_active and user_has_permission(user, "assets", "edit"),
        "may_edit": may_edit_record and user_has_permission(user, "assets", "edit"),
        "custom_sections": custom_field_sections(
            assets.ASSET_ENTITY,
            asset.custom_data,
            account_context=account_context_of(asset.account),
        ),
        "unit_price_text": format_money(asset.unit_price, asset.currency, _locale()),
        "amount_text": format_money(gross, asset.currency, _locale()),
        "discount_text": format_money(discount, asset.currency, _locale()) if discount else "",
    }
    return render(request, "subscriptions/assets/detail.html", context)


@requires("assets", "view")
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _asset(request, pk))


@require_POST
@requires("assets", "edit_pricing")
def asset_edit_pricing(request: HttpRequest, pk: int) -> HttpResponse:
    asset = _asset(request, pk, "edit")
    form = AssetPricingForm(request.POST)
    if form.is_valid():
        try:
            assets.asset_edit_pricing(
                actor=request.user,
                asset=asset,
                unit_price=form.cleaned_data["unit_price"],
                discount_percent=form.cleaned_data["discount_percent"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                _t("The pricing of %(code)s changed: the old price is credited, the new billed.")
                % {"code": asset.code},
            )
            return redirect(asset_url(asset))
    return _render_detail(request, asset, pricing_form=form)


@require_POST
@requires("assets", "edit")
def asset_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    asset = _asset(request, pk, "edit")
    form = AssetCancelForm(request.POST)
    if form.is_valid():
        try:
            assets.asset_cancel(actor=request.user, asset=asset, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Asset %(code)s is canceled.") % {"code": asset.code})
            return redirect(asset_url(asset))
    return _render_detail(request, asset, cancel_form=form)


@requires("assets", "edit")
def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    asset = _asset(request, pk, "edit")
    form = AssetEditForm(request.POST or None, asset=asset)
    if request.method == "POST" and form.is_valid():
        try:
            assets.asset_update(
                actor=request.user,
                asset=asset,
                expiration_date=form.cleaned_data["expiration_date"],
                custom_data=form.custom_data_input,
            )
        except ValidationError as error:
            form.show_error(error)
        else:
            messages.success(request, _t("Asset %(code)s saved.") % {"code": asset.code})
            return redirect(asset_url(asset))
    return render(request, "subscriptions/assets/edit.html", {"asset": asset, "form": form})
