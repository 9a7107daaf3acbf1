"""/healthz: what load balancers and the compose health checks read."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bss.core.health import WORKER_HEARTBEAT_MAX_AGE, worker_status
from bss.core.models import WorkerHeartbeat
from tests.core.conftest import RedisServer, free_port

pytestmark = pytest.mark.django_db


def test_it_reports_eager_tasks_when_no_broker_is_configured(
    client: Client, publish_to: Callable[..., None]
) -> None:
    # given: what an unset CELERY_BROKER_URL gives
    publish_to(None, eager=True)

    # when
    response = client.get("/healthz")

    # then

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "eager",
        "worker": "eager",
    }


def test_it_answers_anonymous_callers_and_is_never_cached(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"


def test_it_fails_with_the_error_when_the_broker_is_unreachable(
    client: Client, publish_to: Callable[..., None]
) -> None:
    # given
    publish_to(f"redis://127.0.0.1:{free_port()}/0")

    # when
    started = time.monotonic()
    response = client.get("/healthz")

    # then
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "broker": "error: OperationalError",
        "worker": "no heartbeat yet",
    }


@pytest.mark.redis
def test_it_reports_a_reachable_broker(
    client: Client, redis_server: RedisServer, publish_to: Callable[..., None]
) -> None:
    # given
    publish_to(redis_server.url)

    # when
    response = client.get("/healthz")

    # then: no worker has written a heartbeat, which does not fail the web's check
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "no heartbeat yet",
    }


def test_the_worker_status_follows_the_newest_heartbeat(
    publish_to: Callable[..., None],
) -> None:
    # given: tasks go to a broker (worker status is only "eager" without one)
    publish_to(f"redis://127.0.0.1:{free_port()}/0")
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="celery@worker-1", seen_at=now - timedelta(hours=3))
    assert worker_status() == "stale"

    # when
    WorkerHeartbeat.objects.create(
        hostname="celery@worker-2", seen_at=now - WORKER_HEARTBEAT_MAX_AGE + timedelta(seconds=5)
    )

    # then
    assert worker_status() == "ok"
