"""Setup pages for systemic fields (value lists) and custom fields, per entity."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.entities import ENTITIES, ENTITY_CHOICES
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.setup.fields import selectors, services
from bss.setup.fields.forms import (
    CustomFieldDefinitionForm,
    PurgeConfirmForm,
    SystemValueFormSet,
)
from bss.setup.models import CustomFieldDefinition


def _may_manage(request: HttpRequest) -> bool:
    return user_has_permission(request.user, "setup", "manage")


def _refuse_change_without_manage(request: HttpRequest) -> None:
    if request.method == "POST" and not _may_manage(request):
        raise PermissionDenied("You need the permission setup.manage.")


def _entity_or_404(key: str) -> Any:
    entity = ENTITIES.get(key)
    if entity is None:
        raise Http404(f"No entity {key!r}.")
    return entity


@requires("setup", "view")
def field_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "setup/fields/home.html",
        {"entities": selectors.entity_overview(), "setup_page": True},
    )


@requires("setup", "view")
def field_entity(request: HttpRequest, entity: str) -> HttpResponse:
    found = _entity_or_404(entity)
    return render(
        request,
        "setup/fields/entity.html",
        {
            "entity": found,
            "system_fields": selectors.system_fields(entity),
            "custom_fields": selectors.custom_field_definitions(entity),
            "may_manage": _may_manage(request),
            "setup_page": True,
        },
    )


def _value_rows(formset: Any, default_prefix: str, stored: dict[int, Any]) -> list[dict[str, Any]]:
    rows = []
    for form in formset.forms:
        if form.is_new_and_blank():
            continue
        data = form.cleaned_data
        pk = data.get("pk")
        order_no = data.get("order_no")
        if pk is not None and order_no is None and pk in stored:
            order_no = stored[pk].order_no
        rows.append(
            {
                "pk": pk,
                "value": (data.get("value") or "").strip(),
                "label": data.get("label") or "",
                "order_no": order_no,
                "is_active": data.get("is_active", False),
                "is_default": form.prefix == default_prefix,
            }
        )
    return rows


@requires("setup", "view")
def value_list_edit(request: HttpRequest, entity: str, field: str) -> HttpResponse:
    """Order, describe, default and (de)activate the values of a systemic choice field."""
    found = _entity_or_404(entity)
    system_field = selectors.system_field(entity, field)
    if system_field is None or not system_field.has_value_list:
        raise Http404(f"{entity}.{field} has no value list.")
    _refuse_change_without_manage(request)
    stored = {row.pk: row for row in selectors.field_values(entity, field)}
    initial = [
        {
            "pk": row.pk,
            "value": row.value,
            "label": row.label,
            "order_no": row.order_no,
            "is_active": row.is_active,
        }
        for row in stored.values()
    ]
    formset = SystemValueFormSet(request.POST or None, initial=initial)
    default_prefix = request.POST.get("default", "") if request.method == "POST" else ""
    if request.method == "POST" and formset.is_valid():
        try:
            services.system_values_save(
                actor=request.user,
                entity=entity,
                field=field,
                rows=_value_rows(formset, default_prefix, stored),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _t("Values of %(field)s saved.") % {"field": system_field.label}
            )
            return redirect("setup:value_list_edit", entity=entity, field=field)
    if request.method != "POST":
        default_pk = next((row.pk for row in stored.values() if row.is_default), None)
        default_prefix = next(
            (
                form.prefix
                for form in formset.forms
                if default_pk is not None and form.initial.get("pk") == default_pk
            ),
            "",
        )
    return render(
        request,
        "setup/fields/value_list.html",
        {
            "entity": found,
            "system_field": system_field,
            "formset": formset,
            "rows": [(form, stored.get(form.initial.get("pk"))) for form in formset.forms],
            "default_prefix": default_prefix,
            "may_manage": _may_manage(request),
            "setup_page": True,
        },
    )


class CustomFieldFilter(django_filters.FilterSet):
    entity = django_filters.ChoiceFilter(label=_("Entity"), choices=ENTITY_CHOICES)
    field_type = django_filters.ChoiceFilter(
        label=_("Type"), choices=CustomFieldDefinition.FieldType.choices
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = CustomFieldDefinition
        fields: list[str] = []


def _yes(flag: bool) -> str:
    return _t("Yes") if flag else ""


class CustomFieldListView(RecordListView):
    model = CustomFieldDefinition
    permission_module = "setup"
    title = _("Custom fields")
    filterset_class = CustomFieldFilter
    search_fields = ("label", "code", "group")
    search_placeholder = _("Label, key or group")
    default_sort = "entity"
    create_url_name = "setup:custom_field_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("label", _("Label"), sort="label", link=True),
        Column("entity", _("Entity"), sort="entity", value=lambda f: f.get_entity_display()),
        Column("code", _("Key"), sort="code", css="font-monospace small"),
        Column("field_type", _("Type"), value=lambda f: f.get_field_type_display()),
        Column("group", _("Group"), sort="group"),
        Column("ordering", _("Ordering"), sort="ordering"),
        Column("is_required", _("Required"), value=lambda f: _yes(f.is_required)),
        Column(
            "is_search_criterion",
            _("Search criterion"),
            value=lambda f: _yes(f.is_search_criterion),
        ),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda f: _t("Active") if f.is_active else _t("Removed"),
        ),
    ]

    def ordered(self, queryset: QuerySet, sort: str) -> QuerySet:
        if sort.lstrip("-") == "entity":
            return queryset.order_by(sort, "group", "ordering", "label")
        return super().ordered(queryset, sort)

    def visible_queryset(self) -> QuerySet:
        # Field definitions are setup data: the setup right opens all of them.
        return CustomFieldDefinition.objects.all()

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


@requires("setup", "manage")
def custom_field_create(request: HttpRequest) -> HttpResponse:
    entity = request.GET.get("entity", "")
    form = CustomFieldDefinitionForm(
        request.POST or None, initial={"entity": entity} if entity in ENTITIES else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            definition = services.custom_field_create(
                actor=request.user,
                entity=form.cleaned_data["entity"],
                field_type=form.cleaned_data["field_type"],
                code=form.cleaned_data["code"],
                **form.attributes(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, _t("Custom field %(label)s created.") % {"label": definition.label}
            )
            return redirect("setup:field_entity", entity=definition.entity)
    return render(
        request, "setup/fields/custom_field_form.html", {"form": form, "setup_page": True}
    )


@requires("setup", "view")
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    _refuse_change_without_manage(request)
    form = CustomFieldDefinitionForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_update(
                actor=request.user, definition=definition, **form.attributes()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, _t("Custom field %(label)s saved.") % {"label": definition.label}
            )
            return redirect("setup:field_entity", entity=definition.entity)
    return render(
        request,
        "setup/fields/custom_field_form.html",
        {
            "form": form,
            "subject": definition,
            "stored_count": selectors.stored_value_count(definition),
            "may_manage": _may_manage(request),
            "setup_page": True,
        },
    )


@require_POST
@requires("setup", "manage")
def custom_field_remove(request: HttpRequest, pk: int) -> HttpResponse:
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    services.custom_field_remove(actor=request.user, definition=definition)
    messages.success(
        request,
        _t("%(label)s removed: it is hidden everywhere; stored values stay until purged.")
        % {"label": definition.label},
    )
    return redirect("setup:custom_field_edit", pk=definition.pk)


@require_POST
@requires("setup", "manage")
def custom_field_restore(request: HttpRequest, pk: int) -> HttpResponse:
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    services.custom_field_restore(actor=request.user, definition=definition)
    messages.success(request, _t("%(label)s is active again.") % {"label": definition.label})
    return redirect("setup:custom_field_edit", pk=definition.pk)


@requires("setup", "manage")
def custom_field_purge(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then erase a removed field's stored values and the field itself."""
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    form = PurgeConfirmForm(request.POST or None, code=definition.code)
    if request.method == "POST" and form.is_valid():
        try:
            purged = services.custom_field_purge(actor=request.user, definition=definition)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("setup:custom_field_edit", pk=definition.pk)
        messages.success(
            request,
            _t("%(label)s purged: values erased from %(count)d records.")
            % {"label": definition.label, "count": purged},
        )
        return redirect("setup:field_entity", entity=definition.entity)
    return render(
        request,
        "setup/fields/custom_field_purge.html",
        {
            "form": form,
            "subject": definition,
            "stored_count": selectors.stored_value_count(definition),
            "setup_page": True,
        },
    )
