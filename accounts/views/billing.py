"""Price lists and rebates of an account."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import PriceListAssignForm, RebateTermForm, RebateTierFormSet, tiers_from
from accounts.models import Account, PriceListAssignment, RebateTerm
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from bss.core.visibility import get_visible_or_404


def _billing_tab(account: Account) -> str:
    return f"{reverse('accounts:detail', kwargs={'pk': account.pk})}?tab=billing"


@require_POST
@requires("accounts", "edit")
def price_list_assign(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=account_pk)
    form = PriceListAssignForm(request.POST, account=account, user=request.user)
    if form.is_valid():
        try:
            services.price_list_assign(
                actor=request.user, account=account, price_list=form.cleaned_data["price_list"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _t("Price list %(name)s assigned; it prices new subscriptions from now on.")
                % {"name": form.cleaned_data["price_list"].name},
            )
    else:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
    return redirect(_billing_tab(account))


@require_POST
@requires("accounts", "edit")
def price_list_deassign(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_visible_or_404(
        PriceListAssignment.objects.select_related("account", "price_list"),
        request.user,
        "edit",
        pk=pk,
    )
    services.price_list_deassign(actor=request.user, assignment=assignment)
    messages.success(
        request,
        _t("Price list %(name)s de-assigned; existing subscriptions keep their prices.")
        % {"name": assignment.price_list.name},
    )
    return redirect(_billing_tab(assignment.account))


def _rebate_page(request: HttpRequest, account: Account, term: RebateTerm | None) -> HttpResponse:
    if term is not None and request.method != "POST":
        form = RebateTermForm(
            initial={
                "applies_to": term.applies_to,
                "period": term.period,
                "mode": term.mode,
                "products": list(term.products.values_list("pk", flat=True)),
            }
        )
        tiers = RebateTierFormSet(
            initial=[
                {
                    "from_amount": tier.from_amount,
                    "to_amount": tier.to_amount,
                    "percent": tier.percent,
                }
                for tier in term.tiers.order_by("from_amount")
            ],
            prefix="tiers",
        )
    else:
        form = RebateTermForm(request.POST or None)
        tiers = RebateTierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        data = form.cleaned_data
        try:
            services.rebate_term_save(
                actor=request.user,
                account=account,
                term=term,
                applies_to=data["applies_to"],
                period=data["period"],
                mode=data["mode"],
                products=list(data["products"]),
                tiers=tiers_from(tiers),
            )
        except ValidationError as error:
            # Tier problems ("tiers") are not a field of the form: they show above it.
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Rebate term saved."))
            return redirect(_billing_tab(account))
    return render(
        request,
        "accounts/rebate_form.html",
        {"form": form, "tiers": tiers, "account": account, "term": term},
        status=400 if form.errors else 200,
    )


@requires("accounts", "edit")
def rebate_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=account_pk)
    return _rebate_page(request, account, None)


@requires("accounts", "edit")
def rebate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    term = get_visible_or_404(
        RebateTerm.objects.select_related("account"), request.user, "edit", pk=pk
    )
    return _rebate_page(request, term.account, term)


@require_POST
@requires("accounts", "edit")
def rebate_delete(request: HttpRequest, pk: int) -> HttpResponse:
    term = get_visible_or_404(
        RebateTerm.objects.select_related("account"), request.user, "edit", pk=pk
    )
    account = term.account
    services.rebate_term_delete(actor=request.user, term=term)
    messages.success(request, _t("Rebate term deleted."))
    return redirect(_billing_tab(account))
