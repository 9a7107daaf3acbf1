"""Listeners that act on asset changes inside the same transaction.

Like ``subscriptions.hooks`` for subscriptions: billing sits above subscriptions, so it
registers a listener in its ``AppConfig.ready`` and every asset service that decides
money calls ``asset_changed``; the charge (or the credit and the new charge of a
pricing edit) is written in the same transaction as the asset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from subscriptions.models import Asset

CREATED = "created"
REPRICED = "repriced"
CANCELED = "canceled"


@dataclass(frozen=True)
class AssetChange:
    """What happened to an asset; ``old_*`` are set for a pricing edit."""

    asset: Asset
    kind: str
    actor: Any = None
    old_unit_price: Decimal | None = None
    old_discount_percent: Decimal | None = None
    old_pricing_version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


AssetListener = Callable[[AssetChange], None]

_listeners: dict[str, AssetListener] = {}


def register_asset_listener(key: str, listener: AssetListener) -> None:
    _listeners[key] = listener


def asset_changed(change: AssetChange) -> None:
    for listener in list(_listeners.values()):
        listener(change)
