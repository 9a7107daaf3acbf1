"""What apps contribute to the shared layout: menu entries, quick-create links, search.

Apps register in their ``AppConfig.ready``; ``bss.core`` never imports them. The header
shows an entry only to users holding its permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from bss.core.custom_fields import search_condition

MENU_SECTIONS = [
    ("office", _("Office")),
    ("sales", _("Sales")),
    ("billing", _("Billing")),
    ("support", _("Support")),
]


@dataclass(frozen=True)
class MenuEntry:
    section: str
    label: Any
    url_name: str
    module: str
    action: str = "view"
    icon: str = "circle"
    order: int = 100


@dataclass(frozen=True)
class QuickCreateEntry:
    label: Any
    url_name: str
    module: str
    action: str = "create"
    icon: str = "plus-lg"
    order: int = 100


@dataclass(frozen=True)
class SearchProvider:
    """How global search finds one entity: exact-ish number match or name contains."""

    label: Any
    module: str
    queryset: Callable[[], QuerySet]
    number_field: str
    name_fields: tuple[str, ...]
    describe: Callable[[Model], str]
    url: Callable[[Model], str]

    def condition(self, term: str) -> Q:
        """Number or name match, or a search-criterion custom field of the entity."""
        condition = Q(**{f"{self.number_field}__iexact": term})
        for field in self.name_fields:
            condition |= Q(**{f"{field}__icontains": term})
        return condition | search_condition(self.queryset().model, term)


menu_entries: list[MenuEntry] = []
quick_create_entries: list[QuickCreateEntry] = []
search_providers: list[SearchProvider] = []
setup_entries: list[MenuEntry] = []


layout_context_providers: list[Callable[[Any], dict[str, Any]]] = []


def register_layout_context(provider: Callable[[Any], dict[str, Any]]) -> None:
    """Let a higher app put values every page's layout needs (organization name, logo)."""
    if provider not in layout_context_providers:
        layout_context_providers.append(provider)


def register_menu_entry(entry: MenuEntry) -> None:
    if entry not in menu_entries:
        menu_entries.append(entry)


def register_setup_entry(entry: MenuEntry) -> None:
    if entry not in setup_entries:
        setup_entries.append(entry)


def register_quick_create(entry: QuickCreateEntry) -> None:
    if entry not in quick_create_entries:
        quick_create_entries.append(entry)


def register_search_provider(provider: SearchProvider) -> None:
    if all(existing.label != provider.label for existing in search_providers):
        search_providers.append(provider)
