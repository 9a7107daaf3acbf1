"""Trial pages: the list of running trials, start one, extend it, upgrade it to paid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404, visible_records
from subscriptions import trials
from subscriptions.forms_lifecycle import TrialCreateForm, TrialExtendForm, TrialUpgradeForm
from subscriptions.models import Subscription, SubscriptionStatus


def subscription_url(subscription: Subscription) -> str:
    """The subscription page where it exists, else the account page."""
    try:
        return subscription.get_absolute_url()
    except NoReverseMatch:
        return subscription.account.get_absolute_url()


def _trial_or_404(request: HttpRequest, pk: int) -> Subscription:
    return get_visible_or_404(
        Subscription.objects.select_related("account", "product", "plan"),
        request.user,
        "edit",
        pk=pk,
        status=SubscriptionStatus.TRIAL,
    )


class TrialListView(RecordListView):
    model = Subscription
    permission_module = "subscriptions"
    title = _("Trial subscriptions")
    search_fields = ("number", "account__name", "product__name")
    search_placeholder = _("Number, account or product")
    default_sort = "trial_end"
    columns = [
        Column("number", _("Number"), sort="number"),
        Column("account.name", _("Account"), sort="account__name"),
        Column("product.name", _("Product"), sort="product__name"),
        Column("quantity", _("Quantity"), sort="quantity", css="text-end"),
        Column("start_date", _("Trial start"), sort="start_date"),
        Column(
            "trial_last_day",
            _("Last day"),
            sort="trial_end",
            value=lambda s: s.trial_end and s.trial_end - timedelta(days=1),
        ),
        Column(
            "days_remaining",
            _("Days remaining"),
            css="text-end",
            value=lambda s: trials.days_remaining(s),
        ),
    ]

    def base_queryset(self) -> Any:
        return Subscription.objects.filter(status=SubscriptionStatus.TRIAL).select_related(
            "account", "product"
        )

    def extra_context(self) -> dict[str, Any]:
        return {
            "create_url": reverse("lifecycle:trial_create")
            if user_has_permission(self.request.user, "subscriptions", "create")
            else ""
        }


@requires("subscriptions", "create")
def trial_create(request: HttpRequest) -> HttpResponse:
    accounts = visible_records(Account.objects.all(), request.user, "edit").order_by("name")
    initial = {}
    for name in ("account", "plan"):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = int(value)
    form = TrialCreateForm(
        request.POST or None,
        initial=initial,
        accounts=accounts,
        may_backdate=user_has_permission(request.user, "subscriptions", "backdate"),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        plan = data["plan"]
        try:
            subscription = trials.trial_create(
                actor=request.user,
                account=data["account"],
                product=plan.product,
                plan=plan,
                quantity=data["quantity"],
                start_date=data["start_date"],
                friendly_name=data["friendly_name"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                _t("Trial %(number)s started; it runs until %(day)s.")
                % {
                    "number": subscription.number,
                    "day": subscription.trial_end - timedelta(days=1),
                },
            )
            return redirect(subscription_url(subscription))
    return render(
        request,
        "subscriptions/trials/form.html",
        {"form": form, "title": _t("Start a trial"), "subscription": None},
        status=400 if form.errors else 200,
    )


@requires("subscriptions", "edit")
def trial_extend(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _trial_or_404(request, pk)
    form = TrialExtendForm(request.POST or None, initial={"new_end": subscription.trial_end})
    if request.method == "POST" and form.is_valid():
        try:
            trials.trial_extend(
                actor=request.user, subscription=subscription, new_end=form.cleaned_data["new_end"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Trial extended."))
            return redirect(subscription_url(subscription))
    return render(
        request,
        "subscriptions/trials/form.html",
        {"form": form, "title": _t("Extend the trial"), "subscription": subscription},
        status=400 if form.errors else 200,
    )


@requires("subscriptions", "edit")
def trial_upgrade(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _trial_or_404(request, pk)
    form = TrialUpgradeForm(
        request.POST or None,
        initial={"quantity": subscription.quantity, "friendly_name": subscription.friendly_name},
    )
    preview = None
    today = timezone.localdate()
    if subscription.trial_end and today < subscription.trial_end:
        try:
            quote = trials.trial_upgrade_quote(
                subscription, quantity=subscription.quantity, on=today
            )
        except ValidationError:
            quote = None  # the form's answer on submit says why
        if quote is not None:
            preview = {
                "start": quote.terms.period.start,
                "last_day": quote.terms.period.end - timedelta(days=1),
                "price": quote.terms.unit_price,
                "quantity": subscription.quantity,
                "first_period": quote.first_period.net,
                "setup_fee": quote.setup_fee_total,
                "total": quote.total,
                "currency": quote.currency,
            }
    if request.method == "POST" and form.is_valid():
        try:
            trials.trial_upgrade_to_paid(
                actor=request.user,
                subscription=subscription,
                quantity=form.cleaned_data["quantity"],
                friendly_name=form.cleaned_data["friendly_name"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("The trial is now a paid subscription."))
            return redirect(subscription_url(subscription))
    return render(
        request,
        "subscriptions/trials/form.html",
        {
            "form": form,
            "title": _t("Upgrade trial to paid"),
            "subscription": subscription,
            "preview": preview,
        },
        status=400 if form.errors else 200,
    )


def account_trials_panel(request: HttpRequest, account: Account) -> str:
    """The account page's "Trials" card: running trials and a link to start one."""
    running = list(
        Subscription.objects.filter(account=account, status=SubscriptionStatus.TRIAL)
        .select_related("product")
        .order_by("trial_end")[:10]
    )
    may_create = user_has_permission(request.user, "subscriptions", "create")
    if not running and not may_create:
        return ""
    return render_to_string(
        "subscriptions/trials/account_panel.html",
        {
            "account": account,
            "trials": [(trial, trials.days_remaining(trial)) for trial in running],
            "may_create": may_create,
            "may_edit": user_has_permission(request.user, "subscriptions", "edit"),
        },
        request=request,
    )
