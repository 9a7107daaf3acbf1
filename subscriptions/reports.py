"""Setup tool "Subscriptions - Quantity Change / Cancellation Report" (spec 4.6).

Built from the subscriptions' history rows over a timeframe: quantity increases and
decreases and full cancellations, of subscriptions, add-ons or both. The tools page
shows the rows as a grid and exports them to xlsx. Bundle components are left out: their
rows only mirror their bundle's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bss.core.tools import Progress, ToolResult, register_tool
from subscriptions.models import ChangeKind, SubscriptionChange

CHUNK = 500
MAX_DAYS = 3 * 366


class Scope:
    BOTH = "both"
    SUBSCRIPTIONS = "subscriptions"
    ADDONS = "addons"


class ChangeScope:
    BOTH = "both"
    QUANTITY = "quantity"
    CANCELLATION = "cancellation"


class QuantityReportForm(forms.Form):
    date_from = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("End date"), widget=forms.DateInput(attrs={"type": "date"}))
    include_increase = forms.BooleanField(
        label=_("Include increase quantity"), required=False, initial=True
    )
    include_decrease = forms.BooleanField(
        label=_("Include decrease quantity"), required=False, initial=True
    )
    scope = forms.ChoiceField(
        label=_("Subscriptions or add-ons"),
        choices=[
            (Scope.BOTH, _("Subscriptions and add-ons")),
            (Scope.SUBSCRIPTIONS, _("Subscriptions only")),
            (Scope.ADDONS, _("Add-ons only")),
        ],
        initial=Scope.BOTH,
    )
    change_scope = forms.ChoiceField(
        label=_("Quantity changes or cancellations"),
        choices=[
            (ChangeScope.BOTH, _("Quantity changes and full cancellations")),
            (ChangeScope.QUANTITY, _("Quantity changes only")),
            (ChangeScope.CANCELLATION, _("Full cancellations only")),
        ],
        initial=ChangeScope.BOTH,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (end - start).days > MAX_DAYS:
                self.add_error("date_to", _("Choose at most three years."))
        if not data.get("include_increase") and not data.get("include_decrease"):
            self.add_error("include_increase", _("Include increases, decreases or both."))
        return data


def report_changes(parameters: dict[str, Any]) -> QuerySet[SubscriptionChange]:
    changes = SubscriptionChange.objects.filter(
        effective_date__gte=parameters["date_from"],
        effective_date__lte=parameters["date_to"],
        subscription__bundle__isnull=True,
    )
    quantity = Q(kind=ChangeKind.QUANTITY)
    wanted = Q(pk__in=[])
    if parameters.get("include_increase"):
        wanted |= quantity & Q(new_quantity__gt=F("old_quantity"))
    if parameters.get("include_decrease"):
        wanted |= quantity & Q(new_quantity__lt=F("old_quantity"))
    cancellations = Q(kind=ChangeKind.CANCEL)
    change_scope = parameters.get("change_scope") or ChangeScope.BOTH
    if change_scope == ChangeScope.CANCELLATION:
        wanted = Q(pk__in=[])
    if change_scope != ChangeScope.QUANTITY and parameters.get("include_decrease"):
        wanted |= cancellations
    changes = changes.filter(wanted)
    scope = parameters.get("scope") or Scope.BOTH
    if scope == Scope.SUBSCRIPTIONS:
        changes = changes.filter(subscription__parent__isnull=True)
    elif scope == Scope.ADDONS:
        changes = changes.filter(subscription__parent__isnull=False)
    return changes.select_related(
        "subscription__account", "subscription__product", "subscription__parent"
    ).order_by("effective_date", "pk")


def change_type(change: SubscriptionChange) -> str:
    if change.kind == ChangeKind.CANCEL:
        return _t("Cancellation")
    if (change.new_quantity or 0) > (change.old_quantity or 0):
        return _t("Increase")
    return _t("Decrease")


def quantity_report(parameters: dict[str, Any], progress: Progress) -> ToolResult:
    changes = report_changes(parameters)
    progress.start(changes.count())
    rows: list[list[Any]] = []
    pending = 0
    for change in changes.iterator(chunk_size=CHUNK):
        subscription = change.subscription
        initial = change.old_quantity or 0
        final = change.new_quantity or 0
        rows.append(
            [
                subscription.account.name,
                subscription.number,
                _t("Add-on") if subscription.parent_id else _t("Subscription"),
                subscription.product.name,
                change.effective_date,
                initial,
                final - initial,
                final,
                change_type(change),
            ]
        )
        pending += 1
        if pending == CHUNK:
            progress.advance(pending)
            pending = 0
    progress.advance(pending)
    columns = [
        _t("Account"),
        _t("Subscription"),
        _t("Subscription or add-on"),
        _t("Product"),
        _t("Change date"),
        _t("Initial quantity"),
        _t("Changed quantity"),
        _t("Final quantity"),
        _t("Change type"),
    ]
    return columns, rows


def register() -> None:
    register_tool(
        code="subscriptions.quantity_report",
        title=_("Subscriptions - Quantity Change / Cancellation Report"),
        section=_("Other tools"),
        permission=("subscriptions", "view"),
        form_class=QuantityReportForm,
        run=quantity_report,
        description=_(
            "Quantity increases, decreases and full cancellations of subscriptions and "
            "add-ons over a timeframe, from their history."
        ),
    )
