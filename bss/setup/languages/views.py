"""Setup > Languages: enabled languages, the default, string overrides and pack import/export."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from bss.core.xlsx import stream_xlsx
from bss.setup.languages import services
from bss.setup.languages.forms import OverrideForm, PackImportForm, StringSearchForm
from bss.setup.languages.selectors import (
    catalog_message_by_digest,
    language_name,
    language_summaries,
    overrides,
    pack_rows,
    search_messages,
)

STRINGS_PER_PAGE = 50


def _language(code: str) -> str:
    if code not in dict(settings.LANGUAGES):
        raise Http404("No such language.")
    return code


@requires("setup", "view")
def language_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "setup/languages/list.html",
        {"languages": language_summaries(), "setup_page": True},
    )


@require_POST
@requires("setup", "manage")
def language_toggle(request: HttpRequest, language: str) -> HttpResponse:
    language = _language(language)
    is_enabled = request.POST.get("is_enabled") == "true"
    try:
        services.language_set_enabled(actor=request.user, language=language, is_enabled=is_enabled)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        text = _t("%(language)s enabled.") if is_enabled else _t("%(language)s disabled.")
        messages.success(request, text % {"language": language_name(language)})
    return redirect("setup:language_list")


@require_POST
@requires("setup", "manage")
def language_make_default(request: HttpRequest, language: str) -> HttpResponse:
    language = _language(language)
    try:
        services.language_set_default(actor=request.user, language=language)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _t("%(language)s is now the default language.") % {"language": language_name(language)},
        )
    return redirect("setup:language_list")


@requires("setup", "view")
def language_strings(request: HttpRequest, language: str) -> HttpResponse:
    language = _language(language)
    form = StringSearchForm(request.GET or None)
    term = show = ""
    if form.is_valid():
        term, show = form.cleaned_data["q"], form.cleaned_data["show"]
    rows = search_messages(
        language,
        term,
        overridden_only=show == "overridden",
        untranslated_only=show == "untranslated",
    )
    page = Paginator(rows, STRINGS_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "language": language,
        "language_label": language_name(language),
        "form": form,
        "page": page,
        "paginator": page.paginator,
        "page_querystring": params.urlencode(),
        "setup_page": True,
    }
    template = "setup/languages/strings.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@requires("setup", "manage")
def language_string_edit(request: HttpRequest, language: str, digest: str) -> HttpResponse:
    language = _language(language)
    message = catalog_message_by_digest(digest)
    if message is None:
        raise Http404("No such message.")
    override = overrides(language).get(message.key)
    current = override if override is not None else (message.shipped(language) or message.source)
    form = OverrideForm(request.POST or None, initial={"translation": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.translation_override_set(
                actor=request.user,
                language=language,
                source=message.key,
                translation=form.cleaned_data["translation"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("String saved."))
            return redirect(_strings_url(request, language))
    return render(
        request,
        "setup/languages/string_form.html",
        {
            "language": language,
            "language_label": language_name(language),
            "message": message,
            "shipped": message.shipped(language),
            "override": override,
            "form": form,
            "back_url": _strings_url(request, language),
            "setup_page": True,
        },
        status=400 if form.errors else 200,
    )


def _strings_url(request: HttpRequest, language: str) -> str:
    back = request.POST.get("next") or request.GET.get("next") or ""
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("setup:language_strings", args=[language])


@require_POST
@requires("setup", "manage")
def language_string_reset(request: HttpRequest, language: str, digest: str) -> HttpResponse:
    language = _language(language)
    message = catalog_message_by_digest(digest)
    if message is None:
        raise Http404("No such message.")
    services.translation_override_reset(actor=request.user, language=language, source=message.key)
    messages.success(request, _t("String reset to the shipped translation."))
    return redirect(_strings_url(request, language))


@requires("setup", "view")
def language_export(request: HttpRequest, language: str) -> HttpResponse:
    language = _language(language)
    return stream_xlsx(
        filename=f"language-pack-{language}-{timezone.localdate():%Y%m%d}.xlsx",
        sheet_title=language,
        headers=["source", "context", language],
        rows=pack_rows(language),
    )


@requires("setup", "manage")
def language_import(request: HttpRequest) -> HttpResponse:
    form = PackImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.language_pack_import(
                actor=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                _t(
                    "Language pack imported: %(overridden)s strings overridden, %(reset)s reset, "
                    "%(unchanged)s unchanged."
                )
                % {
                    "overridden": result.overridden,
                    "reset": result.reset,
                    "unchanged": result.unchanged,
                },
            )
            return redirect("setup:language_strings", language=result.language)
    return render(
        request,
        "setup/languages/import.html",
        {"form": form, "setup_page": True},
        status=400 if form.errors else 200,
    )
