"""Outbox dispatch, the sweep that catches what the broker missed, and worker heartbeats."""

from __future__ import annotations

import socket
from datetime import timedelta

from celery import shared_task
from django.db.models import F, Q
from django.utils import timezone

from bss.core.events import deliver
from bss.core.models import Event, WorkerHeartbeat

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 20
SWEEP_BATCH = 500


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


@shared_task(acks_late=True, time_limit=300)
def dispatch_event(event_id: int) -> str:
    event = claim_event(event_id)
    if event is None:
        return "not claimable"
    failures = deliver(event)
    if not failures:
        event.status, event.dispatched_at, event.last_error = (
            Event.Status.DISPATCHED,
            timezone.now(),
            "",
        )
    else:
        event.status = (
            Event.Status.FAILED if event.attempts >= MAX_ATTEMPTS else Event.Status.PENDING
        )
        event.last_error = "\n".join(failures)[:4000]
    event.save(update_fields=["status", "dispatched_at", "last_error"])
    return event.status


@shared_task(time_limit=600)
def sweep_outbox() -> int:
    """Dispatch events whose queued message never arrived (broker down, worker killed)."""
    now = timezone.now()
    due = Q(status=Event.Status.PENDING, created_at__lt=now - timedelta(seconds=10)) | Q(
        status=Event.Status.DISPATCHING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    event_ids = list(
        Event.objects.filter(due).order_by("id").values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for event_id in event_ids:
        dispatch_event(event_id)
    return len(event_ids)


@shared_task(time_limit=30)
def record_worker_heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )
