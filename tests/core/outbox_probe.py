"""An event handler for the real-worker tests; the worker loads it with ``-I``.

Each run of the handler inserts one NumberSequence row named after the event, in the
handler's own transaction, so the tests can count how many times the handler's effect
was committed.
"""

from __future__ import annotations

import logging
import uuid

from bss.core.events import subscribe
from bss.core.models import Event, NumberSequence

logger = logging.getLogger(__name__)

EVENT_NAME = "outbox_probe.ping"


def effect_prefix(event_id: int) -> str:
    return f"outbox-probe:{event_id}:"


def handler_effects(event_id: int) -> int:
    return NumberSequence.objects.filter(name__startswith=effect_prefix(event_id)).count()


def record_probe_effect(event: Event) -> None:
    NumberSequence.objects.create(name=f"{effect_prefix(event.pk)}{uuid.uuid4().hex}")
    logger.info("outbox probe handled event %s", event.pk)


subscribe(EVENT_NAME, record_probe_effect)
