"""Pages of the platform itself: dashboard, global search, language switch, log records."""

from __future__ import annotations

import contextlib
from typing import Any

import django_filters
from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.listing import Column, RecordListView
from bss.core.models import ConsentRecord
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
    from bss.core.translation import is_enabled_language

    if is_enabled_language(language):
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        if request.user.is_authenticated:
            from bss.setup.services import user_set_language

            user_set_language(actor=request.user, user=request.user, language=language)
    return response


def audited_entity_choices() -> list[tuple[str, str]]:
    """Every model whose changes are audited, by name; the value is the model's name."""
    from auditlog.registry import auditlog

    names = {
        model._meta.model_name: str(model._meta.verbose_name).capitalize()
        for model in auditlog.get_models()
    }
    return sorted(names.items(), key=lambda choice: choice[1])


class LogEntryFilter(django_filters.FilterSet):
    content_type__model = django_filters.ChoiceFilter(
        label=_("Entity"), choices=audited_entity_choices
    )
    actor__email = django_filters.CharFilter(label=_("User"), method="filter_user")
    action = django_filters.ChoiceFilter(
        label=_("Action"),
        choices=[
            (LogEntry.Action.CREATE, _("Created")),
            (LogEntry.Action.UPDATE, _("Changed")),
            (LogEntry.Action.DELETE, _("Deleted")),
        ],
    )
    timestamp = django_filters.DateFromToRangeFilter(
        label=_("Date"), widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = LogEntry
        fields: list[str] = []

    def filter_user(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(actor__email__icontains=value)
            | Q(actor__first_name__icontains=value)
            | Q(actor__last_name__icontains=value)
            | Q(actor_email__icontains=value)
        )


ACTION_LABELS = {
    LogEntry.Action.CREATE: _("Created"),
    LogEntry.Action.UPDATE: _("Changed"),
    LogEntry.Action.DELETE: _("Deleted"),
    LogEntry.Action.ACCESS: _("Opened"),
}


def describe_changes(entry: LogEntry) -> str:
    """ "Field: old → new" per changed field, under the field's own (translated) name."""
    changes = entry.changes_dict or {}
    model = entry.content_type.model_class()
    parts = []
    for name, values in changes.items():
        label = name
        if model is not None:
            with contextlib.suppress(FieldDoesNotExist):
                label = str(getattr(model._meta.get_field(name), "verbose_name", name))
        if isinstance(values, (list, tuple)) and len(values) == 2:
            parts.append(f"{label}: {values[0]} → {values[1]}")
        else:
            parts.append(f"{label}: {values}")
    return "; ".join(parts)


def describe_actor(entry: LogEntry) -> str:
    if entry.actor is not None:
        return entry.actor.email
    return entry.actor_email or gettext("System")


class AuditLogView(RecordListView):
    """Every change made through the services: who, when, which field, old and new value."""

    model = LogEntry
    permission_module = "setup"
    permission_action = "audit"
    title = _("Log records")
    filterset_class = LogEntryFilter
    search_fields = ("object_repr", "object_pk")
    search_placeholder = _("Record name or id")
    default_sort = "-timestamp"
    columns = [
        Column("timestamp", _("When"), sort="timestamp"),
        Column("actor", _("User"), value=describe_actor),
        Column("content_type.name", _("Entity"), sort="content_type__model"),
        Column("object_repr", _("Record"), sort="object_repr"),
        Column("action", _("Action"), value=lambda entry: ACTION_LABELS.get(entry.action, "")),
        Column("changes", _("Changes"), value=describe_changes, css="text-wrap small"),
        Column("remote_addr", _("IP address")),
    ]

    def visible_queryset(self) -> QuerySet:
        # Log records are a setup view: the audit right opens all of them.
        return LogEntry.objects.select_related("actor", "content_type")

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


class ConsentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ConsentRecord.Kind.choices)
    account_name = django_filters.CharFilter(label=_("Account"), lookup_expr="icontains")
    accepted_at = django_filters.DateFromToRangeFilter(
        label=_("Accepted"), widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = ConsentRecord
        fields: list[str] = []


class ConsentLogView(RecordListView):
    """Terms of use accepted and personal-data consents given or withdrawn, as recorded."""

    model = ConsentRecord
    permission_module = "setup"
    permission_action = "audit"
    title = _("Consent log")
    filterset_class = ConsentFilter
    search_fields = (
        "subject",
        "reference",
        "account_name",
        "contact_name",
        "contact_email",
        "source",
    )
    search_placeholder = _("Subject, order, account, contact or email")
    default_sort = "-accepted_at"
    columns = [
        Column("accepted_at", _("Accepted"), sort="accepted_at"),
        Column("kind", _("Kind"), value=lambda record: record.get_kind_display()),
        Column("account_name", _("Account"), sort="account_name"),
        Column("contact_name", _("Contact"), sort="contact_name"),
        Column("contact_email", _("Email")),
        Column("subject", _("What was accepted"), css="text-wrap"),
        Column("reference", _("Reference"), sort="reference"),
        Column("source", _("Source")),
        Column("ip_address", _("IP address")),
        Column("user_agent", _("Browser"), css="text-wrap small"),
    ]

    def visible_queryset(self) -> QuerySet:
        # The consent log is read under the audit right as a whole, like the audit trail.
        return ConsentRecord.objects.all()

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
