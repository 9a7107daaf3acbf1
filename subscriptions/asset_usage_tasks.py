"""Jobs of assets and usage: the daily asset expiry and the usage connectors' poll.

Each task calls one service and is safe to run twice (an expired asset stays expired,
usage keys repeat harmlessly).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from subscriptions.assets import assets_expire_due
from subscriptions.usage_sources import usage_poll_all

POLL_TIME_LIMIT = 30 * 60


@shared_task(acks_late=True, time_limit=1800)
def expire_assets() -> int:
    """Daily: active assets whose expiration date has come become expired."""
    return assets_expire_due()


@shared_task(acks_late=True, time_limit=POLL_TIME_LIMIT)
def poll_usage_sources() -> dict[str, Any]:
    """Pull new usage from every configured usage source."""
    return usage_poll_all()
