"""Pages of the platform itself: dashboard, global search, language switch, log records."""

from __future__ import annotations

from typing import Any

import django_filters
from auditlog.models import LogEntry
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.listing import Column, RecordListView
from bss.core.permissions import login_only, public, user_has_permission
from bss.core.registry import search_providers
from bss.core.visibility import visible_records

SEARCH_RESULTS_PER_ENTITY = 10


@login_only
def dashboard(request: HttpRequest) -> HttpResponse:
    from bss.core.dashboard import dashboard_panels

    return render(request, "core/dashboard.html", {"panels": dashboard_panels(request)})


@login_only
def global_search(request: HttpRequest) -> HttpResponse:
    """Search every registered entity the user may open, through the visibility filter."""
    term = request.GET.get("q", "").strip()
    groups = []
    if len(term) >= 2:
        for provider in search_providers:
            if not user_has_permission(request.user, provider.module, "view"):
                continue
            queryset = visible_records(provider.queryset(), request.user)
            matches = list(queryset.filter(provider.condition(term))[:SEARCH_RESULTS_PER_ENTITY])
            if matches:
                groups.append(
                    {
                        "label": provider.label,
                        "results": [
                            (provider.describe(match), provider.url(match)) for match in matches
                        ],
                    }
                )
    template = "core/search.html#results" if request.htmx else "core/search.html"
    return render(request, template, {"term": term, "groups": groups})


@public
@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Pick the interface language; a signed-in user keeps it on their profile."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        if request.user.is_authenticated:
            from bss.setup.services import user_set_language

            user_set_language(actor=request.user, user=request.user, language=language)
    return response


class LogEntryFilter(django_filters.FilterSet):
    content_type__model = django_filters.CharFilter(label=_("Entity"), lookup_expr="iexact")
    actor__email = django_filters.CharFilter(label=_("User email"), lookup_expr="icontains")
    timestamp = django_filters.DateFromToRangeFilter(
        label=_("Date"), widget=django_filters.widgets.RangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = LogEntry
        fields: list[str] = []


def describe_changes(entry: LogEntry) -> str:
    changes = entry.changes_dict or {}
    return "; ".join(f"{field}: {values[0]} → {values[1]}" for field, values in changes.items())


class AuditLogView(RecordListView):
    """Every change made through the services: who, when, which field, old and new value."""

    model = LogEntry
    permission_module = "setup"
    permission_action = "audit"
    title = _("Log records")
    filterset_class = LogEntryFilter
    search_fields = ("object_repr",)
    default_sort = "-timestamp"
    columns = [
        Column("timestamp", _("When"), sort="timestamp"),
        Column("actor", _("User")),
        Column("content_type.name", _("Entity"), sort="content_type__model"),
        Column("object_repr", _("Record")),
        Column("action", _("Action"), value=lambda entry: entry.get_action_display()),
        Column("changes", _("Changes"), value=describe_changes, css="text-wrap small"),
    ]

    def visible_queryset(self) -> QuerySet:
        # Log records are a setup view: the audit right opens all of them.
        return LogEntry.objects.select_related("actor", "content_type")

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


@login_only
def api_token(request: HttpRequest) -> HttpResponse:
    """Create, replace or revoke the signed-in user's own API token."""
    from rest_framework.authtoken.models import Token

    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        if request.POST.get("action") == "rotate":
            Token.objects.create(user=request.user)
        return HttpResponseRedirect(request.path)
    token = Token.objects.filter(user=request.user).first()
    return render(request, "core/api_token.html", {"token": token})
