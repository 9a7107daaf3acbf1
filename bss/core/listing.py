"""The list page every module uses: visible rows, filters, search, sorting, paging, xlsx.

A module's list view subclasses ``RecordListView`` and declares its columns, filters
and permission. The same visible, filtered, sorted queryset feeds the page and the
xlsx export, so an export never shows a row the page would hide. For an entity with
custom fields, each field flagged as search criterion becomes a filter (and matches the
search box), and the export gets one column per active field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

from bss.core.custom_fields import CustomField, custom_fields_of_model, search_condition_for
from bss.core.permissions import ModuleRequiredMixin
from bss.core.visibility import visible_records
from bss.core.xlsx import stream_xlsx

EXPORT_ROW_LIMIT = 200_000


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
    bulk_actions: list[tuple[str, Any]] = []

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
        context = {
            "view": self,
            "title": self.title,
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
