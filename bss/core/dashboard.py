"""Dashboard landing page: apps contribute tiles and panels; core only lays them out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


@dataclass
class Tile:
    label: Any
    value: Any
    icon: str = "graph-up"
    url: str = ""
    hint: Any = ""


@dataclass
class Panel:
    title: Any
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100
    tiles: list[Tile] = field(default_factory=list)


PanelProvider = Callable[[HttpRequest], Panel | None]
_providers: list[PanelProvider] = []


def register_dashboard_panel(provider: PanelProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def dashboard_panels(request: HttpRequest) -> dict[str, list[Any]]:
    panels = [panel for provider in _providers if (panel := provider(request)) is not None]
    panels.sort(key=lambda panel: panel.order)
    tiles = [tile for panel in panels for tile in panel.tiles]
    return {"tiles": tiles, "panels": [panel for panel in panels if panel.template]}


def recent_activity_panel(request: HttpRequest) -> Panel | None:
    """The user's own latest changes: where they left off."""
    from auditlog.models import LogEntry

    entries = (
        LogEntry.objects.filter(actor=request.user)
        .select_related("content_type")
        .order_by("-timestamp")[:8]
    )
    return Panel(
        title=_("Your recent changes"),
        template="core/partials/dashboard_activity.html",
        context={"entries": entries},
        order=50,
    )


def system_status_panel(request: HttpRequest) -> Panel | None:
    from bss.core.health import broker_status, database_status, worker_status
    from bss.core.models import Event
    from bss.core.permissions import user_has_permission

    if not user_has_permission(request.user, "setup", "manage"):
        return None
    checks = [
        (_("Database"), database_status()),
        (_("Job broker"), broker_status()),
        (_("Workers"), worker_status()),
    ]
    waiting = Event.objects.filter(status__in=[Event.Status.PENDING, Event.Status.FAILED]).count()
    return Panel(
        title=_("System status"),
        template="core/partials/dashboard_status.html",
        context={"checks": checks, "waiting_events": waiting},
        order=60,
    )


def register_core_panels() -> None:
    register_dashboard_panel(recent_activity_panel)
    register_dashboard_panel(system_status_panel)
