"""Sending messages: one task per message, and the beat task that catches up on the rest."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from notifications import services

logger = logging.getLogger(__name__)

DUE_BATCH = 200
DUE_TIME_BUDGET_SECONDS = 240


@shared_task(acks_late=True, time_limit=services.SEND_TIME_LIMIT)
def send_message(message_id: int) -> str:
    """Send one message if it is still due; a redelivered task finds it claimed or sent."""
    message = services.deliver_message(message_id)
    return "not due" if message is None else "attempted"


@shared_task(time_limit=DUE_TIME_BUDGET_SECONDS + services.SEND_TIME_LIMIT + 60)
def send_due_messages() -> int:
    """Send the waiting messages whose time has come: retries, and any the broker lost."""
    deadline = time.monotonic() + DUE_TIME_BUDGET_SECONDS
    attempted = 0
    for message_id in services.due_message_ids(DUE_BATCH):
        if time.monotonic() > deadline:
            break  # the next run continues
        if services.deliver_message(message_id) is not None:
            attempted += 1
    if attempted:
        logger.info("notifications: %s due messages attempted", attempted)
    return attempted
