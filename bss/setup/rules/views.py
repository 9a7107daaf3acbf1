"""Setup pages for permission rules: which records, beyond their own, users may open."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.entities import ENTITIES
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.setup.models import PermissionRule
from bss.setup.rules import selectors, services
from bss.setup.rules.forms import (
    GrantFormSet,
    RuleForm,
    SharingFormSet,
    grantee_choices,
    grantee_value,
    resolve_grantees,
)


def _applies_to(rule: PermissionRule) -> str:
    labels = []
    for row in rule.modules.all():
        entity = ENTITIES.get(row.entity)
        label = str(entity.label) if entity else row.entity
        labels.append(f"{label} ({_t('default')})" if row.is_default else label)
    return ", ".join(labels)


class RuleListView(RecordListView):
    model = PermissionRule
    permission_module = "setup"
    title = _("Permission rules")
    search_fields = ("name", "description")
    search_placeholder = _("Name or description")
    default_sort = "name"
    create_url_name = "setup:rule_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("name", _("Rule"), sort="name", link=True),
        Column("description", _("Description"), css="text-wrap small"),
        Column("applies_to", _("Applies to"), value=_applies_to),
        Column("grant_count", _("Grants"), sort="grant_count"),
        Column("sharing_count", _("Shared with"), sort="sharing_count"),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda rule: _t("Active") if rule.is_active else _t("Inactive"),
        ),
    ]

    def visible_queryset(self) -> QuerySet:
        # Rules are setup data, not owned records: the setup right opens all of them.
        return selectors.rules_for_list()

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


def _rule_page(request: HttpRequest, rule: PermissionRule | None) -> HttpResponse:
    may_manage = user_has_permission(request.user, "setup", "manage")
    if request.method == "POST" and not may_manage:
        raise PermissionDenied("You need the permission setup.manage.")
    grantees = grantee_choices()
    data = request.POST if request.method == "POST" else None
    form = RuleForm(data, instance=rule)
    grant_initial = (
        [{"grantee": grantee_value(row), "access": row.access} for row in rule.grants.all()]
        if rule
        else []
    )
    sharing_initial = (
        [{"grantee": grantee_value(row)} for row in rule.sharing.all()] if rule else []
    )
    grants = GrantFormSet(data, prefix="grants", initial=grant_initial, grantees=grantees)
    sharing = SharingFormSet(data, prefix="sharing", initial=sharing_initial, grantees=grantees)
    if data is not None and form.is_valid() and grants.is_valid() and sharing.is_valid():
        chosen_grants = grants.chosen()
        chosen_sharing = sharing.chosen()
        found = resolve_grantees(
            [row["grantee"] for row in chosen_grants] + [row["grantee"] for row in chosen_sharing]
        )
        try:
            rule = services.rule_save(
                actor=request.user,
                rule=rule,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                is_active=form.cleaned_data["is_active"],
                modules=form.chosen_modules(),
                grants=[(found[row["grantee"]], row["access"]) for row in chosen_grants],
                sharing=[found[row["grantee"]] for row in chosen_sharing],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Permission rule %(name)s saved.") % {"name": rule.name})
            return redirect("setup:rule_edit", pk=rule.pk)
    return render(
        request,
        "setup/rules/form.html",
        {
            "form": form,
            "grants": grants,
            "sharing": sharing,
            "subject": rule,
            "usage": selectors.rule_usage(rule) if rule else [],
            "may_manage": may_manage,
            "setup_page": True,
        },
    )


@requires("setup", "manage")
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@requires("setup", "view")
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        rule = selectors.rule_with_rows(pk)
    except PermissionRule.DoesNotExist as missing:
        raise Http404("No such permission rule.") from missing
    return _rule_page(request, rule)


@require_POST
@requires("setup", "manage")
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(PermissionRule, pk=pk)
    try:
        services.rule_delete(actor=request.user, rule=rule)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("setup:rule_edit", pk=rule.pk)
    messages.success(request, _t("Permission rule %(name)s deleted.") % {"name": rule.name})
    return redirect("setup:rule_list")
