"""The header menu, quick-create menu and setup links the current user may use."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from bss.core.permissions import user_has_permission
from bss.core.registry import (
    MENU_SECTIONS,
    layout_context_providers,
    menu_entries,
    quick_create_entries,
    setup_entries,
)
from bss.core.translation import enabled_languages


def _links(user: Any, entries: list[Any]) -> list[dict[str, Any]]:
    links = []
    for entry in sorted(entries, key=lambda entry: entry.order):
        if not user_has_permission(user, entry.module, entry.action):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        links.append({"label": entry.label, "url": url, "icon": entry.icon})
    return links


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    context: dict[str, Any] = {
        "organization_name": settings.BSS_ORGANIZATION_NAME,
        "available_languages": enabled_languages(),
    }
    for provider in layout_context_providers:
        context.update(provider(request))
    if user is None or not user.is_authenticated:
        return context
    sections = []
    for code, label in MENU_SECTIONS:
        links = _links(user, [entry for entry in menu_entries if entry.section == code])
        if links:
            sections.append({"code": code, "label": label, "links": links})
    context.update(
        menu_sections=sections,
        quick_create_links=_links(user, quick_create_entries),
        setup_links=_links(user, setup_entries),
    )
    return context
