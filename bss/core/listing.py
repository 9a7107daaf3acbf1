"""The list page every module uses: visible rows, filters, search, sorting, paging, xlsx.

A module's list view subclasses ``RecordListView`` and declares its columns, filters
and permission. The same visible, filtered, sorted queryset feeds the page and the
xlsx export, so an export never shows a row the page would hide. For an entity with
custom fields, each field flagged as search criterion becomes a filter (and matches the
search box), and the export gets one column per active field.

A list may declare ``bulk_actions``: the page then gets a checkbox per row and an action
picker. A submitted action runs its service once per selected record, and only on the
records the user may *edit* among those they picked; the rest are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _t
from django.utils.translation import ngettext
from django.views import View

from bss.core.custom_fields import CustomField, custom_fields_of_model, search_condition_for
from bss.core.permissions import ModuleRequiredMixin, user_has_permission
from bss.core.visibility import visible_records
from bss.core.xlsx import stream_xlsx

EXPORT_ROW_LIMIT = 200_000
# One submitted bulk action touches at most this many records (a few pages of the list).
BULK_LIMIT = 500


@dataclass(frozen=True)
class Column:
    """One column: where its value comes from, how it sorts, whether it links the record."""

    key: str
    label: Any
    sort: str | None = None
    link: bool = False
    value: Callable[[Model], Any] | None = None
    css: str = ""
    badge: bool = False

    def value_of(self, record: Model) -> Any:
        if self.value is not None:
            return self.value(record)
        current: Any = record
        for part in self.key.split("."):
            current = getattr(current, part, None)
            if current is None:
                return None
            if callable(current) and not isinstance(current, Model):
                current = current()
        return current


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected rows of a list.

    ``run(actor, record, params)`` calls the module's service for one record; a
    ``ValidationError`` or ``PermissionDenied`` it raises skips that record with the
    message. ``form_class`` asks for what the action needs (e.g. the manager to assign);
    its cleaned data are the ``params``.
    """

    key: str
    label: Any
    permission: tuple[str, str]
    run: Callable[[Any, Model, dict[str, Any]], Any]
    confirm: Any = ""
    form_class: type[forms.Form] | None = None

    def allowed_for(self, user: Any) -> bool:
        module, action = self.permission
        return user_has_permission(user, module, action)

    def form(self, data: Any = None) -> forms.Form | None:
        if self.form_class is None:
            return None
        return self.form_class(data, prefix=f"bulk_{self.key}")


