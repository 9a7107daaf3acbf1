"""/healthz: database, broker and worker status for load balancers and compose checks."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from bss.core.models import WorkerHeartbeat
from bss.core.permissions import public

WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=2)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as error:
        return f"error: {error.__class__.__name__}"


def broker_status() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        from bss.celery import app

        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as error:
        return f"error: {error.__class__.__name__}"


def worker_status() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        newest = (
            WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
        )
    except Exception as error:
        return f"error: {error.__class__.__name__}"
    if newest is None:
        return "no heartbeat yet"
    return "ok" if timezone.now() - newest < WORKER_HEARTBEAT_MAX_AGE else "stale"


@public
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "broker": broker_status(), "worker": worker_status()}
    healthy = checks["database"] == "ok" and checks["broker"] in ("ok", "eager")
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
