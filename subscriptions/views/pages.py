"""Subscription pages: the list, the subscription page and the account page's tabs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.models import Account
from bss.core.listing import BulkAction, Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import can_access, get_visible_or_404, visible_records
from bss.setup.fields.selectors import custom_field_sections
from catalogue.models import Product
from subscriptions import services
from subscriptions.forms import BulkPriceProtectionForm
from subscriptions.models import (
    Asset,
    BillingMethod,
    ExternalPricingStatus,
    FutureRequest,
    ProvisioningStatus,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.registry import subscription_panels
from subscriptions.views.operations import available_operations


def subscription_queryset() -> QuerySet[Subscription]:
    return Subscription.objects.select_related(
        "account", "billing_account", "product__product_type", "plan", "price_list", "parent"
    )


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=SubscriptionStatus.choices)
    product = django_filters.ModelChoiceFilter(
        label=_("Product"), queryset=Product.objects.order_by("name")
    )
    account = django_filters.CharFilter(
        label=_("Account"), method="filter_account", help_text=_("Name or number")
    )
    term_end = django_filters.DateFromToRangeFilter(
        label=_("Renews between"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    external_pricing_status = django_filters.ChoiceFilter(
        label=_("External pricing"),
        choices=[
            ("none", _("Not externally priced")),
            (ExternalPricingStatus.SUCCESSFUL, ExternalPricingStatus.SUCCESSFUL.label),
            (ExternalPricingStatus.FAILED, ExternalPricingStatus.FAILED.label),
        ],
        method="filter_external_pricing",
    )
    billing_method = django_filters.ChoiceFilter(
        label=_("Billing method"), choices=BillingMethod.choices
    )
    provisioning_status = django_filters.ChoiceFilter(
        label=_("Provisioning"), choices=ProvisioningStatus.choices
    )

    class Meta:
        model = Subscription
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(Q(account__name__icontains=term) | Q(account__number__iexact=term))

    def filter_external_pricing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(external_pricing_status="" if value == "none" else value)


def _protect_price(actor: Any, subscription: Subscription, params: dict[str, Any]) -> None:
    services.subscription_set_price_protection(
        actor=actor,
        subscription=subscription,
        until=params.get("until") or subscription.term_end,
    )


COLUMNS = [
    Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
    Column("display_name", _("Name"), sort="friendly_name", link=True),
    Column("account.name", _("Account"), sort="account__name"),
    Column("product.name", _("Product"), sort="product__name"),
    Column("plan.label", _("Plan")),
    Column("quantity", _("Quantity"), sort="quantity", css="text-end"),
    Column(
        "final_unit_price",
        _("Final unit price"),
        sort="final_unit_price",
        value=lambda s: f"{s.final_unit_price.normalize():f} {s.currency}",
        css="text-end text-nowrap",
    ),
    Column(
        "status", _("Status"), sort="status", badge=True, value=lambda s: s.get_status_display()
    ),
    Column("term_end", _("Next renewal"), sort="term_end"),
    Column("auto_renew", _("Auto-renew")),
    Column(
        "billing_method",
        _("Billing method"),
        sort="billing_method",
        value=lambda s: s.get_billing_method_display(),
    ),
    Column(
        "external_pricing_status",
        _("External pricing"),
        sort="external_pricing_status",
        value=lambda s: (
            s.get_external_pricing_status_display() if s.external_pricing_status else ""
        ),
    ),
]


class SubscriptionListView(RecordListView):
    model = Subscription
    permission_module = "subscriptions"
    title = _("Subscriptions")
    filterset_class = SubscriptionFilter
    search_fields = ("number", "friendly_name", "account__name", "account__number", "product__name")
    search_placeholder = _("Number, name, account or product")
    default_sort = "-pk"
    bulk_actions = [
        BulkAction(
            "price_protection",
            _("Activate price protection"),
            ("subscriptions", "price_protection"),
            _protect_price,
            confirm=_("Protect the price of the selected subscriptions?"),
            form_class=BulkPriceProtectionForm,
        )
    ]

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.columns = COLUMNS + [
            Column(
                f"custom_data.{field.code}",
                field.label,
                value=lambda record, field=field: field.display(
                    (record.custom_data or {}).get(field.code)
                ),
            )
            for field in self.custom_fields()
        ]

    def base_queryset(self) -> QuerySet:
        return Subscription.objects.select_related("account", "product", "plan")

    def export_columns(self) -> list[Column]:
        """The page's columns (custom fields included), plus the external pricing details."""
        return [
            *self.columns,
            Column("external_pricing_failure_reason", _("External pricing failure reason")),
            Column("external_pricing_first_failure", _("External pricing failure since")),
            Column("current_period_start", _("Current period start")),
            Column(
                "current_period_end",
                _("Current period end"),
                value=lambda s: s.current_period_end - timedelta(days=1),
            ),
        ]


