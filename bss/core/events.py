"""Domain events through the outbox.

``emit_event`` writes an ``Event`` row inside the caller's transaction and, after
commit, asks a worker to dispatch it. If the broker cannot be reached the row simply
waits: the beat-scheduled sweep dispatches every pending event. Handlers are
registered by the apps that react (notifications, billing, webhooks) and each handler
receives each event exactly once (``EventDelivery`` has a unique (event, handler)).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model

from bss.core.models import Event, EventDelivery

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]
_handlers: dict[str, list[tuple[str, EventHandler]]] = {}


def handler_name(handler: EventHandler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def subscribe(event_name: str, handler: EventHandler) -> None:
    """Register a handler for an event name; ``"*"`` receives every event."""
    handlers = _handlers.setdefault(event_name, [])
    name = handler_name(handler)
    if all(existing != name for existing, _handler in handlers):
        handlers.append((name, handler))


def unsubscribe(event_name: str, handler: EventHandler) -> None:
    name = handler_name(handler)
    _handlers[event_name] = [(n, h) for n, h in _handlers.get(event_name, []) if n != name]


def handlers_for(event_name: str) -> list[tuple[str, EventHandler]]:
    return [*_handlers.get(event_name, []), *_handlers.get("*", [])]


def emit_event(
    name: str,
    *,
    actor: Any = None,
    aggregate: Model | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Record an event in the current transaction; dispatch is queued after commit."""
    event = Event.objects.create(
        name=name,
        payload=payload or {},
        aggregate_type=aggregate._meta.label_lower if aggregate is not None else "",
        aggregate_id=str(aggregate.pk) if aggregate is not None else "",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: enqueue_dispatch(event.pk))
    return event


def enqueue_dispatch(event_id: int) -> None:
    from bss.core.tasks import dispatch_event

    try:
        dispatch_event.delay(event_id)
    except Exception:  # the broker is down: the sweep will deliver it
        logger.warning(
            "outbox: could not enqueue event %s; the sweep will retry", event_id, exc_info=True
        )


def deliver(event: Event) -> list[str]:
    """Run each handler that has not yet received this event; return the failures."""
    failures = []
    for name, handler in handlers_for(event.name):
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        EventDelivery.objects.create(event=event, handler=name)
                except IntegrityError:
                    continue  # this handler already has it
                handler(event)
        except Exception as error:
            logger.exception("outbox: handler %s failed on event %s", name, event.pk)
            failures.append(f"{name}: {error}")
    return failures
