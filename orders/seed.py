"""Demo orders: an "In provisioning" status, executed orders with their subscriptions and
invoices, and an order of professional services waiting for manual management.

Idempotent: orders are found by name; nothing is added twice.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import Account
from bss.setup.models import User
from catalogue.models import BillingCycle, Product, ProductPlan
from orders import execution, services, statuses
from orders.models import Order, OrderStatus

ORDER = 60

# order name, account, [(product code, cycle, quantity, discount %, add-on of line index)]
EXECUTED = [
    (
        "Office rollout 2026",
        "Northwind Traders",
        [
            ("SUITE-STD", BillingCycle.MONTHLY, 25, "5", None),
            ("STORAGE-100", BillingCycle.MONTHLY, 10, "0", 0),
        ],
    ),
    (
        "Backup for the Piraeus office",
        "Aegean Logistics S.A.",
        [("BACKUP-GB", BillingCycle.MONTHLY, 200, "0", None)],
    ),
]
WAITING = (
    "Onboarding workshop",
    "Northwind Traders",
    [("ONBOARDING", BillingCycle.ONE_TIME, 1, "0", None)],
)


def ensure_provisioning_status() -> OrderStatus:
    found = OrderStatus.objects.filter(name="In provisioning").first()
    return found or services.order_status_create(
        actor=None,
        name="In provisioning",
        status_type="in_progress",
        storefront_type="viewable",
        is_default=True,
        color="#fd7e14",
        position=15,
    )


def _plan(code: str, cycle: str) -> ProductPlan | None:
    product = Product.objects.filter(code=code).first()
    if product is None:
        return None
    return product.plans.filter(billing_cycle=cycle).first()


def _build(
    name: str,
    account: Account,
    lines: list[tuple[str, str, int, str, int | None]],
    owner: User,
    **fields: Any,
) -> Order | None:
    plans = [_plan(code, cycle) for code, cycle, *_rest in lines]
    if any(plan is None for plan in plans):
        return None
    order = services.order_create(actor=owner, account=account, name=name, owner=owner, **fields)
    items = []
    for plan, (_code, _cycle, quantity, discount, parent_index) in zip(plans, lines, strict=True):
        assert plan is not None
        items.append(
            services.order_item_add(
                actor=owner,
                order=order,
                product=plan.product,
                plan=plan,
                quantity=quantity,
                discount_percent=discount,
                parent_item=items[parent_index] if parent_index is not None else None,
            )
        )
    return order


def seed(stdout: Any) -> None:
    ensure_provisioning_status()
    sales = User.objects.get(email="sales@example.com")
    today = timezone.localdate()
    for name, account_name, lines in EXECUTED:
        account = Account.objects.filter(name=account_name).first()
        if account is None or Order.objects.filter(name=name).exists():
            continue
        order = _build(name, account, lines, sales)
        if order is not None:
            execution.order_execute(actor=sales, order=order, start_date=today)
    name, account_name, lines = WAITING
    account = Account.objects.filter(name=account_name).first()
    if account is not None and not Order.objects.filter(name=name).exists():
        order = _build(
            name, account, lines, sales, status=statuses.mandatory("draft"), source="storefront"
        )
        if order is not None:
            execution.order_submit(actor=sales, order=order)
    stdout.write(f"  {Order.objects.count()} orders")
