"""Small helpers of the notification pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def wrap_field(field: Any) -> list[Any]:
    """One bound field as the list the shared form_fields partial iterates."""
    return [field] if field is not None else []
