"""Every write to systemic value lists and custom field definitions goes through here."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from bss.core.audit import acting_as
from bss.core.entities import ENTITIES, entity_model
from bss.core.events import emit_event
from bss.setup.fields.selectors import system_field, system_fields
from bss.setup.fields.values import clean_value, is_empty
from bss.setup.models import CustomFieldDefinition, SystemFieldValue

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
FIELD_TYPES = frozenset(CustomFieldDefinition.FieldType.values)
CHOICE_TYPES = frozenset({"choice", "multi_choice"})
DEFINITION_FIELDS = (
    "label",
    "group",
    "ordering",
    "suffix",
    "description",
    "is_required",
    "default_value",
    "choices",
    "is_search_criterion",
    "display_rule",
    "provisioning_code",
    "show_in_storefront",
)
PURGE_BATCH = 500


# --- systemic value lists ---------------------------------------------------------------


def _value_list_field(entity: str, field_name: str) -> None:
    found = system_field(entity, field_name)
    if found is None or not found.has_value_list:
        raise ValidationError(f"{entity}.{field_name} has no editable value list.")


def _value_key(value: str, label: str) -> str:
    key = (value or slugify(label).replace("-", "_")).strip()
    if not CODE_PATTERN.match(key):
        raise ValidationError(
            {
                "value": f"“{key}” is not a valid key: use lower-case letters, digits and "
                "underscores, starting with a letter."
            }
        )
    return key


def _unset_other_defaults(entity: str, field_name: str, keep: SystemFieldValue) -> None:
    SystemFieldValue.objects.filter(entity=entity, field=field_name, is_default=True).exclude(
        pk=keep.pk
    ).update(is_default=False)


@transaction.atomic
def system_value_add(
    *,
    actor: Any,
    entity: str,
    field: str,
    label: str,
    value: str = "",
    order_no: int | None = None,
    is_default: bool = False,
    is_active: bool = True,
) -> SystemFieldValue:
    _value_list_field(entity, field)
    label = label.strip()
    if not label:
        raise ValidationError({"label": "A value needs a description."})
    key = _value_key(value, label)
    if SystemFieldValue.objects.filter(entity=entity, field=field, value=key).exists():
        raise ValidationError({"value": f"The value “{key}” is already in this list."})
    if is_default and not is_active:
        raise ValidationError({"is_default": "An inactive value cannot be the default."})
    if order_no is None:
        order_no = field_last_order(entity, field) + 10
    with acting_as(actor):
        row = SystemFieldValue(
            entity=entity,
            field=field,
            value=key,
            label=label,
            order_no=order_no,
            is_default=False,
            is_active=is_active,
        )
        row.save()
        if is_default:
            _unset_other_defaults(entity, field, keep=row)
            row.is_default = True
            row.save(update_fields=["is_default"])
    emit_event(
        "system_field_value.created",
        actor=actor,
        aggregate=row,
        payload={"entity": entity, "field": field, "value": key},
    )
    return row


def field_last_order(entity: str, field_name: str) -> int:
    orders = SystemFieldValue.objects.filter(entity=entity, field=field_name).values_list(
        "order_no", flat=True
    )
    return max(orders, default=0)


@transaction.atomic
def system_value_update(
    *, actor: Any, value_row: SystemFieldValue, **changes: Any
) -> SystemFieldValue:
    """Change description, order, default or active flag; the key never changes."""
    allowed = {"label", "order_no", "is_default", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"These value fields cannot be changed: {', '.join(sorted(unknown))}")
    if "label" in changes:
        changes["label"] = str(changes["label"]).strip()
        if not changes["label"]:
            raise ValidationError({"label": "A value needs a description."})
    is_default = changes.get("is_default", value_row.is_default)
    is_active = changes.get("is_active", value_row.is_active)
    if is_default and not is_active:
        raise ValidationError({"is_default": "An inactive value cannot be the default."})
    changed = [name for name, new in changes.items() if getattr(value_row, name) != new]
    if changed:
        with acting_as(actor):
            if changes.get("is_default"):
                _unset_other_defaults(value_row.entity, value_row.field, keep=value_row)
            for name in changed:
                setattr(value_row, name, changes[name])
            value_row.save(update_fields=changed)
        emit_event(
            "system_field_value.updated",
            actor=actor,
            aggregate=value_row,
            payload={"entity": value_row.entity, "field": value_row.field, "fields": changed},
        )
    return value_row


@transaction.atomic
def system_values_save(
    *,
    actor: Any,
    entity: str,
    field: str,
    rows: Sequence[Mapping[str, Any]],
) -> list[SystemFieldValue]:
    """Save the value-list editor in one go: existing rows updated, new ones added.

    Each row: ``pk`` (None for a new value), ``value`` (key, new rows only), ``label``,
    ``order_no``, ``is_default``, ``is_active``. At most one row may be the default.
    """
    _value_list_field(entity, field)
    defaults = [row for row in rows if row.get("is_default")]
    if len(defaults) > 1:
        raise ValidationError({"is_default": "Only one value can be the default."})
    existing = {row.pk: row for row in SystemFieldValue.objects.filter(entity=entity, field=field)}
    saved: list[SystemFieldValue] = []
    default_row = defaults[0] if defaults else None
    if default_row is None:
        SystemFieldValue.objects.filter(entity=entity, field=field, is_default=True).update(
            is_default=False
        )
    for row in rows:
        wanted = {
            "label": row["label"],
            "order_no": row["order_no"],
            "is_active": row["is_active"],
        }
        if row.get("pk") is not None:
            value_row = existing.get(row["pk"])
            if value_row is None:
                raise ValidationError(f"Value #{row['pk']} is not in this list.")
            saved.append(
                system_value_update(
                    actor=actor, value_row=value_row, is_default=row is default_row, **wanted
                )
            )
        else:
            saved.append(
                system_value_add(
                    actor=actor,
                    entity=entity,
                    field=field,
                    value=row.get("value", ""),
                    is_default=row is default_row,
                    **wanted,
                )
            )
    return saved


# --- custom field definitions -----------------------------------------------------------


def _model_columns(entity: str) -> set[str]:
    model = entity_model(entity)
    if model is None:
        return set()
    return {model_field.name for model_field in model._meta.concrete_fields}


def _new_code(entity: str, label: str) -> str:
    base = slugify(label).replace("-", "_")[:40] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    taken = set(CustomFieldDefinition.objects.filter(entity=entity).values_list("code", flat=True))
    taken |= _model_columns(entity)
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code


def display_rule_fields() -> list[tuple[str, str]]:
    """Account attributes a display rule may test: system fields, then custom fields."""
    fields = [
        (system.name, str(system.label))
        for system in system_fields("account")
        if system.name not in ("number", "name", "created_at", "updated_at", "email", "phone")
    ]
    fields += [
        (definition.code, definition.label)
        for definition in CustomFieldDefinition.objects.filter(entity="account", is_active=True)
    ]
    return fields


def _clean_definition(
    definition: CustomFieldDefinition, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate the changeable attributes against the (already fixed) type."""
    cleaned = dict(fields)
    if "label" in cleaned:
        cleaned["label"] = str(cleaned["label"]).strip()
        if not cleaned["label"]:
            raise ValidationError({"label": "A custom field needs a label."})
    if "group" in cleaned:
        cleaned["group"] = str(cleaned["group"] or "").strip() or "Custom fields"
    for name in DEFINITION_FIELDS:
        if name in cleaned:
            setattr(definition, name, cleaned[name])
    choices = [str(choice).strip() for choice in definition.choices or [] if str(choice).strip()]
    if definition.field_type in CHOICE_TYPES:
        if not choices:
            raise ValidationError({"choices": "A choice field needs at least one choice."})
        if len(set(choices)) != len(choices):
            raise ValidationError({"choices": "Each choice may appear only once."})
    else:
        choices = []
    definition.choices = choices
    cleaned["choices"] = choices
    if not is_empty(definition.default_value):
        try:
            cleaned["default_value"] = clean_value(definition, definition.default_value)
        except ValidationError as invalid:
            raise ValidationError({"default_value": invalid.messages}) from invalid
    else:
        cleaned["default_value"] = None
    definition.default_value = cleaned["default_value"]
    rule = dict(definition.display_rule or {})
    if rule.get("field"):
        known = dict(display_rule_fields())
        if rule["field"] not in known or rule["field"] == definition.code:
            raise ValidationError(
                {"display_rule": f"“{rule['field']}” is not an attribute of the account."}
            )
        values = [str(value).strip() for value in rule.get("values", []) if str(value).strip()]
        if not values:
            raise ValidationError(
                {"display_rule": "A display rule needs at least one value to match."}
            )
        rule = {"field": rule["field"], "values": values}
    else:
        rule = {}
    definition.display_rule = rule
    cleaned["display_rule"] = rule
    code = definition.provisioning_code
    if code is not None:
        clash = CustomFieldDefinition.objects.filter(provisioning_code=code).exclude(
            pk=definition.pk
        )
        if clash.exists():
            raise ValidationError(
                {"provisioning_code": f"The provisioning code {code} is used by another field."}
            )
    return cleaned


