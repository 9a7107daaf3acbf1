"""Jobs of the subscription life cycle: trial expiry and notices, approving requests.

Each task re-checks every subscription under its row lock and is safe to run twice.
"""

from __future__ import annotations

import logging

from celery import shared_task

from subscriptions import trials

TIME_LIMIT = 1800
logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def expire_trials() -> int:
    """Beat: end every trial whose last day has passed without an upgrade."""
    return trials.expire_ended_trials()


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def send_trial_notices() -> int:
    """Beat: the 7/3/1-day trial-ending events due today, each once."""
    return trials.send_trial_notices()


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def approve_customer_request(
    request_id: int,
    actor_id: int | None,
    timing: str | None = None,
    cancel_date: str | None = None,
    refund: str = "policy",
    custom_refund: str | None = None,
) -> str:
    """Approve a waiting customer request; a redelivered job finds it handled and stops."""
    from datetime import date
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from subscriptions import requests
    from subscriptions.models import CustomerRequest, CustomerRequestStatus

    request = CustomerRequest.objects.filter(pk=request_id).first()
    if request is None:
        return "missing"
    if request.status != CustomerRequestStatus.PENDING:
        return "already handled"
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        requests.customer_request_approve(
            actor=actor,
            request=request,
            timing=timing,
            cancel_date=date.fromisoformat(cancel_date) if cancel_date else None,
            refund=refund,
            custom_refund=Decimal(custom_refund) if custom_refund is not None else None,
        )
    except ValidationError as error:
        request.refresh_from_db(fields=["status"])
        if request.status != CustomerRequestStatus.PENDING:
            return "already handled"
        logger.warning("subscriptions: request %s not approved: %s", request_id, error.messages)
        return "refused: " + " ".join(error.messages)
    return "approved"
