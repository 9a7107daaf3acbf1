"""Provisioning jobs: send one attempt to the vendor, and a sweep for attempts never sent.

The vendor call happens outside any transaction; the answer is recorded under the
subscription's row lock and only while the attempt is still the one it waits for
(``provisioning.is_waiting``), so a job delivered twice records its outcome once.

One subscription has at most one request on the wire: a job holds the subscription's
sending lock (a key in the cache, which the workers share through Redis when
``REDIS_URL`` is set) while it talks to the vendor, and a job that finds it taken
retries a little later. So a suspension and the resumption that follows it reach the
vendor in that order, never crossed; by the time the second job runs, the first answer
has arrived (and was ignored, its attempt being no longer the current one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from subscriptions import provisioning, services
from subscriptions.models import ProvisioningStatus, Subscription, SubscriptionStatus
from subscriptions.provisioning import ProvisioningResult

logger = logging.getLogger(__name__)

# A request waits at most the integration's timeout (300 s at most); the job's hard limit
# leaves room for recording the answer.
TIME_LIMIT = 360
# An attempt still pending after this long was never sent (broker down) or lost.
SWEEP_AFTER = timedelta(seconds=TIME_LIMIT * 2)
SWEEP_BATCH = 200
# A job that finds another request of the same subscription on the wire tries again.
BUSY_RETRY_SECONDS = 10
BUSY_RETRIES = TIME_LIMIT // BUSY_RETRY_SECONDS + 6


class Busy(Exception):
    """Another request of this subscription is on the wire."""


@contextmanager
def sending_lock(subscription_id: int) -> Iterator[None]:
    key = f"provisioning:sending:{subscription_id}"
    if not cache.add(key, 1, timeout=TIME_LIMIT):
        raise Busy(subscription_id)
    try:
        yield
    finally:
        cache.delete(key)


def provision_attempt(subscription_id: int, attempt_id: int) -> str:
    """Send the attempt and record the answer; what happened, for the job's result.

    Raises ``Busy`` while another request of the subscription is on the wire.
    """
    with sending_lock(subscription_id):
        return _provision_attempt(subscription_id, attempt_id)


def _provision_attempt(subscription_id: int, attempt_id: int) -> str:
    subscription = (
        Subscription.objects.select_related("account", "product__product_type", "plan")
        .filter(pk=subscription_id)
        .first()
    )
    if subscription is None:
        return "missing"
    if not provisioning.is_waiting(subscription, attempt_id):
        return "not waiting"
    attempt = provisioning.current_attempt(subscription)
    assert attempt is not None  # is_waiting checked it
    integration = provisioning.integration_for(subscription.product)
    provisioner = (
        provisioning.get_provisioner(integration.connector) if integration is not None else None
    )
    if integration is None or provisioner is None:
        result = ProvisioningResult.failure(
            _("The product type of %(product)s has no active provisioning integration.")
            % {"product": subscription.product.name}
        )
    else:
        result = provisioner.provision(
            integration, provisioning.build_request(subscription, attempt)
        )
    return record_outcome(subscription_id, attempt_id, result)


def record_outcome(subscription_id: int, attempt_id: int, result: ProvisioningResult) -> str:
    with transaction.atomic():
        subscription = services.lock_subscription(Subscription(pk=subscription_id))
        if not provisioning.is_waiting(subscription, attempt_id):
            return "not waiting"
        attempt = provisioning.current_attempt(subscription)
        assert attempt is not None  # is_waiting checked it
        if subscription.status != SubscriptionStatus.PENDING or not provisioning.is_setup(attempt):
            # A trial (or a trial upgraded to paid meanwhile) keeps its status, and so
            # does a subscription whose suspension, resumption, quantity change,
            # cancellation or expiry was sent: the vendor's answer is only recorded.
            services.subscription_record_provisioning(
                actor=None,
                subscription=subscription,
                error="" if result.succeeded else result.message,
                action=provisioning.action_of(attempt),
            )
        elif result.succeeded:
            services.subscription_mark_provisioned(actor=None, subscription=subscription)
        else:
            services.subscription_mark_failed(
                actor=None, subscription=subscription, error=result.message
            )
    if not result.succeeded:
        logger.warning("provisioning: subscription %s failed: %s", subscription_id, result.message)
    return "provisioned" if result.succeeded else "failed"


@shared_task(bind=True, acks_late=True, time_limit=TIME_LIMIT)
def provision_subscription(self: Any, subscription_id: int, attempt_id: int) -> str:
    """Send one provisioning attempt; safe to run twice."""
    try:
        return provision_attempt(subscription_id, attempt_id)
    except Busy:
        try:
            raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_RETRIES) from None
        except MaxRetriesExceededError:
            return "busy"  # still pending: the sweep sends it


@shared_task(acks_late=True, time_limit=TIME_LIMIT)
def sweep_pending_provisioning() -> int:
    """Beat: queue again the attempts still waiting long after they started."""
    cutoff = timezone.now() - SWEEP_AFTER
    # Ended subscriptions too: their cancellation or expiry may be the unsent attempt.
    waiting = Subscription.objects.filter(
        provisioning_status=ProvisioningStatus.PENDING,
        updated_at__lt=cutoff,
    ).order_by("updated_at")[:SWEEP_BATCH]
    queued = 0
    for subscription in waiting:
        attempt = provisioning.current_attempt(subscription)
        if attempt is not None:
            provisioning.queue_provisioning(subscription.pk, attempt.pk)
            queued += 1
    return queued