@transaction.atomic
def custom_field_create(
    *, actor: Any, entity: str, label: str, field_type: str, code: str = "", **fields: Any
) -> CustomFieldDefinition:
    if entity not in ENTITIES:
        raise ValidationError({"entity": f"Unknown entity {entity!r}."})
    if field_type not in FIELD_TYPES:
        raise ValidationError({"field_type": f"Unknown field type {field_type!r}."})
    unknown = set(fields) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown custom field attributes: {', '.join(sorted(unknown))}")
    code = code.strip() or _new_code(entity, label)
    if not CODE_PATTERN.match(code):
        raise ValidationError(
            {
                "code": "A key uses lower-case letters, digits and underscores, starting with a "
                "letter (at most 50)."
            }
        )
    if code in _model_columns(entity):
        raise ValidationError({"code": f"“{code}” is already a system field of this entity."})
    if CustomFieldDefinition.objects.filter(entity=entity, code=code).exists():
        raise ValidationError({"code": f"This entity already has a custom field “{code}”."})
    definition = CustomFieldDefinition(entity=entity, code=code, field_type=field_type)
    _clean_definition(definition, {"label": label, **fields})
    with acting_as(actor):
        definition.save()
    emit_event(
        "custom_field.created",
        actor=actor,
        aggregate=definition,
        payload={"entity": entity, "code": code, "type": field_type},
    )
    return definition


