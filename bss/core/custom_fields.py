"""Custom fields as the platform reads them: list filters, exports, search and display.

The definitions live in ``bss.setup`` (``CustomFieldDefinition``); setup registers a
source at start-up so that core can ask for an entity's active fields without importing
setup. Values sit in the record's ``custom_data`` JSON column under the field's code:
text, choices and ISO dates as strings, decimals as normalized strings (JSON has no
exact decimal), integers and booleans as JSON natives, multiple choices as lists.
Validation of values lives in one place, ``bss.setup.fields.values``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import formats
from django.utils.translation import gettext as _

from bss.core.entities import entity_key_of

TEXT_TYPES = frozenset({"text", "long_text", "email", "url"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalized_decimal(value: Decimal) -> str:
    """The one spelling of a decimal in custom data: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class CustomField:
    """An active custom field of an entity, as setup defines it."""

    code: str
    label: str
    field_type: str
    group: str = ""
    ordering: int = 0
    suffix: str = ""
    description: str = ""
    is_required: bool = False
    default_value: Any = None
    choices: tuple[str, ...] = ()
    is_search_criterion: bool = False
    display_rule: dict[str, Any] = field(default_factory=dict)
    show_in_storefront: bool = False

    @property
    def lookup(self) -> str:
        return f"custom_data__{self.code}"

    @property
    def filter_name(self) -> str:
        return f"cf_{self.code}"

    def python_value(self, stored: Any) -> Any:
        """The stored JSON value as Python: Decimal and date where the type says so."""
        if stored is None or stored == "" or stored == []:
            return None
        if self.field_type == "decimal":
            try:
                return Decimal(str(stored))
            except InvalidOperation:
                return stored
        if self.field_type == "date" and isinstance(stored, str) and ISO_DATE.match(stored):
            return date.fromisoformat(stored)
        return stored

    def display(self, stored: Any) -> str:
        """How a value reads on a detail page: localized, with its suffix."""
        value = self.python_value(stored)
        if value is None:
            return ""
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif isinstance(value, date):
            text = formats.date_format(value, "SHORT_DATE_FORMAT")
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(item) for item in value)
        else:
            text = str(value)
        return f"{text} {self.suffix}" if self.suffix else text

    def export_value(self, stored: Any) -> Any:
        """A spreadsheet cell: numbers and dates stay typed, lists become text."""
        value = self.python_value(stored)
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def list_filter(self) -> django_filters.Filter:
        label = self.label
        if self.field_type in TEXT_TYPES:
            return django_filters.CharFilter(label=label, method=self._filter_contains)
        if self.field_type == "integer":
            return django_filters.NumberFilter(label=label, method=self._filter_integer)
        if self.field_type == "decimal":
            return django_filters.NumberFilter(label=label, method=self._filter_decimal)
        if self.field_type == "date":
            return django_filters.DateFromToRangeFilter(
                label=label,
                method=self._filter_date_range,
                widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
            )
        if self.field_type == "boolean":
            return django_filters.BooleanFilter(label=label, method=self._filter_exact)
        options = [(choice, choice) for choice in self.choices]
        if self.field_type == "multi_choice":
            return django_filters.ChoiceFilter(
                label=label, choices=options, method=self._filter_has_choice
            )
        return django_filters.ChoiceFilter(label=label, choices=options, method=self._filter_exact)

    def _filter_contains(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{f"{self.lookup}__icontains": value})

    def _filter_exact(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(**{self.lookup: value})

    def _filter_integer(self, queryset: QuerySet, name: str, value: Decimal) -> QuerySet:
        if value != value.to_integral_value():
            return queryset.none()
        return queryset.filter(**{self.lookup: int(value)})

    def _filter_decimal(self, queryset: QuerySet, name: str, value: Decimal) -> QuerySet:
        return queryset.filter(**{self.lookup: normalized_decimal(value)})

    def _filter_has_choice(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The list's JSON text contains the quoted choice on both SQLite and PostgreSQL.
        return queryset.filter(**{f"{self.lookup}__icontains": json.dumps(value)})

    def _filter_date_range(self, queryset: QuerySet, name: str, value: slice) -> QuerySet:
        alias = f"{self.filter_name}_text"
        # As plain text, ISO dates compare in date order; JSON key lookups would not.
        queryset = queryset.alias(**{alias: Cast(KT(self.lookup), output_field=TextField())})
        if value.start is not None:
            queryset = queryset.filter(**{f"{alias}__gte": _as_date(value.start).isoformat()})
        if value.stop is not None:
            queryset = queryset.filter(**{f"{alias}__lte": _as_date(value.stop).isoformat()})
        return queryset

    def search_condition(self, term: str) -> Q | None:
        """How global search and list search match this field, or None if they cannot."""
        if self.field_type in TEXT_TYPES or self.field_type in ("choice", "multi_choice"):
            return Q(**{f"{self.lookup}__icontains": term})
        if self.field_type == "integer" and re.fullmatch(r"-?\d+", term):
            return Q(**{self.lookup: int(term)})
        if self.field_type == "decimal":
            try:
                number = Decimal(term)
            except InvalidOperation:
                return None
            return Q(**{self.lookup: normalized_decimal(number)}) if number.is_finite() else None
        if self.field_type == "date" and ISO_DATE.match(term):
            return Q(**{self.lookup: term})
        return None


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


DefinitionSource = Callable[[str], list[CustomField]]
_sources: list[DefinitionSource] = []


def register_custom_field_source(source: DefinitionSource) -> None:
    """Setup registers where active definitions come from; the last registration wins."""
    _sources[:] = [source]


def custom_fields_for(entity: str | None) -> list[CustomField]:
    """The entity's active custom fields in form order; one query, none without a source."""
    if not entity or not _sources:
        return []
    return _sources[0](entity)


def custom_fields_of_model(model: type[Model]) -> list[CustomField]:
    return custom_fields_for(entity_key_of(model))


def search_condition_for(fields: list[CustomField], term: str) -> Q:
    """Matches on the search-criterion fields among ``fields``; an empty Q when none."""
    condition = Q()
    for custom_field in fields:
        if custom_field.is_search_criterion:
            matched = custom_field.search_condition(term)
            if matched is not None:
                condition |= matched
    return condition


def search_condition(model: type[Model], term: str) -> Q:
    """What global search adds for an entity's search-criterion custom fields."""
    return search_condition_for(custom_fields_of_model(model), term)