def _visible_subscription(request: HttpRequest, pk: int, access: str = "view") -> Subscription:
    return get_visible_or_404(subscription_queryset(), request.user, access, pk=pk)


@requires("subscriptions", "view")
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _visible_subscription(request, pk)
    user = request.user
    may_edit = can_access(subscription, user, "edit")
    changes = list(
        subscription.changes.select_related("actor", "related_subscription").order_by(
            "-effective_at", "-pk"
        )[:200]
    )
    requests = list(
        FutureRequest.objects.filter(subscription=subscription)
        .select_related("created_by", "revoked_by")
        .order_by("-created_at", "-pk")[:50]
    )
    context = {
        "subscription": subscription,
        "addons": list(subscription.addons.select_related("product", "plan").order_by("number")),
        "components": list(
            subscription.components.select_related("product", "plan").order_by("number")
        ),
        "future_requests": requests,
        "may_revoke_requests": may_edit and user_has_permission(user, "subscriptions", "edit"),
        "changes": changes,
        "operations": available_operations(subscription, user) if may_edit else [],
        "custom_sections": custom_field_sections(
            "subscription", subscription.custom_data, account_context=None
        ),
        "panels": _panels_html(request, subscription),
        "today": timezone.localdate(),
    }
    return render(request, "subscriptions/detail.html", context)


def _panels_html(request: HttpRequest, subscription: Subscription) -> list[tuple[Any, str, str]]:
    shown = []
    for panel in subscription_panels():
        if user_has_permission(request.user, panel.module, panel.action):
            html = panel.render(request, subscription)
            if html:
                shown.append((panel.key, panel.label, mark_safe(html)))
    return shown


@require_POST
@requires("subscriptions", "edit")
def future_request_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(FutureRequest.objects.only("subscription_id"), pk=pk)
    subscription = _visible_subscription(request, found.subscription_id, "edit")
    try:
        services.future_request_revoke(actor=request.user, request=found)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _t("The request for the renewal is revoked."))
    return redirect(f"{subscription.get_absolute_url()}#future-requests")


# ----------------------------------------------------------------------- account page


def account_subscriptions_tab(request: HttpRequest, account: Account) -> str:
    """The account page's subscriptions: live ones first, then the ended ones."""
    subscriptions = visible_records(
        Subscription.objects.filter(account=account).select_related("product", "plan"),
        request.user,
    ).order_by("status", "-pk")
    rows = sorted(subscriptions[:100], key=lambda s: (not s.is_live, -s.pk))
    return render_to_string(
        "subscriptions/partials/account_subscriptions.html",
        {
            "account": account,
            "subscriptions": rows,
            "list_url": f"{reverse('subscriptions:list')}?account={account.number}",
        },
        request=request,
    )


def account_assets_tab(request: HttpRequest, account: Account) -> str:
    assets = visible_records(
        Asset.objects.filter(account=account).select_related("product", "plan"), request.user
    ).order_by("-purchase_date", "-pk")[:100]
    return render_to_string(
        "subscriptions/partials/account_assets.html",
        {
            "account": account,
            "assets": list(assets),
            "list_url": f"{reverse('assets:list')}?account={account.number}",
        },
        request=request,
    )
