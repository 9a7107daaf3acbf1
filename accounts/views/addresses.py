"""Addresses of an account: add, edit and delete, checked per country as Setup says."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from accounts.addresses import SavedAddress, address_create, address_delete, address_update
from accounts.forms import AddressForm
from accounts.models import Account, Address
from accounts.selectors import address_validation_mode
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from bss.core.visibility import get_visible_or_404


def _report(request: HttpRequest, saved: SavedAddress, message: str) -> None:
    messages.success(request, message)
    for warning in saved.warnings:
        messages.warning(
            request, _t("Address saved with a problem: %(problem)s") % {"problem": warning}
        )


def _page(
    request: HttpRequest, form: AddressForm, account: Account, address: Address | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "account": account,
        "address": address,
        "mode": address_validation_mode(),
    }
    return render(
        request, "accounts/address_form.html", context, status=400 if form.errors else 200
    )


@requires("accounts", "edit")
def account_address_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=account_pk)
    initial = {"country_code": account.country, "company_name": account.name}
    if not account.addresses.filter(kind=Address.Kind.BILLING).exists():
        initial["kind"] = Address.Kind.BILLING
    else:
        initial["kind"] = Address.Kind.OTHER
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = address_create(actor=request.user, account=account, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _report(request, saved, _t("Address added."))
            return redirect(account)
    return _page(request, form, account, None)


@requires("accounts", "edit")
def address_edit(request: HttpRequest, pk: int) -> HttpResponse:
    address = get_visible_or_404(
        Address.objects.select_related("account"), request.user, "edit", pk=pk
    )
    form = AddressForm(request.POST or None, instance=Address.objects.get(pk=address.pk))
    if request.method == "POST" and form.is_valid():
        try:
            saved = address_update(actor=request.user, address=address, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _report(request, saved, _t("Address saved."))
            return redirect(address.account)
    return _page(request, form, address.account, address)


@require_POST
@requires("accounts", "edit")
def address_remove(request: HttpRequest, pk: int) -> HttpResponse:
    address = get_visible_or_404(
        Address.objects.select_related("account"), request.user, "edit", pk=pk
    )
    account = address.account
    address_delete(actor=request.user, address=address)
    messages.success(request, _t("Address deleted."))
    return redirect(account)
