"""Template helpers of the Customers pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def label_of(labels: Mapping[str, Any], key: str) -> Any:
    """The label of a value-list key, the key itself once the value was removed, or a dash."""
    if not key:
        return "—"
    return labels.get(key, key)
