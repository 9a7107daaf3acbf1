"""Demo subscriptions: a few of the demo customers' seats, an add-on, a scheduled downgrade
and a cancellation pending at the end of the period.

Idempotent: a subscription is found by its account, product and friendly name; only
what is missing is added. Runs after the catalogue and the accounts (ORDER 40).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from catalogue.models import BillingCycle, Product, ProductPlan
from subscriptions import services
from subscriptions.models import Subscription

ORDER = 40

# account, product code, billing cycle, quantity, friendly name, add-on of (friendly name)
DEMO_SUBSCRIPTIONS = [
    ("Northwind Traders", "SUITE-STD", BillingCycle.MONTHLY, 25, "Berlin office", None),
    ("Northwind Traders", "SEC-ADV", BillingCycle.MONTHLY, 25, "Berlin security", "Berlin office"),
    ("Northwind Traders", "MAILBOX", BillingCycle.MONTHLY, 40, "Shared mailboxes", None),
    ("Aegean Logistics S.A.", "SUITE-PREM", BillingCycle.ANNUAL, 12, "Piraeus HQ", None),
    ("Aegean Logistics S.A.", "MAILBOX", BillingCycle.MONTHLY, 30, "Warehouse crews", None),
    ("Blue Harbor Analytics Ltd", "SUITE-STD", BillingCycle.MONTHLY, 8, "Analysts", None),
]
PENDING_CANCEL = ("Aegean Logistics S.A.", "Warehouse crews")
DOWNGRADE = ("Blue Harbor Analytics Ltd", "Analysts", "SUITE-BASIC")


def _plan(product: Product, cycle: str) -> ProductPlan | None:
    return product.plans.filter(billing_cycle=cycle, commitment_months__in=[0, 12]).first()


def _start() -> date:
    """The first of this month: full periods, so the demo invoices read simply."""
    return timezone.localdate().replace(day=1)


def seed(stdout: Any) -> None:
    made: dict[tuple[str, str], Subscription] = {}
    for account_name, code, cycle, quantity, name, parent_name in DEMO_SUBSCRIPTIONS:
        account = Account.objects.filter(name=account_name).first()
        product = Product.objects.filter(code=code).first()
        if account is None or product is None:
            continue
        plan = _plan(product, cycle)
        existing = Subscription.objects.filter(
            account=account, product=product, friendly_name=name
        ).first()
        if existing is None and plan is not None:
            parent = made.get((account_name, parent_name)) if parent_name else None
            try:
                existing = services.subscription_create(
                    actor=None,
                    account=account,
                    product=product,
                    plan=plan,
                    quantity=quantity,
                    start_date=_start(),
                    friendly_name=name,
                    parent=parent,
                )
            except ValidationError as refused:
                stdout.write(f"  subscription {name} skipped: {' '.join(refused.messages)}")
                continue
            stdout.write(f"  subscription {existing.number} {name}")
        if existing is not None:
            made[(account_name, name)] = existing
    _scheduled_changes(made)


def _scheduled_changes(made: dict[tuple[str, str], Subscription]) -> None:
    ending = made.get(PENDING_CANCEL)
    if ending is not None and ending.status == Subscription.Status.ACTIVE:
        services.subscription_cancel(
            actor=None,
            subscription=ending,
            timing=services.CancelTiming.END_OF_PERIOD,
            reason="Seasonal staff leave at the end of the month",
        )
    account_name, name, target_code = DOWNGRADE
    shrinking = made.get((account_name, name))
    target = Product.objects.filter(code=target_code).first()
    if (
        shrinking is not None
        and target is not None
        and shrinking.is_live
        and not shrinking.future_requests.exists()
    ):
        plan = _plan(target, shrinking.plan.billing_cycle)
        if plan is not None:
            try:
                services.subscription_schedule_downgrade(
                    actor=None, subscription=shrinking, target_product=target, target_plan=plan
                )
            except ValidationError:
                return
