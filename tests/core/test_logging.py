"""Structured logging: JSON lines that carry the request id the response reports."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from bss.core.events import emit_event, subscribe, unsubscribe
from bss.core.logging import JsonFormatter, request_id_var
from bss.core.models import Event

pytestmark = pytest.mark.django_db

logger = logging.getLogger(__name__)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the console handler of settings.LOGGING writes during the test."""
    [console] = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, JsonFormatter)
    ]
    assert isinstance(console, logging.StreamHandler)
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    console.setStream(previous)


def test_a_request_log_line_carries_the_id_the_response_reports(
    client: Client, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # when
    response = client.get("/no-such-page")

    # then
    assert response.status_code == 404
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = [line for line in log_lines() if line["message"] == "Not Found: /no-such-page"]
    assert (line["level"], line["logger"], line["status_code"], line["request_id"]) == (
        "WARNING",
        "django.request",
        404,
        request_id,
    )


def test_it_keeps_the_request_id_a_proxy_sent(
    client: Client, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = client.get("/no-such-page", headers={"X-Request-ID": "lb-2f9c.41_a"})

    assert response["X-Request-ID"] == "lb-2f9c.41_a"
    assert [line["request_id"] for line in log_lines() if line["logger"] == "django.request"] == [
        "lb-2f9c.41_a"
    ]


def test_it_replaces_a_request_id_that_is_not_safe_to_log(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": 'x" injected\\n{"level":'})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_line_outside_any_request_has_no_request_id(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logger.warning("billing run %s started", "BR-0007")

    [line] = log_lines()
    assert {key: line[key] for key in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING",
        "logger": "tests.core.test_logging",
        "message": "billing run BR-0007 started",
        "request_id": "-",
    }
    assert "task_id" not in line


def test_an_exception_is_logged_with_its_traceback_in_the_same_line(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    try:
        raise RuntimeError("gateway timed out")
    except RuntimeError:
        logger.exception("payment capture failed")

    [line] = log_lines()
    assert line["message"] == "payment capture failed"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("RuntimeError: gateway timed out")


def log_the_event(event: Event) -> None:
    logger.warning("handling %s", event.name)


def test_a_task_run_eagerly_logs_under_the_request_that_ran_it(
    log_lines: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    subscribe("order.completed", log_the_event)
    token = request_id_var.set("req-51c0")
    try:
        # when
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            emit_event("order.completed")
    finally:
        request_id_var.reset(token)
        unsubscribe("order.completed", log_the_event)

    # then
    [line] = [line for line in log_lines() if line["message"] == "handling order.completed"]
    assert line["request_id"] == "req-51c0"
    assert "task_id" not in line
