"""Usage connectors: where pay-per-use usage is pulled from, polled by a beat task.

A *connector* knows how to read one kind of vendor endpoint; a *usage source* is one
configured endpoint using a connector. Sources come from code
(``register_usage_source``) or from the ``USAGE_SOURCES`` setting, a JSON list such as
``[{"key": "backup", "connector": "http_json", "url": "https://meter.example/usage"}]``.

The built-in ``http_json`` connector GETs the URL (with ``?cursor=<last cursor>`` once
there is one) and expects::

    {"records": [{"subscription": "SUB-0000042", "metric": "storage_gb",
                  "quantity": "12.5", "unit": "GB",
                  "occurred_at": "2026-03-01T10:00:00Z", "idempotency_key": "evt-981"}],
     "next_cursor": "opaque text, empty when nothing more"}

It follows ``next_cursor`` for up to ``MAX_PAGES`` pages per poll. The records go through
``usage_ingest`` like any other: a page fetched twice is harmless because keys repeat.
The network call happens outside any database transaction; the cursor is remembered in
the cache only after the page's records are stored, so a lost cursor only re-reads.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from subscriptions.usage import (
    IngestResult,
    RowError,
    parse_usage_rows,
    usage_ingest,
)

logger = logging.getLogger(__name__)

MAX_PAGES = 50
MAX_RESPONSE_BYTES = 50 * 1024 * 1024
CURSOR_TTL = 90 * 24 * 3600


class UsageFetchError(Exception):
    """The source could not be read; the message says why."""


@dataclass(frozen=True)
class UsagePage:
    records: list[Any]
    next_cursor: str = ""


@dataclass(frozen=True)
class UsageSource:
    key: str
    connector: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int = 30
    is_active: bool = True


class UsageConnector(ABC):
    kind: str
    label: Any

    @abstractmethod
    def fetch(self, source: UsageSource, cursor: str) -> UsagePage:
        """One page of records after ``cursor``; raise ``UsageFetchError`` when it cannot."""


CONNECTORS: dict[str, UsageConnector] = {}
_SOURCES: dict[str, UsageSource] = {}


def register_usage_connector(connector: UsageConnector) -> None:
    CONNECTORS[connector.kind] = connector


def register_usage_source(source: UsageSource) -> None:
    _SOURCES[source.key] = source


def usage_sources() -> list[UsageSource]:
    """Registered sources and those of the USAGE_SOURCES setting (the setting wins)."""
    sources = dict(_SOURCES)
    for entry in getattr(settings, "USAGE_SOURCES", None) or []:
        source = UsageSource(
            key=str(entry["key"]),
            connector=str(entry.get("connector", "http_json")),
            url=str(entry["url"]),
            headers={str(k): str(v) for k, v in (entry.get("headers") or {}).items()},
            timeout_seconds=int(entry.get("timeout_seconds", 30)),
            is_active=bool(entry.get("is_active", True)),
        )
        sources[source.key] = source
    return [sources[key] for key in sorted(sources)]


class HttpJsonPullConnector(UsageConnector):
    kind = "http_json"
    label = _("HTTP JSON pull")

    def fetch(self, source: UsageSource, cursor: str) -> UsagePage:
        parts = urlsplit(source.url)
        if parts.scheme not in ("http", "https"):
            raise UsageFetchError(f"{source.key}: only http and https addresses are read.")
        url = source.url
        if cursor:
            query = f"{parts.query}&" if parts.query else ""
            url = urlunsplit(parts._replace(query=query + urlencode({"cursor": cursor})))
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", **source.headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=source.timeout_seconds) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except OSError as error:
            raise UsageFetchError(f"{source.key}: {error}") from error
        if len(body) > MAX_RESPONSE_BYTES:
            raise UsageFetchError(f"{source.key}: the answer is larger than 50 MiB.")
        try:
            data = json.loads(body)
        except ValueError as error:
            raise UsageFetchError(f"{source.key}: the answer is not JSON ({error}).") from error
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise UsageFetchError(f"{source.key}: the answer has no list of records.")
        next_cursor = data.get("next_cursor") or ""
        return UsagePage(records=data["records"], next_cursor=str(next_cursor))


register_usage_connector(HttpJsonPullConnector())


def _cursor_key(source: UsageSource) -> str:
    return f"subscriptions:usage-cursor:{source.key}"


def usage_poll(*, source: UsageSource, actor: Any = None) -> IngestResult:
    """Read every new page of ``source`` and ingest it; malformed records are refused."""
    connector = CONNECTORS.get(source.connector)
    if connector is None:
        raise UsageFetchError(f"{source.key}: unknown connector {source.connector!r}.")
    total = IngestResult()
    cursor = cache.get(_cursor_key(source)) or ""
    for _page in range(MAX_PAGES):
        page = connector.fetch(source, cursor)
        shaped = [
            (index, item) for index, item in enumerate(page.records) if isinstance(item, dict)
        ]
        malformed = [
            RowError(index, "", "A record is a JSON object.")
            for index, item in enumerate(page.records)
            if not isinstance(item, dict)
        ]
        parsed, errors = parse_usage_rows(shaped)
        result = usage_ingest(actor=actor, records=parsed, source=source.key[:20])
        total.received += len(page.records)
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.refused += malformed + errors + result.refused
        if page.next_cursor:
            cursor = page.next_cursor
            cache.set(_cursor_key(source), cursor, CURSOR_TTL)
        if not page.next_cursor or not page.records:
            break
    if total.refused:
        logger.warning(
            "usage source %s: %d records refused, first: %s",
            source.key,
            total.refused_count,
            total.refused[0].as_dict(),
        )
    return total


def usage_poll_all(*, actor: Any = None) -> dict[str, dict[str, Any]]:
    """Poll every active source; one failing source does not stop the others."""
    outcome: dict[str, dict[str, Any]] = {}
    for source in usage_sources():
        if not source.is_active:
            continue
        try:
            outcome[source.key] = usage_poll(source=source, actor=actor).as_dict(max_rows=20)
        except Exception as error:
            logger.exception("usage source %s failed", source.key)
            outcome[source.key] = {"error": str(error)}
    return outcome
