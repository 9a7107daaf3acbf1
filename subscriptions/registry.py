"""What higher apps plug into the subscription page: panels such as charges and invoices.

``subscriptions`` sits below billing, so it never imports it. Billing registers its
panels in its ``AppConfig.ready``; the subscription page shows each panel to users who
hold the panel's permission, in the order given. Registering under a key that is taken
replaces the earlier panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from subscriptions.models import Subscription

PanelRenderer = Callable[[HttpRequest, "Subscription"], str]


@dataclass(frozen=True)
class SubscriptionPanel:
    """A card on the subscription page; ``render`` returns its HTML, or "" to hide it."""

    key: str
    label: Any
    render: PanelRenderer
    module: str
    action: str = "view"
    order: int = 100


_panels: dict[str, SubscriptionPanel] = {}


def register_subscription_panel(
    key: str,
    label: Any,
    render: PanelRenderer,
    module: str,
    action: str = "view",
    *,
    order: int = 100,
) -> None:
    _panels[key] = SubscriptionPanel(key, label, render, module, action, order)


def subscription_panels() -> list[SubscriptionPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, str(panel.label)))
