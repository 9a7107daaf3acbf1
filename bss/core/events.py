"""Domain events through the outbox.

``emit_event`` writes an ``Event`` row inside the caller's transaction and, after
commit, asks a worker to dispatch it. If the broker cannot be reached the row simply
waits: the beat-scheduled sweep dispatches every pending event. Handlers are
registered by the apps that react (notifications, billing, webhooks), usually in their
``AppConfig.ready``, and each handler's database work for an event is committed exactly
once: it runs in one transaction with the handler's ``EventDelivery`` row, whose
(event, handler) pair is unique. Work outside the database (an email, a webhook call)
can still repeat when a worker dies at the wrong moment, so it carries an idempotency
key made from the event id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model

from bss.core.bulk_writes import copy_rows, supports_copy
from bss.core.models import Event, EventDelivery

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]
ALL_EVENTS = "*"
_handlers: dict[str, dict[str, EventHandler]] = {}


def handler_name(handler: EventHandler) -> str:
    """The name a delivery is recorded under; moving or renaming a handler changes it."""
    return f"{handler.__module__}.{handler.__qualname__}"


def subscribe(event_name: str, handler: EventHandler) -> None:
    """Register a handler for an event name; ``ALL_EVENTS`` ("*") receives every event."""
    name = handler_name(handler)
    handlers = _handlers.setdefault(event_name, {})
    registered = handlers.get(name)
    if registered is not None and registered is not handler:
        # Two callables under one name would share one delivery record: the second
        # would never run. Closures made by one factory all have the same name.
        raise ValueError(f"another handler is already subscribed to {event_name!r} as {name}")
    handlers[name] = handler


def unsubscribe(event_name: str, handler: EventHandler) -> None:
    _handlers.get(event_name, {}).pop(handler_name(handler), None)


def handlers_for(event_name: str) -> dict[str, EventHandler]:
    return {**_handlers.get(event_name, {}), **_handlers.get(ALL_EVENTS, {})}


def event_values(
    name: str,
    *,
    actor: Any = None,
    aggregate: Model | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of an event row, as ``emit_event`` writes it and ``emit_events`` takes it."""
    return {
        "name": name,
        "payload": payload or {},
        "aggregate_type": aggregate._meta.label_lower if aggregate is not None else "",
        "aggregate_id": str(aggregate.pk) if aggregate is not None else "",
        "actor_id": actor.pk if getattr(actor, "is_authenticated", False) else None,
    }


def emit_event(
    name: str,
    *,
    actor: Any = None,
    aggregate: Model | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Record an event in the current transaction; dispatch is queued after commit.

    A rolled-back transaction takes the event with it and dispatches nothing.
    """
    event = Event(**event_values(name, actor=actor, aggregate=aggregate, payload=payload))
    event.save()
    transaction.on_commit(partial(enqueue_dispatch, event.pk))
    return event


def emit_events(rows: list[dict[str, Any]]) -> list[int]:
    """Record many events (``event_values`` rows) at once, for bulk writers such as the
    billing run; returns their ids.

    Same outbox contract as ``emit_event``: the rows are written in the caller's
    transaction and, after commit, one task message dispatches the whole batch.
    """
    if not rows:
        return []
    if supports_copy():
        event_ids = copy_rows(Event, rows)
    else:
        created = Event.objects.bulk_create([Event(**row) for row in rows], batch_size=2000)
        event_ids = [event.pk for event in created]
    transaction.on_commit(partial(enqueue_batch_dispatch, event_ids))
    return event_ids


def enqueue_dispatch(event_id: int) -> None:
    from bss.core.tasks import dispatch_event

    try:
        dispatch_event.delay(event_id)
    except Exception as error:
        # The change is committed and the event row is pending: failing the caller now
        # would not undo anything, and the sweep dispatches the row once the broker is back.
        logger.warning(
            "outbox: event %s not queued (%s); the sweep will dispatch it", event_id, error
        )


def enqueue_batch_dispatch(event_ids: list[int]) -> None:
    from bss.core.tasks import dispatch_events

    try:
        dispatch_events.delay(event_ids)
    except Exception as error:
        logger.warning(
            "outbox: %s events not queued (%s); the sweep will dispatch them", len(event_ids), error
        )


def deliver(event: Event) -> list[str]:
    """Run each handler that has not yet received this event; return the failures.

    A handler that raises has its transaction, delivery row included, rolled back, so
    a later dispatch runs it again while the handlers that succeeded are skipped.
    """
    failures = []
    for name, handler in handlers_for(event.name).items():
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        EventDelivery.objects.create(event=event, handler=name)
                except IntegrityError:
                    continue  # an earlier dispatch already committed this handler's work
                handler(event)
        except Exception as error:
            logger.exception("outbox: handler %s failed on event %s", name, event.pk)
            failures.append(f"{name}: {error.__class__.__name__}: {error}")
    return failures
