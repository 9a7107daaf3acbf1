"""Listeners that act on subscription changes inside the same transaction.

Subscriptions sit below billing, so they never import it. Billing registers a listener
in its ``AppConfig.ready``; every service here calls ``changes_recorded`` with the rows
it wrote, and billing records the charges those rows decide before the transaction
commits: a change and its charge are saved together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from subscriptions.models import SubscriptionChange

ChangeListener = Callable[[Sequence["SubscriptionChange"]], None]

_listeners: dict[str, ChangeListener] = {}


def register_change_listener(key: str, listener: ChangeListener) -> None:
    _listeners[key] = listener


def changes_recorded(changes: Sequence[SubscriptionChange]) -> None:
    if not changes:
        return
    for listener in list(_listeners.values()):
        listener(changes)
