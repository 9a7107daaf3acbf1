"""Template conditions: simple rows of merge field, operator and value, all of which must hold."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

OPERATORS = [
    ("equals", _("equals")),
    ("not_equals", _("does not equal")),
    ("contains", _("contains")),
    ("not_contains", _("does not contain")),
    ("greater_than", _("is greater than")),
    ("less_than", _("is less than")),
    ("is_empty", _("is empty")),
    ("is_not_empty", _("is not empty")),
    ("changed", _("was changed (updates)")),
]
OPERATOR_CODES = {code for code, _label in OPERATORS}
VALUELESS = {"is_empty", "is_not_empty", "changed"}


def validate_conditions(rows: Any, field_codes: set[str]) -> list[dict[str, str]]:
    """The rows cleaned, or a ValidationError naming the row and what is wrong with it."""
    if not isinstance(rows, list):
        raise ValidationError({"conditions": _t("Conditions must be a list of rows.")})
    cleaned = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValidationError(
                {"conditions": _t("Condition %(n)s is not a row.") % {"n": number}}
            )
        code = str(row.get("field", "")).strip()
        operator = str(row.get("operator", "")).strip()
        value = str(row.get("value", "") or "").strip()
        if code not in field_codes:
            raise ValidationError(
                {
                    "conditions": _t(
                        "Condition %(n)s: %(field)s is not a merge field of this entity."
                    )
                    % {"n": number, "field": code or "—"}
                }
            )
        if operator not in OPERATOR_CODES:
            raise ValidationError(
                {
                    "conditions": _t("Condition %(n)s: unknown operator %(operator)s.")
                    % {"n": number, "operator": operator or "—"}
                }
            )
        if operator not in VALUELESS and value == "":
            raise ValidationError(
                {
                    "conditions": _t("Condition %(n)s: enter the value to compare with.")
                    % {"n": number}
                }
            )
        cleaned.append({"field": code, "operator": operator, "value": value})
    return cleaned


def _comparable(left: Any, right: str) -> tuple[Any, Any]:
    if isinstance(left, bool):
        return left, right.lower() in ("1", "true", "yes", "on")
    if isinstance(left, (int, Decimal, float)):
        try:
            return Decimal(str(left)), Decimal(right)
        except InvalidOperation:
            return str(left), right
    if isinstance(left, datetime.datetime):
        left = left.date()
    if isinstance(left, datetime.date):
        try:
            return left, datetime.date.fromisoformat(right)
        except ValueError:
            return left.isoformat(), right
    return str(left if left is not None else "").casefold(), right.casefold()


def condition_holds(row: dict[str, str], values: dict[str, Any], changed: list[str]) -> bool:
    operator, code = row["operator"], row["field"]
    value = values.get(code)
    if operator == "is_empty":
        return value in (None, "", [])
    if operator == "is_not_empty":
        return value not in (None, "", [])
    if operator == "changed":
        return code.rsplit(".", 1)[-1] in changed
    left, right = _comparable(value, row.get("value", ""))
    try:
        if operator == "equals":
            return bool(left == right)
        if operator == "not_equals":
            return bool(left != right)
        if operator == "contains":
            return str(right) in str(left)
        if operator == "not_contains":
            return str(right) not in str(left)
        if operator == "greater_than":
            return bool(left > right)
        if operator == "less_than":
            return bool(left < right)
    except TypeError:
        return False
    return False


def conditions_hold(rows: list[dict[str, str]], values: dict[str, Any], changed: list[str]) -> bool:
    return all(condition_holds(row, values, changed) for row in rows)
