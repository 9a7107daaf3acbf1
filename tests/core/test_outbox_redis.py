"""The outbox, a Celery worker and beat on a real Redis broker and the real test database."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from bss.core.events import emit_event, handler_name
from bss.core.logging import request_id_var
from bss.core.models import Event, EventDelivery, WorkerHeartbeat
from bss.core.tasks import (
    CLAIM_TIMEOUT,
    SWEEP_GRACE,
    dispatch_event,
    record_worker_heartbeat,
    sweep_outbox,
)
from tests.conftest import requires_postgres
from tests.core import outbox_probe
from tests.core.conftest import (
    CeleryProcess,
    RedisServer,
    json_lines,
    wait_for_worker_to_drain,
    wait_until,
)

pytestmark = [pytest.mark.redis, requires_postgres, pytest.mark.django_db(transaction=True)]

# Publishing gives up after one quick retry (CELERY_BROKER_TRANSPORT_OPTIONS); a web
# request that emits an event while Redis is down must not hang on it.
PUBLISH_FAILS_WITHIN_SECONDS = 5


def event_status(event: Event) -> str:
    return Event.objects.values_list("status", flat=True).get(pk=event.pk)


def probe_log_lines(worker: CeleryProcess, event: Event) -> list[dict[str, Any]]:
    return [
        line
        for line in json_lines(worker.output())
        if line["logger"] == "tests.core.outbox_probe"
        and line["message"] == f"outbox probe handled event {event.pk}"
    ]


def test_a_task_sent_through_the_broker_runs_in_the_worker(
    celery_worker: CeleryProcess, client: Client
) -> None:
    # given: the worker fixture has drained the queue with one heartbeat
    WorkerHeartbeat.objects.all().delete()

    # when: a project task is sent, and a request commits a change with an event
    record_worker_heartbeat.delay()
    token = request_id_var.set("req-7f3a9c")  # as RequestIdMiddleware does
    try:
        with transaction.atomic():
            event = emit_event(outbox_probe.EVENT_NAME, payload={"invoice": "INV-000041"})
    finally:
        request_id_var.reset(token)

    # then: the worker wrote into this test's database
    wait_until(
        lambda: event_status(event) == Event.Status.DISPATCHED,
        what="the dispatch queued after commit",
        details=celery_worker.output_tail,
    )
    assert WorkerHeartbeat.objects.get().hostname.startswith("outbox-test@")
    assert outbox_probe.handler_effects(event.pk) == 1
    # and its log line carries the id of the request that queued the work
    [log_line] = probe_log_lines(celery_worker, event)
    assert log_line["request_id"] == "req-7f3a9c"
    assert log_line["task_id"] not in ("", "-", "req-7f3a9c")
    # and /healthz sees the broker and the worker
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "worker": "ok"}


def test_an_event_emitted_while_the_broker_is_down_is_delivered_once_it_is_back(
    celery_worker: CeleryProcess, redis_server: RedisServer
) -> None:
    # given: Redis is gone
    redis_server.stop()

    # when: a service commits a change with its event
    started = time.monotonic()
    with transaction.atomic():
        event = emit_event(outbox_probe.EVENT_NAME, payload={"invoice": "INV-000042"})
    publish_seconds = time.monotonic() - started

    # then: the commit went through quickly and the event waits in the outbox
    assert publish_seconds < PUBLISH_FAILS_WITHIN_SECONDS
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.PENDING, 0)
    assert outbox_probe.handler_effects(event.pk) == 0

    # when: Redis is back and the next sweep runs (as beat would send it, past the grace
    # period the sweep leaves to a fresh event's own queued message)
    redis_server.start()
    Event.objects.filter(pk=event.pk).update(created_at=event.created_at - 2 * SWEEP_GRACE)
    sweep = sweep_outbox.delay()

    # then: the worker delivered it, exactly once
    wait_until(
        lambda: event_status(event) == Event.Status.DISPATCHED,
        what="the sweep to dispatch the event",
        details=celery_worker.output_tail,
    )
    event.refresh_from_db()
    assert (event.attempts, event.last_error) == (1, "")
    assert list(EventDelivery.objects.filter(event=event).values_list("handler", flat=True)) == [
        handler_name(outbox_probe.record_probe_effect)
    ]
    assert outbox_probe.handler_effects(event.pk) == 1
    # nothing queued it but the sweep, so its log line carries the sweep's task id
    [log_line] = probe_log_lines(celery_worker, event)
    assert (log_line["request_id"], log_line["task_id"]) == (sweep.id, sweep.id)

    # when: more sweeps and a redelivered dispatch message arrive
    sweep_outbox.delay()
    dispatch_event.delay(event.pk)
    sweep_outbox.delay()
    wait_for_worker_to_drain(celery_worker)

    # then: nothing runs twice
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.DISPATCHED, 1)
    assert EventDelivery.objects.filter(event=event).count() == 1
    assert outbox_probe.handler_effects(event.pk) == 1

    # when: a worker died after its handlers committed but before it recorded the
    # outcome, so its claim stayed open until the sweep takes it over
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.DISPATCHING,
        claimed_at=timezone.now() - CLAIM_TIMEOUT - SWEEP_GRACE,
        dispatched_at=None,
    )
    sweep_outbox.delay()

    # then: the event is finished without running the handler again
    wait_until(
        lambda: event_status(event) == Event.Status.DISPATCHED,
        what="the sweep to finish the stale claim",
        details=celery_worker.output_tail,
    )
    event.refresh_from_db()
    assert event.attempts == 2
    assert EventDelivery.objects.filter(event=event).count() == 1
    assert outbox_probe.handler_effects(event.pk) == 1


def test_beat_runs_the_settings_schedule_through_the_broker_to_the_worker(
    celery_worker: CeleryProcess, start_celery: Any
) -> None:
    # given: the heartbeat entry as an earlier release left it (another interval, last
    # run an hour ago; a new entry would first run one interval after beat starts)
    PeriodicTask.objects.create(
        name="worker-heartbeat",
        task="bss.core.tasks.record_worker_heartbeat",
        interval=IntervalSchedule.objects.create(every=3600, period=IntervalSchedule.SECONDS),
        last_run_at=timezone.now() - timedelta(hours=1),
    )
    WorkerHeartbeat.objects.all().delete()

    # when
    beat = start_celery("beat")

    # then: the heartbeat beat sent went through Redis to the worker
    wait_until(
        WorkerHeartbeat.objects.exists,
        what="a heartbeat sent by beat",
        details=lambda: beat.output_tail() + "\n" + celery_worker.output_tail(),
    )
    # and the DatabaseScheduler brought its table in line with CELERY_BEAT_SCHEDULE
    schedule = {
        task.name: (task.task, task.interval.every if task.interval else "crontab")
        for task in PeriodicTask.objects.exclude(name="celery.backend_cleanup").select_related(
            "interval"
        )
    }
    expected = {
        name: (
            entry["task"],
            int(entry["schedule"]) if isinstance(entry["schedule"], int | float) else "crontab",
        )
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    assert schedule == expected
    assert schedule["outbox-sweep"] == ("bss.core.tasks.sweep_outbox", 60)
    assert schedule["billing-daily-run"][1] == "crontab"
