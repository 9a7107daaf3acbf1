"""The list page every module uses: visible rows, filters, search, sorting, paging, xlsx.

A module's list view subclasses ``RecordListView`` and declares its columns, filters
and permission. The same visible, filtered, sorted queryset feeds the page and the
xlsx export, so an export never shows a row the page would hide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

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

    def filtered(self, queryset: QuerySet) -> tuple[QuerySet, Any]:
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(
                self.request.GET or None, queryset=queryset, request=self.request
            )
            if filterset.is_bound and filterset.is_valid():
                queryset = filterset.qs
        term = self.request.GET.get("q", "").strip()
        if term and self.search_fields:
            condition = Q()
            for field in self.search_fields:
                condition |= Q(**{f"{field}__icontains": term})
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

    def export(self, queryset: QuerySet) -> StreamingHttpResponse:
        headers = [str(column.label) for column in self.columns]

        def rows() -> Iterator[list[Any]]:
            for record in queryset[:EXPORT_ROW_LIMIT].iterator(chunk_size=2000):
                yield [export_cell(column.value_of(record)) for column in self.columns]

        filename = f"{slugify(str(self.title)) or 'export'}-{timezone.localdate():%Y%m%d}.xlsx"
        return stream_xlsx(
            filename=filename, sheet_title=str(self.title)[:31], headers=headers, rows=rows()
        )