@transaction.atomic
def custom_field_update(
    *, actor: Any, definition: CustomFieldDefinition, **fields: Any
) -> CustomFieldDefinition:
    """Change a field's attributes; entity, key and type stay, as records hold its values."""
    fixed = {"entity", "code", "field_type"} & set(fields)
    if fixed:
        raise ValidationError(
            dict.fromkeys(sorted(fixed), "This cannot change once the field exists.")
        )
    unknown = set(fields) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown custom field attributes: {', '.join(sorted(unknown))}")
    before = {name: getattr(definition, name) for name in DEFINITION_FIELDS}
    _clean_definition(definition, fields)
    changed = [name for name in DEFINITION_FIELDS if getattr(definition, name) != before[name]]
    if changed:
        with acting_as(actor):
            definition.save(update_fields=changed)
        emit_event(
            "custom_field.updated",
            actor=actor,
            aggregate=definition,
            payload={"entity": definition.entity, "code": definition.code, "fields": changed},
        )
    return definition


@transaction.atomic
def custom_field_remove(*, actor: Any, definition: CustomFieldDefinition) -> None:
    """Hide the field everywhere; records keep their values until the field is purged."""
    if definition.is_active:
        with acting_as(actor):
            definition.is_active = False
            definition.save(update_fields=["is_active"])
        emit_event(
            "custom_field.removed",
            actor=actor,
            aggregate=definition,
            payload={"entity": definition.entity, "code": definition.code},
        )


@transaction.atomic
def custom_field_restore(*, actor: Any, definition: CustomFieldDefinition) -> None:
    if not definition.is_active:
        with acting_as(actor):
            definition.is_active = True
            definition.save(update_fields=["is_active"])
        emit_event(
            "custom_field.restored",
            actor=actor,
            aggregate=definition,
            payload={"entity": definition.entity, "code": definition.code},
        )


@transaction.atomic
def custom_field_purge(*, actor: Any, definition: CustomFieldDefinition) -> int:
    """Erase a removed field's values from every record, then the field itself.

    Returns how many records lost a value. Only removed fields can be purged, so a
    live field is never wiped by one click.
    """
    if definition.is_active:
        raise ValidationError(f"Remove the field “{definition.label}” before purging its values.")
    purged = 0
    model = entity_model(definition.entity)
    if model is not None:
        # Locked, so an edit saved meanwhile cannot bring the value back or be lost.
        holders = model._default_manager.select_for_update().filter(
            custom_data__has_key=definition.code
        )
        batch = []
        for record in holders.only("pk", "custom_data").iterator(chunk_size=PURGE_BATCH):
            record.custom_data.pop(definition.code, None)
            batch.append(record)
            if len(batch) == PURGE_BATCH:
                purged += model._default_manager.bulk_update(batch, ["custom_data"])
                batch = []
        if batch:
            purged += model._default_manager.bulk_update(batch, ["custom_data"])
    payload = {"entity": definition.entity, "code": definition.code, "records": purged}
    emit_event("custom_field.purged", actor=actor, aggregate=definition, payload=payload)
    with acting_as(actor):
        definition.delete()
    return purged
