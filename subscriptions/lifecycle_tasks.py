"""Daily jobs of the subscription life cycle: trial expiry and trial-ending notices.

Each task re-checks every subscription under its row lock and is safe to run twice.
"""

from __future__ import annotations

from celery import shared_task

from subscriptions import trials

TIME_LIMIT = 1800


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def expire_trials() -> int:
    """Beat: end every trial whose last day has passed without an upgrade."""
    return trials.expire_ended_trials()


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def send_trial_notices() -> int:
    """Beat: the 7/3/1-day trial-ending events due today, each once."""
    return trials.send_trial_notices()
