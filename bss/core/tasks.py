"""Outbox dispatch, the sweep that catches what the broker missed, and worker heartbeats."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

from celery import Task, shared_task
from django.db.models import F, Q
from django.utils import timezone

from bss.core.events import deliver
from bss.core.models import Event, WorkerHeartbeat

logger = logging.getLogger(__name__)

DISPATCH_TIME_LIMIT = 240
# Longer than a dispatch may live, so a claim is only taken over from a dead worker.
CLAIM_TIMEOUT = timedelta(seconds=DISPATCH_TIME_LIMIT + 60)
# A fresh event normally has its dispatch message in the queue; the sweep leaves it alone.
SWEEP_GRACE = timedelta(seconds=10)
SWEEP_BATCH = 500
SWEEP_TIME_BUDGET_SECONDS = 240
MAX_ATTEMPTS = 20


def claim_event(event_id: int) -> Event | None:
    """Take the event with a conditional update so two workers never dispatch it at once."""
    now = timezone.now()
    claimable = Q(status=Event.Status.PENDING) | Q(
        status=Event.Status.DISPATCHING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    claimed = Event.objects.filter(claimable, pk=event_id).update(
        status=Event.Status.DISPATCHING, claimed_at=now, attempts=F("attempts") + 1
    )
    return Event.objects.get(pk=event_id) if claimed else None


@shared_task(acks_late=True, time_limit=DISPATCH_TIME_LIMIT)
def dispatch_event(event_id: int) -> str:
    """Deliver one event to its handlers; safe to run twice or concurrently."""
    event = claim_event(event_id)
    if event is None:
        return "not claimable"
    failures = deliver(event)
    outcome: dict[str, object]
    if not failures:
        outcome = {
            "status": Event.Status.DISPATCHED,
            "dispatched_at": timezone.now(),
            "last_error": "",
        }
    else:
        gave_up = event.attempts >= MAX_ATTEMPTS
        outcome = {
            "status": Event.Status.FAILED if gave_up else Event.Status.PENDING,
            "last_error": "\n".join(failures)[:4000],
        }
    # Only the holder of the claim records the outcome: if the claim went stale and the
    # sweep handed the event to another worker, that worker's outcome stands.
    recorded = Event.objects.filter(
        pk=event.pk, status=Event.Status.DISPATCHING, claimed_at=event.claimed_at
    ).update(**outcome)
    if not recorded:
        logger.warning("outbox: event %s was taken over before this dispatch finished", event.pk)
    return str(outcome["status"])


@shared_task(acks_late=True, time_limit=SWEEP_TIME_BUDGET_SECONDS + DISPATCH_TIME_LIMIT + 60)
def dispatch_events(event_ids: list[int]) -> int:
    """Deliver a batch written by ``emit_events``: one message instead of one per event.

    Each event is claimed on its own, so a redelivered or overlapping batch skips the
    events already dispatched; whatever this task leaves pending the sweep picks up.
    """
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    dispatched = 0
    for event_id in event_ids:
        if time.monotonic() > deadline:
            break
        if dispatch_event(event_id) != "not claimable":
            dispatched += 1
    return dispatched


@shared_task(time_limit=SWEEP_TIME_BUDGET_SECONDS + DISPATCH_TIME_LIMIT + 60)
def sweep_outbox() -> int:
    """Dispatch events whose queued message never arrived (broker down, worker killed).

    Runs the dispatches here rather than queueing them, so a backlog left by an outage
    is worked off even while the queue is slow, and never queued twice.
    """
    now = timezone.now()
    due = Q(status=Event.Status.PENDING, created_at__lt=now - SWEEP_GRACE) | Q(
        status=Event.Status.DISPATCHING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    # Fewest attempts first: events that keep failing do not hold back fresh ones.
    event_ids = list(
        Event.objects.filter(due)
        .order_by("attempts", "id")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    dispatched = 0
    for event_id in event_ids:
        if time.monotonic() > deadline:
            break  # the next sweep continues; the time limit would kill us mid-event
        dispatch_event(event_id)
        dispatched += 1
    if dispatched:
        logger.info("outbox: sweep dispatched %s events", dispatched)
    return dispatched


@shared_task(bind=True, time_limit=30)
def record_worker_heartbeat(self: Task) -> None:
    """Beat schedules this; /healthz reads its age to tell whether workers consume."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or socket.gethostname(),
        defaults={"seen_at": timezone.now()},
    )


@shared_task(time_limit=300)
def purge_idempotency_keys() -> int:
    """Forget API idempotency keys past their lifetime (daily, from beat)."""
    from bss.core.idempotency import purge_expired_idempotency_keys

    return purge_expired_idempotency_keys()
