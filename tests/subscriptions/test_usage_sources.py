"""The HTTP JSON pull connector against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Account
from catalogue.models import ChargeType
from subscriptions.asset_usage_tasks import poll_usage_sources
from subscriptions.models import Subscription, UsageRecord

pytestmark = pytest.mark.django_db

CURSOR_KEYS = ["subscriptions:usage-cursor:meter", "subscriptions:usage-cursor:broken"]


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


class Meter:
    """Two pages of usage behind a cursor, like a vendor's usage endpoint."""

    def __init__(self) -> None:
        self.pages: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.token_seen: list[str] = []


@pytest.fixture
def meter() -> Iterator[tuple[Meter, str]]:
    state = Meter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            state.token_seen.append(self.headers.get("X-Token", ""))
            cursor = parse_qs(urlsplit(self.path).query).get("cursor", [""])[0]
            body = json.dumps(state.pages.get(cursor, {"records": []})).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    cache.delete_many(CURSOR_KEYS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/usage"
    finally:
        server.shutdown()
        server.server_close()
        cache.delete_many(CURSOR_KEYS)


@pytest.fixture
def metered(customer: Account, make_plan: Any, subscribe: Any) -> Subscription:
    plan = make_plan("0.10", charge_type=ChargeType.RECURRING_PAY_PER_USE)
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        return subscribe(customer, plan, 1, date(2026, 3, 1))


def record(subscription: Subscription, key: str, quantity: str) -> dict[str, Any]:
    return {
        "subscription": subscription.number,
        "metric": "storage_gb",
        "quantity": quantity,
        "unit": "GB",
        "occurred_at": "2026-03-02T10:00:00Z",
        "idempotency_key": key,
    }


def test_the_poll_task_pulls_every_page_and_ingests_once(
    meter: tuple[Meter, str], metered: Subscription, settings: Any
) -> None:
    # given a source with two pages behind a cursor
    state, url = meter
    state.pages[""] = {
        "records": [record(metered, "a", "1.5"), record(metered, "b", "2")],
        "next_cursor": "page-2",
    }
    state.pages["page-2"] = {"records": [record(metered, "c", "3.25")], "next_cursor": ""}
    settings.USAGE_SOURCES = [
        {"key": "meter", "connector": "http_json", "url": url, "headers": {"X-Token": "s3cret"}}
    ]

    # when the beat task polls twice
    with time_machine.travel(at(2026, 3, 3, 0), tick=False):
        first = poll_usage_sources()
        state.pages["page-2"]["records"].append(record(metered, "c", "3.25"))
        second = poll_usage_sources()

    # then the three records are stored once, with the source's name
    assert (first["meter"]["accepted"], first["meter"]["duplicates"]) == (3, 0)
    assert (second["meter"]["accepted"], second["meter"]["duplicates"]) == (0, 2)
    assert state.requests == ["/usage", "/usage?cursor=page-2", "/usage?cursor=page-2"]
    assert set(state.token_seen) == {"s3cret"}
    stored = UsageRecord.objects.filter(subscription=metered)
    assert sorted(stored.values_list("idempotency_key", flat=True)) == ["a", "b", "c"]
    assert {row.source for row in stored} == {"meter"}
    assert sum(row.quantity for row in stored) == Decimal("6.75")


def test_a_failing_source_is_reported_and_the_others_still_run(
    meter: tuple[Meter, str], metered: Subscription, settings: Any
) -> None:
    state, url = meter
    state.pages[""] = {"records": [record(metered, "x", "1")]}
    settings.USAGE_SOURCES = [
        {"key": "broken", "url": "http://127.0.0.1:9/nothing", "timeout_seconds": 2},
        {"key": "meter", "url": url},
    ]
    with time_machine.travel(at(2026, 3, 3, 0), tick=False):
        outcome = poll_usage_sources()
    assert "error" in outcome["broken"]
    assert outcome["meter"]["accepted"] == 1
