"""Setup > Subscription settings: proration, suspension and billing, trial notices."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t

from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from subscriptions.forms import SubscriptionSettingsForm
from subscriptions.services import subscription_settings
from subscriptions.settings_services import subscription_settings_update


@requires("setup", "manage")
def subscription_settings_page(request: HttpRequest) -> HttpResponse:
    current = subscription_settings()
    initial = {
        "proration_method": current.proration_method,
        "suspension_stops_billing": current.suspension_stops_billing,
        "trial_notice_days": current.trial_notice_days,
    }
    form = SubscriptionSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Subscription settings saved."))
            return redirect("subscriptions:settings")
    return render(
        request,
        "subscriptions/settings.html",
        {
            "form": form,
            "history": audit_trail(current)[:20],
            "setup_page": True,
        },
        status=400 if form.errors else 200,
    )
