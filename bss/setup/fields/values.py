"""The one place custom-field values are checked, converted and merged into custom data.

Forms, the API, imports and services all call ``validate_custom_data``; it returns the
record's new ``custom_data`` or raises a ``ValidationError`` keyed by field code whose
messages name the field by its label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Model
from django.utils.translation import gettext as _

from bss.core.custom_fields import ISO_DATE, normalized_decimal
from bss.setup.models import CustomFieldDefinition

ACCOUNT_ENTITY = "account"
TEXT_LIMIT = 255
LONG_TEXT_LIMIT = 10_000
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_check_url = URLValidator(schemes=["http", "https"])


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def clean_value(definition: CustomFieldDefinition, raw: Any) -> Any:
    """One value converted to what custom data stores, or None for "no value"."""
    if isinstance(raw, str):
        raw = raw.strip()
    if is_empty(raw):
        return None
    label = definition.label
    cleaner = _CLEANERS[definition.field_type]
    return cleaner(label, raw, list(definition.choices or []))


def _clean_text(label: str, raw: Any, choices: list[str], limit: int = TEXT_LIMIT) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("%(label)s must be text.") % {"label": label})
    if len(raw) > limit:
        raise ValidationError(
            _("%(label)s is limited to %(limit)d characters.") % {"label": label, "limit": limit}
        )
    return raw


def _clean_long_text(label: str, raw: Any, choices: list[str]) -> str:
    return _clean_text(label, raw, choices, limit=LONG_TEXT_LIMIT)


def _clean_integer(label: str, raw: Any, choices: list[str]) -> int:
    message = _("%(label)s must be a whole number.") % {"label": label}
    if isinstance(raw, bool):
        raise ValidationError(message)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    if isinstance(raw, (float, Decimal)) and raw == int(raw):
        return int(raw)
    raise ValidationError(message)


def _clean_decimal(label: str, raw: Any, choices: list[str]) -> str:
    message = _("%(label)s must be a number.") % {"label": label}
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
        raise ValidationError(message)
    try:
        number = Decimal(str(raw))
    except InvalidOperation as invalid:
        raise ValidationError(message) from invalid
    if not number.is_finite():
        raise ValidationError(message)
    return normalized_decimal(number)


def _clean_date(label: str, raw: Any, choices: list[str]) -> str:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw.isoformat()
    if isinstance(raw, str) and ISO_DATE.match(raw):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise ValidationError(_("%(label)s must be a date (YYYY-MM-DD).") % {"label": label})


def _clean_boolean(label: str, raw: Any, choices: list[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise ValidationError(_("%(label)s must be yes or no.") % {"label": label})


def _clean_choice(label: str, raw: Any, choices: list[str]) -> str:
    if not isinstance(raw, str) or raw not in choices:
        raise ValidationError(
            _("%(label)s: “%(value)s” is not one of the choices.") % {"label": label, "value": raw}
        )
    return raw


def _clean_multi_choice(label: str, raw: Any, choices: list[str]) -> list[str] | None:
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(_("%(label)s must be a list of choices.") % {"label": label})
    picked: list[str] = []
    for item in raw:
        chosen = _clean_choice(label, item.strip() if isinstance(item, str) else item, choices)
        if chosen not in picked:
            picked.append(chosen)
    return picked or None


def _clean_email(label: str, raw: Any, choices: list[str]) -> str:
    text = _clean_text(label, raw, choices)
    try:
        validate_email(text)
    except ValidationError as invalid:
        raise ValidationError(
            _("%(label)s must be a valid email address.") % {"label": label}
        ) from invalid
    return text


def _clean_url(label: str, raw: Any, choices: list[str]) -> str:
    text = _clean_text(label, raw, choices)
    try:
        _check_url(text)
    except ValidationError as invalid:
        raise ValidationError(
            _("%(label)s must be a valid web address (http or https).") % {"label": label}
        ) from invalid
    return text


_CLEANERS = {
    "text": _clean_text,
    "long_text": _clean_long_text,
    "integer": _clean_integer,
    "decimal": _clean_decimal,
    "date": _clean_date,
    "boolean": _clean_boolean,
    "choice": _clean_choice,
    "multi_choice": _clean_multi_choice,
    "email": _clean_email,
    "url": _clean_url,
}


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal):
        return normalized_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def account_context_of(
    account: Model | None, changes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The values display rules read: the account's fields and its custom data.

    ``changes`` are the values about to be saved (form or API input), so a rule follows
    what the user just chose rather than what was stored before.
    """
    context: dict[str, Any] = {}
    if account is not None:
        context.update(getattr(account, "custom_data", None) or {})
        for model_field in account._meta.concrete_fields:
            if model_field.name != "custom_data":
                context[model_field.name] = _plain(getattr(account, model_field.attname))
    for name, value in (changes or {}).items():
        if name != "custom_data":
            context[name] = _plain(value)
    return context


def rule_matches(display_rule: Mapping[str, Any] | None, context: Mapping[str, Any] | None) -> bool:
    """Whether a field with this display rule is shown (and can be required) here.

    Without a context (no account known) every field is shown.
    """
    if not display_rule or not display_rule.get("field") or context is None:
        return True
    allowed = {_rule_text(value) for value in display_rule.get("values", [])}
    actual = context.get(display_rule["field"])
    if isinstance(actual, (list, tuple)):
        return any(_rule_text(item) in allowed for item in actual)
    return actual is not None and _rule_text(actual) in allowed


def _rule_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate_custom_data(
    entity: str,
    data: Mapping[str, Any] | None,
    *,
    account_context: Mapping[str, Any] | None = None,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``data`` against the entity's fields and return the record's new custom data.

    ``existing`` is the record's stored custom data, or None when the record is being
    created (then defaults apply). Keys left out keep their stored value; an empty value
    clears it. Values of removed (inactive) fields are kept until purged and may be sent
    back unchanged, but not changed.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError(
            {"custom_data": _("Custom fields must be an object of field keys and values.")}
        )
    definitions = {
        definition.code: definition
        for definition in CustomFieldDefinition.objects.filter(entity=entity)
    }
    active = sorted(
        (definition for definition in definitions.values() if definition.is_active),
        key=lambda definition: (definition.group, definition.ordering, definition.label),
    )
    merged: dict[str, Any] = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for code, raw in data.items():
        definition = definitions.get(code)
        if definition is None or not definition.is_active:
            if code in merged and merged[code] == raw:
                continue
            errors[code] = [
                _("Unknown custom field “%(code)s”.") % {"code": code}
                if definition is None
                else _("%(label)s has been removed and cannot be changed.")
                % {"label": definition.label}
            ]
            continue
        try:
            value = clean_value(definition, raw)
        except ValidationError as invalid:
            errors[code] = list(invalid.messages)
            continue
        if value is None:
            merged.pop(code, None)
        else:
            merged[code] = value
    if existing is None:
        for definition in active:
            if definition.code not in data and not is_empty(definition.default_value):
                merged[definition.code] = clean_value(definition, definition.default_value)
    context = None if account_context is None else dict(account_context)
    if context is not None and entity == ACCOUNT_ENTITY:
        # The record is the account: its rules read the custom values being saved now.
        context = {name: value for name, value in context.items() if name not in definitions}
        context.update(merged)
    for definition in active:
        if (
            definition.is_required
            and definition.code not in errors
            and is_empty(merged.get(definition.code))
            and rule_matches(definition.display_rule, context)
        ):
            errors[definition.code] = [_("%(label)s is required.") % {"label": definition.label}]
    if errors:
        raise ValidationError(errors)
    return merged
