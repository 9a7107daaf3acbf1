"""Reads of systemic fields, their value lists and custom field definitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Model, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from bss.core.custom_fields import CustomField
from bss.core.entities import ENTITIES, entity_model
from bss.setup.fields.value_lists import value_lists_of
from bss.setup.fields.values import rule_matches
from bss.setup.models import CustomFieldDefinition, SystemFieldValue

# Columns every owned record has that admins never see as "fields" of the entity.
HIDDEN_COLUMNS = frozenset({"id", "custom_data"})
# Bookkeeping columns every owned record shares; listed after the entity's own fields.
TRAILING_COLUMNS = ("owner", "created_at", "updated_at")
FIELD_KINDS = {
    "CharField": _("Text"),
    "SlugField": _("Text"),
    "TextField": _("Long text"),
    "EmailField": _("Email"),
    "URLField": _("URL"),
    "BooleanField": _("Yes/No"),
    "DateField": _("Date"),
    "DateTimeField": _("Date and time"),
    "DecimalField": _("Decimal"),
    "IntegerField": _("Integer"),
    "PositiveIntegerField": _("Integer"),
    "PositiveSmallIntegerField": _("Integer"),
    "BigIntegerField": _("Integer"),
    "ForeignKey": _("Reference"),
    "JSONField": _("Structured data"),
}


@dataclass(frozen=True)
class SystemField:
    """An out-of-the-box field: label and kind are fixed; value lists are editable."""

    name: str
    label: str
    kind: Any
    fixed_choices: tuple[str, ...] = ()
    has_value_list: bool = False
    value_count: int = 0


def system_fields(entity: str) -> list[SystemField]:
    """The entity's model columns (once its module exists) and its declared value lists."""
    counts = dict(
        SystemFieldValue.objects.filter(entity=entity)
        .values_list("field")
        .annotate(total=Count("pk"))
        .values_list("field", "total")
    )
    value_lists = {value_list.field: value_list for value_list in value_lists_of(entity)}
    fields: list[SystemField] = []
    model = entity_model(entity)
    if model is not None:
        columns = sorted(
            model._meta.concrete_fields,
            key=lambda column: (
                TRAILING_COLUMNS.index(column.name) + 1 if column.name in TRAILING_COLUMNS else 0
            ),
        )
        for model_field in columns:
            if model_field.name in HIDDEN_COLUMNS:
                continue
            fixed = tuple(str(label) for _value, label in model_field.choices or ())
            kind = _("Choice") if fixed else FIELD_KINDS.get(model_field.get_internal_type(), "")
            if model_field.name in value_lists:
                kind = _("Value list")
            fields.append(
                SystemField(
                    name=model_field.name,
                    label=capfirst(str(model_field.verbose_name)),
                    kind=kind,
                    fixed_choices=fixed,
                    has_value_list=model_field.name in value_lists,
                    value_count=counts.get(model_field.name, 0),
                )
            )
    present = {system_field.name for system_field in fields}
    for name, value_list in value_lists.items():
        if name not in present:
            fields.append(
                SystemField(
                    name=name,
                    label=capfirst(str(value_list.label)),
                    kind=_("Value list"),
                    has_value_list=True,
                    value_count=counts.get(name, 0),
                )
            )
    return fields


def system_field(entity: str, name: str) -> SystemField | None:
    return next((found for found in system_fields(entity) if found.name == name), None)


def field_values(entity: str, field_name: str) -> QuerySet[SystemFieldValue]:
    return SystemFieldValue.objects.filter(entity=entity, field=field_name).order_by(
        "order_no", "label", "pk"
    )


def value_choices(entity: str, field_name: str) -> list[tuple[str, str]]:
    """Active values of a value-list field in display order, for a form's choices."""
    return list(
        field_values(entity, field_name).filter(is_active=True).values_list("value", "label")
    )


def value_default(entity: str, field_name: str) -> str | None:
    return (
        SystemFieldValue.objects.filter(
            entity=entity, field=field_name, is_default=True, is_active=True
        )
        .values_list("value", flat=True)
        .first()
    )


def as_custom_field(definition: CustomFieldDefinition) -> CustomField:
    return CustomField(
        code=definition.code,
        label=definition.label,
        field_type=definition.field_type,
        group=definition.group,
        ordering=definition.ordering,
        suffix=definition.suffix,
        description=definition.description,
        is_required=definition.is_required,
        default_value=definition.default_value,
        choices=tuple(str(choice) for choice in definition.choices or ()),
        is_search_criterion=definition.is_search_criterion,
        display_rule=dict(definition.display_rule or {}),
        show_in_storefront=definition.show_in_storefront,
    )


def active_custom_fields(entity: str) -> list[CustomField]:
    """The source ``bss.core.custom_fields`` reads: active fields in form order."""
    return [
        as_custom_field(definition)
        for definition in CustomFieldDefinition.objects.filter(entity=entity, is_active=True)
    ]


def custom_field_definitions(entity: str | None = None) -> QuerySet[CustomFieldDefinition]:
    queryset = CustomFieldDefinition.objects.all()
    return queryset.filter(entity=entity) if entity else queryset


def stored_value_count(definition: CustomFieldDefinition) -> int:
    """How many records hold a value for the field (what a purge would erase)."""
    model = entity_model(definition.entity)
    if model is None:
        return 0
    return model._default_manager.filter(custom_data__has_key=definition.code).count()


@dataclass
class CustomFieldSection:
    group: str
    rows: list[tuple[CustomField, str]] = field(default_factory=list)


def custom_field_sections(
    entity: str, custom_data: dict[str, Any] | None, *, account_context: dict[str, Any] | None
) -> list[CustomFieldSection]:
    """What a detail page shows: active fields whose display rule matches, by group."""
    sections: dict[str, CustomFieldSection] = {}
    context = account_context
    if context is not None and entity == "account":
        context = {**context, **(custom_data or {})}
    for custom_field in active_custom_fields(entity):
        if not rule_matches(custom_field.display_rule, context):
            continue
        section = sections.setdefault(custom_field.group, CustomFieldSection(custom_field.group))
        section.rows.append(
            (custom_field, custom_field.display((custom_data or {}).get(custom_field.code)))
        )
    return list(sections.values())


def entity_overview() -> list[dict[str, Any]]:
    """Every entity with how many system fields, value lists and custom fields it has."""
    custom_counts = dict(
        CustomFieldDefinition.objects.values_list("entity")
        .annotate(total=Count("pk"))
        .values_list("entity", "total")
    )
    overview = []
    for entity in ENTITIES.values():
        model: type[Model] | None = entity_model(entity.key)
        overview.append(
            {
                "entity": entity,
                "has_model": model is not None,
                "value_lists": value_lists_of(entity.key),
                "custom_count": custom_counts.get(entity.key, 0),
            }
        )
    return overview
