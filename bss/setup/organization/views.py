"""Setup > Organization profile: the page, its edit form, and the logo behind a login."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t

from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.permissions import login_only, requires
from bss.setup.currencies.selectors import currency_by_code
from bss.setup.organization.forms import (
    OrganizationForm,
    date_format_choices,
    number_locale_choices,
)
from bss.setup.organization.selectors import file_space, organization
from bss.setup.organization.services import logo_content_type, organization_update


@requires("setup", "view")
def organization_profile(request: HttpRequest) -> HttpResponse:
    profile = organization()
    return render(
        request,
        "setup/organization/detail.html",
        {
            "subject": profile,
            "file_space": file_space(),
            "date_format_sample": dict(date_format_choices()).get(profile.date_format, ""),
            "number_format_sample": dict(number_locale_choices()).get(profile.number_locale, ""),
            "history": audit_trail(profile)[:20],
            "setup_page": True,
        },
    )


@requires("setup", "manage")
def organization_edit(request: HttpRequest) -> HttpResponse:
    profile = organization()
    form = OrganizationForm(request.POST or None, request.FILES or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        home_code = data.get("home_currency") or ""
        try:
            organization_update(
                actor=request.user,
                home_currency=currency_by_code(home_code) if home_code else None,
                logo=data.get("logo"),
                remove_logo=data["remove_logo"],
                **form.profile_changes(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Organization profile saved."))
            return redirect("setup:organization")
    return render(
        request,
        "setup/organization/form.html",
        {"form": form, "subject": profile, "setup_page": True},
        status=400 if form.errors else 200,
    )


@login_only
def organization_logo(request: HttpRequest) -> HttpResponse:
    """Every signed-in user sees the logo in the header; nobody gets a public URL to it."""
    name = organization().logo.name
    if not name or not default_storage.exists(name):
        raise Http404("No logo.")
    response = FileResponse(default_storage.open(name, "rb"), content_type=logo_content_type(name))
    response["Cache-Control"] = "private, max-age=86400"
    return response
