"""Payments' background work: sending card charges, the retry plan, notification plans."""

from __future__ import annotations

from celery import shared_task

from payments import cards, dunning

CHARGE_TIME_LIMIT = 120


@shared_task(acks_late=True, time_limit=CHARGE_TIME_LIMIT)
def send_charge_attempt(attempt_id: int) -> str:
    """Send one due charge attempt; safe to run twice (claimed, idempotency key)."""
    return str(cards.charge_attempt_send(attempt_id=attempt_id).status)


@shared_task(time_limit=1800)
def send_due_charge_attempts() -> int:
    """Beat: send every attempt whose time has come (retries and unanswered charges)."""
    sent = 0
    for attempt_id in cards.due_attempt_ids():
        cards.charge_attempt_send(attempt_id=attempt_id)
        sent += 1
    return sent


@shared_task(time_limit=1800)
def run_notification_plans() -> int:
    """Beat, daily: each due step of each overdue invoice's plan, once."""
    return dunning.dunning_run_due()
