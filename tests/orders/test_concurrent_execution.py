"""Two workers executing the same order at the same moment make one set of subscriptions."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Charge
from orders import execution, services
from subscriptions.models import Subscription
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

DAY_1: date = timezone.localdate()


def test_two_concurrent_executions_make_one_set(customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="12", name="Seats")
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan, quantity=3)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def execute() -> None:
        try:
            barrier.wait()
            outcomes.append(execution.order_execute(actor=None, order=order, start_date=DAY_1))
        finally:
            connection.close()

    workers = [threading.Thread(target=execute) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(result.already_executed for result in outcomes) == [False, True]
    assert Subscription.objects.filter(origin_order_item_id__isnull=False).count() == 1
    assert Charge.objects.count() == 1
