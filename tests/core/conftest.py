"""Real Redis servers and real Celery processes for the outbox, worker and health tests.

Each test module that needs Redis gets a private ``redis-server`` on a free loopback
port, so a test can stop and restart the broker without touching anyone else's. The
worker and beat are ``celery -A bss ...`` subprocesses pointed at that server and at
the test database, which is why the tests that use them run on PostgreSQL with
``django_db(transaction=True)``: the worker must see committed rows.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import connection

from bss.celery import app as celery_app
from bss.core.models import WorkerHeartbeat
from bss.core.tasks import record_worker_heartbeat

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30.0
WORKER_NAME = "outbox-test@%h"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], object],
    *,
    what: str,
    timeout: float = WAIT_SECONDS,
    details: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}\n{details()}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class RedisServer:
    """A private redis-server that a test may stop and start again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, what=f"redis-server on port {self.port}", timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on the PATH (Debian package redis-server)")
    server = RedisServer(free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


def use_broker(broker_url: str | None, *, eager: bool = False) -> None:
    """Send this process's tasks to broker_url (eager=True: run them in-process).

    Celery caches its connection pools, bound to the URL of their first use; they are
    closed and dropped so the next task opens a connection to the new URL.
    """
    celery_app.conf.update(broker_url=broker_url, task_always_eager=eager)
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def publish_to() -> Iterator[Callable[..., None]]:
    """Point this process's Celery app at a broker for one test; restored afterwards."""
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    yield use_broker
    use_broker(saved[0], eager=saved[1])


def database_url_for_subprocesses() -> str:
    """The test database as a DATABASE_URL, for the processes the tests start."""
    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'], safe='')}"


class CeleryProcess:
    """``celery -A bss <command>`` with its output kept in a file for failure messages."""

    def __init__(self, arguments: list[str], *, broker_url: str, log_path: Path) -> None:
        self.log_path = log_path
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "CELERY_BROKER_URL": broker_url,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "LOG_LEVEL": "INFO",
        }
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "bss", *arguments],
                cwd=REPO_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def output_tail(self) -> str:
        return "--- celery output (last 60 lines) ---\n" + "\n".join(
            self.output().splitlines()[-60:]
        )

    def stop(self) -> None:
        stop_process(self.process)


def wait_for_worker_to_drain(worker: CeleryProcess) -> None:
    """Queue a heartbeat and wait for it: a solo worker runs its queue in order, so
    every task sent before has finished too."""
    WorkerHeartbeat.objects.all().delete()
    record_worker_heartbeat.delay()
    wait_until(
        WorkerHeartbeat.objects.exists,
        what="the worker to run a heartbeat task",
        details=worker.output_tail,
    )


@pytest.fixture(scope="module")
def celery_worker_process(
    django_db_setup: None,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryProcess]:
    """One solo worker that also loads the outbox probe handler (tests/core/outbox_probe.py)."""
    if not settings.IS_POSTGRES:
        pytest.skip("the worker process cannot see SQLite's in-memory test database")
    worker = CeleryProcess(
        [
            *("worker", "--pool", "solo", "--hostname", WORKER_NAME),
            *("--include", "tests.core.outbox_probe"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        broker_url=redis_server.url,
        log_path=tmp_path_factory.mktemp("celery") / "worker.log",
    )
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def celery_worker(
    celery_worker_process: CeleryProcess,
    redis_server: RedisServer,
    transactional_db: None,
    publish_to: Callable[..., None],
) -> Iterator[CeleryProcess]:
    """The module's worker, ready and idle, with this process sending tasks to its broker.

    It is drained again afterwards, so no task of one test writes into the next.
    """
    publish_to(redis_server.url)
    wait_for_worker_to_drain(celery_worker_process)
    yield celery_worker_process
    if not redis_server.is_running:
        redis_server.start()
    wait_for_worker_to_drain(celery_worker_process)


@pytest.fixture
def start_celery(
    redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., CeleryProcess]]:
    """Start further celery processes (beat) for one test; they are stopped after it."""
    started: list[CeleryProcess] = []

    def start(*arguments: str) -> CeleryProcess:
        process = CeleryProcess(
            list(arguments),
            broker_url=redis_server.url,
            log_path=tmp_path / f"celery-{len(started)}.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process's output (banners and warnings are skipped)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


@pytest.fixture(autouse=True)
def _outbox_tests_see_only_their_handlers() -> Iterator[None]:
    """The outbox tests count deliveries to the handlers they subscribe; the handlers the
    apps subscribe at start-up (notifications) are set aside while they run."""
    from bss.core import events

    saved = {name: dict(handlers) for name, handlers in events._handlers.items()}
    events._handlers.clear()
    yield
    events._handlers.clear()
    events._handlers.update(saved)
