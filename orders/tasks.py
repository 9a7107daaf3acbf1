"""Order jobs: execute an order on a worker (the API's asynchronous execute, checkouts).

The task takes ids, calls ``order_execute`` and is safe to run twice: a redelivered
message, or a retry after a worker died in the middle, finds the order either executed
(nothing to do) or untouched (the crashed transaction rolled back).
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from bss.setup.models import User
from orders.execution import order_execute
from orders.models import Order

EXECUTE_TIME_LIMIT = 600


@shared_task(acks_late=True, time_limit=EXECUTE_TIME_LIMIT)
def execute_order(
    order_id: int,
    actor_id: int | None = None,
    start_date: str | None = None,
    invoice_date: str | None = None,
    override_credit: bool = False,
) -> str:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "no such order"
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    result = order_execute(
        actor=actor,
        order=order,
        start_date=date.fromisoformat(start_date) if start_date else None,
        invoice_date=date.fromisoformat(invoice_date) if invoice_date else None,
        override_credit=override_credit,
    )
    return "already executed" if result.already_executed else "executed"