def _form_problems(form: forms.Form) -> str:
    """A bulk form's errors as one message, each named by its field's label."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        text = " ".join(errors)
        parts.append(f"{label}: {text}" if label else text)
    return "; ".join(parts)


def export_cell(value: Any) -> Any:
    """What openpyxl may store: numbers, dates and text; aware datetimes in local time."""
    if value is None or isinstance(value, (int, float, Decimal, date, str, bool)):
        if isinstance(value, datetime):
            return (
                timezone.localtime(value).replace(tzinfo=None)
                if timezone.is_aware(value)
                else value
            )
        return value
    return str(value)


class RecordListView(ModuleRequiredMixin, View):
    model: type[Model]
    permission_action = "view"
    title: Any = ""
    columns: list[Column] = []
    filterset_class: Any = None
    search_fields: tuple[str, ...] = ()
    search_placeholder: Any = ""
    default_sort = "-pk"
    create_url_name: str | None = None
    create_permission: tuple[str, str] | None = None
    template_name = "core/list.html"
    row_actions_template: str | None = None
    bulk_actions: list[BulkAction] = []

    def base_queryset(self) -> QuerySet:
        return self.model._default_manager.all()

    def visible_queryset(self) -> QuerySet:
        return visible_records(self.base_queryset(), self.request.user)

    def custom_fields(self) -> list[CustomField]:
        """The entity's active custom fields, read once per request (none for non-entities)."""
        if not hasattr(self, "_custom_fields"):
            self._custom_fields = custom_fields_of_model(self.model)
        return self._custom_fields

    def get_filterset_class(self) -> Any:
        """The declared filters plus one per custom field flagged as search criterion."""
        searchable = [field for field in self.custom_fields() if field.is_search_criterion]
        if not searchable:
            return self.filterset_class
        base = self.filterset_class
        if base is None:
            meta = type("Meta", (), {"model": self.model, "fields": []})
            base = type("RecordFilter", (django_filters.FilterSet,), {"Meta": meta})
        extra = {field.filter_name: field.list_filter() for field in searchable}
        return type(f"{base.__name__}WithCustomFields", (base,), extra)

    def filtered(self, queryset: QuerySet) -> tuple[QuerySet, Any]:
        filterset = None
        filterset_class = self.get_filterset_class()
        if filterset_class is not None:
            filterset = filterset_class(
                self.request.GET or None, queryset=queryset, request=self.request
            )
            if filterset.is_bound and filterset.is_valid():
                queryset = filterset.qs
        term = self.request.GET.get("q", "").strip()
        if term and self.search_fields:
            condition = Q()
            for field in self.search_fields:
                condition |= Q(**{f"{field}__icontains": term})
            condition |= search_condition_for(self.custom_fields(), term)
            queryset = queryset.filter(condition)
        return queryset, filterset

    def sort_key(self) -> str:
        requested = self.request.GET.get("sort", "")
        allowed = {column.sort for column in self.columns if column.sort}
        if requested.lstrip("-") in allowed:
            return requested
        return self.default_sort

    def ordered(self, queryset: QuerySet, sort: str) -> QuerySet:
        field = sort.lstrip("-")
        tiebreak = "-pk" if sort.startswith("-") else "pk"
        return queryset.order_by(sort, tiebreak) if field != "pk" else queryset.order_by(sort)

    def get_queryset(self) -> tuple[QuerySet, Any, str]:
        queryset, filterset = self.filtered(self.visible_queryset())
        sort = self.sort_key()
        return self.ordered(queryset, sort), filterset, sort

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        queryset, filterset, sort = self.get_queryset()
        if request.GET.get("export") == "xlsx":
            return self.export(queryset)
        paginator = Paginator(queryset, settings.LIST_PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        rows = [
            (record, [column.value_of(record) for column in self.columns])
            for record in page.object_list
        ]
        bulk_actions = self.available_bulk_actions()
        context = {
            "view": self,
            "title": self.title,
            "bulk_actions": [(action, self.bulk_form(action)) for action in bulk_actions],
            "columns": self.columns,
            "rows": rows,
            "page": page,
            "paginator": paginator,
            "filterset": filterset,
            "sort": sort,
            "query": request.GET.get("q", ""),
            "querystring": self.querystring_without("page", "sort"),
            "page_querystring": self.querystring_without("page"),
            **self.extra_context(),
        }
        template = (
            f"{self.template_name}#results"
            if request.htmx and not request.htmx.boosted
            else self.template_name
        )
        return render(request, template, context)

    def extra_context(self) -> dict[str, Any]:
        return {}

    def bulk_form(self, action: BulkAction, data: Any = None) -> forms.Form | None:
        """The inputs of a bulk action; a list may override it to share data with its filters."""
        return action.form(data)

    def available_bulk_actions(self) -> list[BulkAction]:
        return [action for action in self.bulk_actions if action.allowed_for(self.request.user)]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Run a bulk action on the selected rows the user may edit, one service call each."""
        if not self.bulk_actions:
            return HttpResponse(status=405)
        actions = {action.key: action for action in self.available_bulk_actions()}
        action = actions.get(request.POST.get("bulk_action", ""))
        back = self.back_url()
        if action is None:
            if any(item.key == request.POST.get("bulk_action") for item in self.bulk_actions):
                raise PermissionDenied("You may not run this action.")
            messages.error(request, _t("Choose an action."))
            return HttpResponseRedirect(back)
        ids = [int(value) for value in request.POST.getlist("selected") if value.isdigit()]
        if not ids:
            messages.error(request, _t("Select at least one record."))
            return HttpResponseRedirect(back)
        if len(ids) > BULK_LIMIT:
            messages.error(
                request, _t("Select at most %(limit)d records at once.") % {"limit": BULK_LIMIT}
            )
            return HttpResponseRedirect(back)
        params: dict[str, Any] = {}
        form = self.bulk_form(action, request.POST)
        if form is not None:
            if not form.is_valid():
                messages.error(request, _form_problems(form))
                return HttpResponseRedirect(back)
            params = form.cleaned_data
        editable = visible_records(self.base_queryset(), request.user, "edit").filter(pk__in=ids)
        records = list(editable.order_by("pk"))
        done, refused = self.run_bulk_action(action, records, params)
        self.report_bulk_result(action, done, len(refused) + len(set(ids)) - len(records), refused)
        return HttpResponseRedirect(back)

    def run_bulk_action(
        self, action: BulkAction, records: list[Model], params: dict[str, Any]
    ) -> tuple[int, list[str]]:
        """Run the action record by record; each service call commits or fails on its own."""
        done = 0
        refused: list[str] = []
        for record in records:
            try:
                action.run(self.request.user, record, params)
            except ValidationError as error:
                refused.append(f"{record}: {' '.join(error.messages)}")
            except PermissionDenied as error:
                refused.append(f"{record}: {error}")
            else:
                done += 1
        return done, refused

    def report_bulk_result(
        self, action: BulkAction, done: int, skipped: int, refused: list[str]
    ) -> None:
        for reason in refused[:5]:
            messages.warning(self.request, reason)
        message = ngettext(
            "%(action)s: %(count)d record done.", "%(action)s: %(count)d records done.", done
        ) % {"action": action.label, "count": done}
        if skipped:
            message += " " + ngettext(
                "%(count)d skipped (not editable or refused).",
                "%(count)d skipped (not editable or refused).",
                skipped,
            ) % {"count": skipped}
        (messages.success if done else messages.warning)(self.request, message)

    def back_url(self) -> str:
        """The list with the filters the user had, from the form's ``next`` field."""
        target = self.request.POST.get("next", "")
        if (
            target
            and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()})
            and target.startswith(self.request.path)
        ):
            return target
        return self.request.path

    def querystring_without(self, *names: str) -> str:
        params = self.request.GET.copy()
        for name in (*names, "export"):
            params.pop(name, None)
        return params.urlencode()

    def export_columns(self) -> list[Column]:
        """The page's columns, then one per active custom field."""
        return self.columns + [
            Column(
                f"custom_data.{field.code}",
                field.label,
                value=lambda record, field=field: field.export_value(
                    (record.custom_data or {}).get(field.code)
                ),
            )
            for field in self.custom_fields()
        ]

    def export(self, queryset: QuerySet) -> StreamingHttpResponse:
        columns = self.export_columns()
        headers = [str(column.label) for column in columns]

        def rows() -> Iterator[list[Any]]:
            for record in queryset[:EXPORT_ROW_LIMIT].iterator(chunk_size=2000):
                yield [export_cell(column.value_of(record)) for column in columns]

        filename = f"{slugify(str(self.title)) or 'export'}-{timezone.localdate():%Y%m%d}.xlsx"
        return stream_xlsx(
            filename=filename, sheet_title=str(self.title)[:31], headers=headers, rows=rows()
        )
