"""Demo payment methods, a reminder plan, and a demo invoice settled in part by a payment.

Idempotent: methods and the plan are found by their number and name; the demo invoice
comes from a charge with an idempotency key, and is paid only once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Account
from billing import services as billing_services
from billing.models import ChargeKind, Invoice, InvoiceStatus
from payments import dunning, services
from payments.models import DunningAction, NotificationPlan, Payment, PaymentMethod

ORDER = 60

METHODS = [
    (1, "Bank transfer (Net 30)", 30, "manual", False),
    (2, "Card", 0, "gateway", True),
    (3, "Cash or check (Net 5)", 5, "manual", False),
]
PLAN_STEPS = [
    (3, "invoice_reminder_1", DunningAction.NONE),
    (10, "invoice_reminder_2", DunningAction.NONE),
    (30, "invoice_reminder_3", DunningAction.SUSPEND_SUBSCRIPTIONS),
]
DEMO_KEY = "demo-payments-invoice"


def _demo_invoice(account: Account) -> Invoice | None:
    today = timezone.localdate()
    start = today.replace(day=1)
    charges = billing_services.charge_record(
        actor=None,
        charges=[
            billing_services.ChargeInput(
                account=account,
                kind=ChargeKind.ONE_TIME,
                description="Migration workshop",
                period_start=start,
                period_end=start + timedelta(days=1),
                amount=Decimal("480.00"),
                idempotency_key=DEMO_KEY,
            )
        ],
    )
    charge = charges[0]
    if charge.invoice_id:
        return Invoice.objects.get(pk=charge.invoice_id)
    draft = billing_services.invoice_from_charges(actor=None, billing_account=account, up_to=today)
    if draft is None:
        return None
    return billing_services.invoice_issue(actor=None, invoice=draft)


def seed(stdout: Any) -> None:
    for number, description, days, collection, before in METHODS:
        if not PaymentMethod.objects.filter(number=number).exists():
            services.payment_method_save(
                actor=None,
                number=number,
                description=description,
                payment_days=days,
                collection=collection,
                charges_before_activation=before,
            )
    plan = NotificationPlan.objects.filter(name="Overdue reminders").first()
    if plan is None:
        plan = dunning.plan_save(
            actor=None, name="Overdue reminders", is_active=True, is_default=True
        )
    for days, notification, action in PLAN_STEPS:
        if not plan.steps.filter(offset_days=days).exists():
            dunning.plan_step_save(
                actor=None, plan=plan, offset_days=days, notification=notification, action=action
            )
    account = (
        Account.objects.filter(account_type=Account.Type.DIRECT, is_ordering_enabled=True)
        .exclude(country="")
        .order_by("pk")
        .first()
    )
    if account is not None and not Payment.objects.filter(reference="DEMO-PAYMENT").exists():
        invoice = _demo_invoice(account)
        if invoice is not None and invoice.status in (InvoiceStatus.UNPAID, InvoiceStatus.OVERDUE):
            services.payment_record(
                actor=None,
                account=account,
                payment_type="bank_transfer",
                amount=min(Decimal("200.00"), invoice.balance_due),
                currency=invoice.currency,
                reference="DEMO-PAYMENT",
                allocations=[services.Allocation(invoice=invoice)],
            )
    stdout.write(
        f"  {PaymentMethod.objects.count()} payment methods, "
        f"{Payment.objects.count()} payments, {plan.steps.count()} reminder steps"
    )
