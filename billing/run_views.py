"""Billing run pages: the list, the start form, a run's progress; generate on demand.

The run page polls its progress fragment with htmx every two seconds while the run is
queued or running; the account page's "Generate invoices" panel bills one account now.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.models import Account
from billing import runs, selectors
from billing.models import BillingRun, BillingRunAccount
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404

RUNS_PER_PAGE = 25
FAILED_SHOWN = 200


class RunStartForm(forms.Form):
    run_date = forms.DateField(label=_("Run date"), widget=forms.DateInput(attrs={"type": "date"}))
    dry_run = forms.BooleanField(label=_("Dry run (preview only, writes nothing)"), required=False)


class GenerateForm(forms.Form):
    up_to = forms.DateField(
        label=_("Invoice what is due by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    subscriptions = forms.TypedMultipleChoiceField(
        label=_("Subscriptions"), coerce=int, required=False
    )


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


@requires("invoices", "run_billing")
def run_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        BillingRun.objects.select_related("requested_by").order_by("-pk"), RUNS_PER_PAGE
    ).get_page(request.GET.get("page"))
    form = RunStartForm(initial={"run_date": timezone.localdate()})
    return render(request, "billing/run_list.html", {"page": page, "form": form})


@require_POST
@requires("invoices", "run_billing")
def run_start(request: HttpRequest) -> HttpResponse:
    form = RunStartForm(request.POST)
    if form.is_valid():
        try:
            run = runs.billing_run_start(
                actor=request.user,
                run_date=form.cleaned_data["run_date"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("%s is queued.") % run)
            return redirect(run.get_absolute_url())
    page = Paginator(BillingRun.objects.order_by("-pk"), RUNS_PER_PAGE).get_page(1)
    return render(request, "billing/run_list.html", {"page": page, "form": form}, status=400)


def _progress_context(run: BillingRun) -> dict[str, Any]:
    failed = list(
        BillingRunAccount.objects.filter(run=run, status=BillingRunAccount.Status.FAILED)
        .select_related("account")
        .order_by("account__number")[:FAILED_SHOWN]
    )
    shown = run.amounts if not run.is_active else runs.run_amounts(run)
    amounts = {code: Decimal(value) for code, value in shown.items()}
    return {"run": run, "failed": failed, "amounts": amounts, "locale": _locale()}


@requires("invoices", "run_billing")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BillingRun.objects.select_related("requested_by"), pk=pk)
    context = _progress_context(run)
    if request.headers.get("HX-Request"):
        return render(request, "billing/partials/run_progress.html", context)
    return render(request, "billing/run_detail.html", context)


@require_POST
@requires("invoices", "run_billing")
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BillingRun, pk=pk)
    try:
        runs.billing_run_cancel(actor=request.user, run=run)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _t("%s is canceled.") % run)
    return redirect(run.get_absolute_url())


# ------------------------------------------------------------------ generate on demand


def _generate_form(account: Account, data: Any = None) -> GenerateForm:
    form = GenerateForm(data, initial={"up_to": timezone.localdate()})
    subscriptions = account.billed_subscriptions.filter(status__in=runs.LIVE_STATUSES).order_by(
        "pk"
    )
    form.fields["subscriptions"].choices = [
        (subscription.pk, f"{subscription.number} {subscription.friendly_name}".strip())
        for subscription in subscriptions
    ]
    return form


def account_generate_panel(request: HttpRequest, account: Account) -> str:
    """The account page's "Generate invoices" card: what waits, and a button to bill now."""
    if account.billing_account_id or not user_has_permission(
        request.user, "invoices", "run_billing"
    ):
        return ""
    return render_to_string(
        "billing/partials/account_generate.html",
        {
            "account": account,
            "pending": list(selectors.pending_charges(account)[:50]),
            "planned": runs.uncharged_periods(account.pk),
            "form": _generate_form(account),
            "locale": _locale(),
        },
        request=request,
    )


@require_POST
@requires("invoices", "run_billing")
def account_generate(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, pk=pk)
    if account.billing_account_id:
        raise Http404("billed through another account")
    form = _generate_form(account, request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            messages.error(request, f"{label}: {' '.join(errors)}")
        return redirect(account.get_absolute_url())
    picked = form.cleaned_data["subscriptions"] or None
    try:
        bill = runs.invoices_generate(
            actor=request.user,
            billing_account_id=account.pk,
            up_to=form.cleaned_data["up_to"],
            subscription_ids=picked,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(account.get_absolute_url())
    if bill.invoices:
        numbers = ", ".join(str(invoice) for invoice in bill.invoices)
        messages.success(request, _t("Invoices generated: %s.") % numbers)
    else:
        messages.info(request, _t("Nothing was due: no invoice generated."))
    for reason in bill.held:
        messages.warning(request, reason)
    return redirect(account.get_absolute_url())
