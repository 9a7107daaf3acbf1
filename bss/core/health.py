"""/healthz: database, broker and worker status for load balancers and compose checks.

The answer is 503 when the web process cannot do its work: no database, or a
configured broker it cannot reach. Workers are reported but do not fail the check: a
web container must not be restarted because the workers are down, and the outbox keeps
their work until they return. The worker status is the age of the newest heartbeat,
which beat schedules and a worker writes, so "stale" means that chain is broken.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from bss.celery import app
from bss.core.models import WorkerHeartbeat
from bss.core.permissions import public

logger = logging.getLogger(__name__)

# Beat schedules a heartbeat every 30 s; four missed ones mean no worker is consuming.
WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=2)
BROKER_CONNECT_TIMEOUT_SECONDS = 2
OK, EAGER = "ok", "eager"


def failed(check: str, error: Exception) -> str:
    """Name the error class only: /healthz is public and messages carry host names."""
    logger.warning("healthz: %s check failed: %s", check, error)
    return f"error: {error.__class__.__name__}"


def tasks_run_eagerly() -> bool:
    return bool(app.conf.task_always_eager)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return failed("database", error)
    return OK


def broker_status() -> str:
    if tasks_run_eagerly():
        return EAGER
    try:
        with app.connection_for_write(connect_timeout=BROKER_CONNECT_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT_SECONDS
            )
    except Exception as error:
        return failed("broker", error)
    return OK


def worker_status() -> str:
    if tasks_run_eagerly():
        return EAGER
    try:
        newest = (
            WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
        )
    except Exception as error:
        return failed("worker", error)
    if newest is None:
        return "no heartbeat yet"
    return OK if timezone.now() - newest < WORKER_HEARTBEAT_MAX_AGE else "stale"


@public
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "broker": broker_status(), "worker": worker_status()}
    healthy = checks["database"] == OK and checks["broker"] in (OK, EAGER)
    return JsonResponse(
        {"status": OK if healthy else "error", **checks}, status=200 if healthy else 503
    )
