"""Template helpers shared by every page: permissions, table cells, sorting, paging."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms, template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from bss.core.permissions import user_has_permission

register = template.Library()


@register.filter
def user_can(permission: tuple[str, str] | None, user: Any) -> bool:
    if not permission:
        return False
    module, action = permission
    return user_has_permission(user, module, action)


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], module: str, action: str) -> bool:
    return user_has_permission(context["request"].user, module, action)


@register.filter
def index(sequence: Any, position: int) -> Any:
    return sequence[position]


@register.filter
def cell(value: Any) -> Any:
    """How a value reads in a table cell: dashes for nothing, local short dates."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return formats.date_format(
            timezone.localtime(value) if timezone.is_aware(value) else value,
            "SHORT_DATETIME_FORMAT",
        )
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return value


@register.filter
def bootstrap_widget(field: forms.BoundField) -> str:
    widget = field.field.widget
    if isinstance(widget, (forms.CheckboxInput,)):
        css = "form-check-input"
    elif isinstance(widget, (forms.Select, forms.SelectMultiple)) and not isinstance(
        widget, forms.CheckboxSelectMultiple
    ):
        css = "form-select"
    elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        css = ""
    else:
        css = "form-control"
    if field.errors and css:
        css += " is-invalid"
    if isinstance(widget, forms.MultiWidget):
        return field.as_widget(attrs={"class": css})
    return field.as_widget(attrs={"class": css} if css else None)


@register.simple_tag
def sort_link(column: Any, current_sort: str, querystring: str) -> str:
    active = current_sort.lstrip("-") == column.sort
    descending = current_sort.startswith("-")
    target = f"-{column.sort}" if active and not descending else column.sort
    icon = ""
    if active:
        icon = "bi-sort-down" if descending else "bi-sort-up"
    prefix = f"{querystring}&" if querystring else ""
    return format_html(
        '<a class="sort-link{}" href="?{}sort={}" hx-get="?{}sort={}" hx-target="#list-results" hx-push-url="true">{} <i class="bi {}"></i></a>',
        " active" if active else "",
        prefix,
        target,
        prefix,
        target,
        column.label,
        icon,
    )


@register.filter
def page_window(page: Any, radius: int = 2) -> list[int | None]:
    """Page numbers around the current one, with None where a gap is elided."""
    last = page.paginator.num_pages
    shown = {1, last, *range(max(1, page.number - radius), min(last, page.number + radius) + 1)}
    numbers: list[int | None] = []
    previous = 0
    for number in sorted(shown):
        if number - previous > 1:
            numbers.append(None)
        numbers.append(number)
        previous = number
    return numbers


HISTORY_HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at"})


@register.filter
def change_pairs(entry: Any) -> list[tuple[str, Any, Any]]:
    """An audit entry's changes as (field, old, new).

    Read through a filter because a field named "items" would shadow ``.items`` in a
    template; many-to-many changes come as {"operation", "objects"} and read as added or
    removed names.
    """
    if entry.action == entry.Action.CREATE:
        return []  # "created" says it all; listing every initial value is noise
    pairs: list[tuple[str, Any, Any]] = []
    for field, values in (entry.changes_dict or {}).items():
        if field in HISTORY_HIDDEN_FIELDS:
            continue
        if isinstance(values, dict):
            names = ", ".join(str(name) for name in values.get("objects", []))
            if values.get("operation") == "delete":
                pairs.append((field, names, ""))
            else:
                pairs.append((field, "", names))
        elif isinstance(values, (list, tuple)) and len(values) >= 2:
            if str(values[1]).endswith(".None") and str(values[0]) in ("None", ""):
                continue  # a reverse relation auditlog recorded as a field
            pairs.append((field, values[0], values[1]))
    return pairs
