"""Provisioning through the real broker and a real worker process, with a vendor on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from catalogue.models import ProductPlan
from subscriptions.models import Subscription, SubscriptionStatus
from tests.billing.factories import ProductTypeFactory
from tests.conftest import requires_postgres
from tests.core.conftest import (
    CeleryProcess,
    celery_worker,
    celery_worker_process,
    publish_to,
    redis_server,
    wait_until,
)
from tests.subscriptions.fake_vendor import FakeVendor, vendor_integration

__all__ = ["celery_worker", "celery_worker_process", "publish_to", "redis_server"]

pytestmark = [pytest.mark.redis, requires_postgres, pytest.mark.django_db(transaction=True)]


def test_the_worker_provisions_a_new_subscription_after_commit(
    celery_worker: CeleryProcess,
    vendor: FakeVendor,
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    subscribe: Callable[..., Subscription],
) -> None:
    # given: a product type the vendor provisions
    integration = vendor_integration(vendor.url)
    plan = make_plan("12.00", product_type=ProductTypeFactory(integration=integration.code))

    # when: a subscription is created (its transaction commits, the job goes to Redis)
    subscription = subscribe(customer, plan, 10, timezone.localdate())

    # then: it was pending, and the worker made it active through the vendor
    assert subscription.status == SubscriptionStatus.PENDING

    def status() -> Any:
        return Subscription.objects.values_list("status", flat=True).get(pk=subscription.pk)

    wait_until(
        lambda: status() == SubscriptionStatus.ACTIVE,
        what="the worker to provision the subscription",
        details=celery_worker.output_tail,
    )
    assert [body["subscription"]["number"] for body in vendor.provisioned] == [subscription.number]
