"""Dashboard landing page: apps contribute tiles and panels; core only lays them out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


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
