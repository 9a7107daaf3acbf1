"""Setup > Customers: address validation, document types and sizes, file space per user."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import CustomerSettingsForm, UserFileQuotaForm
from accounts.models import UserFileQuota
from accounts.selectors import customer_settings
from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires


def _page(
    request: HttpRequest, form: CustomerSettingsForm, quota_form: UserFileQuotaForm
) -> HttpResponse:
    current = customer_settings()
    return render(
        request,
        "accounts/settings.html",
        {
            "form": form,
            "quota_form": quota_form,
            "quotas": UserFileQuota.objects.select_related("user"),
            "history": audit_trail(current)[:20],
            "setup_page": True,
        },
        status=400 if form.errors or quota_form.errors else 200,
    )


@requires("setup", "manage")
def customer_settings_page(request: HttpRequest) -> HttpResponse:
    current = customer_settings()
    form = CustomerSettingsForm.for_settings(current, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Customer settings saved."))
            return redirect("accounts:settings")
    return _page(request, form, UserFileQuotaForm())


@require_POST
@requires("setup", "manage")
def user_file_quota(request: HttpRequest) -> HttpResponse:
    quota_form = UserFileQuotaForm(request.POST)
    if quota_form.is_valid():
        try:
            services.user_file_quota_set(
                actor=request.user,
                user=quota_form.cleaned_data["user"],
                limit_mb=quota_form.cleaned_data["limit_mb"],
            )
        except ValidationError as error:
            apply_validation_error(quota_form, error)
        else:
            messages.success(request, _t("File space saved."))
            return redirect("accounts:settings")
    return _page(request, CustomerSettingsForm.for_settings(customer_settings()), quota_form)
