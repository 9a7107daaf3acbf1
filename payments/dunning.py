"""Notification plans for overdue invoices (spec §2.5): reminders and actions after the due date.

A daily job runs, for every unpaid debit invoice past its due date, each step of its
plan whose day has come (``due_date + offset_days <= today``) and has not run yet. A
step runs at most once per invoice: the ``DunningRun`` row is inserted first under a
unique (invoice, step) constraint, and the step's event and action happen in the same
transaction. A missed day is caught up the next day. A paid invoice is no longer open,
so its plan stops; if its plan suspended services or blocked ordering, they resume.

The reminder is an ``invoice.reminder`` event (the notifications app turns it into the
chosen email). Suspending suspends the active subscriptions billed to the account
through the subscriptions service (and emits ``account.suspension_requested``); the
run remembers which, and only those are resumed on payment. Blocking ordering goes
through the accounts service and is lifted only if the plan blocked it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import account_update
from billing.models import OPEN_STATUSES, Invoice, InvoiceKind
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize
from payments.models import (
    AccountPaymentSettings,
    DunningAction,
    DunningRun,
    NotificationPlan,
    NotificationPlanStep,
)
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.services import subscription_resume, subscription_suspend

BLOCKED_NOTE = "ordering blocked"


def plan_save(
    *,
    actor: Any,
    plan: NotificationPlan | None = None,
    name: str,
    is_active: bool,
    is_default: bool,
) -> NotificationPlan:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A plan needs a name.")})
    if (
        NotificationPlan.objects.filter(name__iexact=name)
        .exclude(pk=plan.pk if plan else None)
        .exists()
    ):
        raise ValidationError({"name": _("Another plan is called %s.") % name})
    with transaction.atomic(), acting_as(actor):
        if is_default:
            NotificationPlan.objects.filter(is_default=True).exclude(
                pk=plan.pk if plan else None
            ).update(is_default=False)
        plan = plan or NotificationPlan()
        plan.name, plan.is_active, plan.is_default = name, is_active, is_default
        plan.save()
    return plan


def plan_step_save(
    *,
    actor: Any,
    plan: NotificationPlan,
    step: NotificationPlanStep | None = None,
    offset_days: int,
    notification: str,
    action: str = DunningAction.NONE,
) -> NotificationPlanStep:
    if not 0 <= offset_days <= 365:
        raise ValidationError({"offset_days": _("A step runs 0 to 365 days after the due date.")})
    if action not in DunningAction.values:
        raise ValidationError({"action": _("Choose an action.")})
    notification = (notification or "").strip()
    if not notification:
        raise ValidationError({"notification": _("Choose the notification the step sends.")})
    if plan.steps.filter(offset_days=offset_days).exclude(pk=step.pk if step else None).exists():
        raise ValidationError(
            {"offset_days": _("The plan already has a step on day %d.") % offset_days}
        )
    with transaction.atomic(), acting_as(actor):
        step = step or NotificationPlanStep(plan=plan)
        step.offset_days, step.notification, step.action = offset_days, notification, action
        step.save()
    return step


def plan_step_delete(*, actor: Any, step: NotificationPlanStep) -> None:
    if step.runs.exists():
        raise ValidationError(_("The step has run for invoices; deactivate the plan instead."))
    with transaction.atomic(), acting_as(actor):
        step.delete()


def plan_for(account_id: int) -> NotificationPlan | None:
    """The account's payment method's plan, else the default plan; only an active one."""
    row = (
        AccountPaymentSettings.objects.filter(account_id=account_id)
        .select_related("payment_method__notification_plan")
        .first()
    )
    chosen = row.payment_method.notification_plan if row and row.payment_method else None
    if chosen is None:
        chosen = NotificationPlan.objects.filter(is_default=True).first()
    return chosen if chosen is not None and chosen.is_active else None


def _overdue_invoices(today: date) -> Any:
    return Invoice.objects.filter(
        kind=InvoiceKind.DEBIT,
        status__in=OPEN_STATUSES,
        balance_due__gt=0,
        due_date__lt=today,
    ).order_by("due_date", "pk")


def _suspend(actor: Any, invoice: Invoice, step: NotificationPlanStep) -> list[int]:
    """Suspend the active subscriptions billed to the account; return their ids."""
    suspended = []
    for subscription in Subscription.objects.filter(
        billing_account_id=invoice.billing_account_id, status=SubscriptionStatus.ACTIVE
    ).order_by("pk"):
        subscription_suspend(
            actor=actor,
            subscription=subscription,
            reason=_("Invoice %(number)s is %(days)d days overdue.")
            % {"number": invoice.number, "days": step.offset_days},
        )
        suspended.append(subscription.pk)
    emit_event(
        "account.suspension_requested",
        actor=actor,
        aggregate=invoice.billing_account,
        payload={
            "account_id": invoice.billing_account_id,
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "step_days": step.offset_days,
            "subscription_ids": suspended,
        },
    )
    return suspended


def _block_ordering(actor: Any, account: Account) -> str:
    if not account.is_ordering_enabled:
        return "ordering already blocked"
    account_update(actor=None, account=account, is_ordering_enabled=False)
    return BLOCKED_NOTE


def dunning_run_step(
    *, actor: Any = None, invoice: Invoice, step: NotificationPlanStep, today: date
) -> DunningRun | None:
    """Run one step for one invoice, unless it has already run."""
    with transaction.atomic(), acting_as(actor):
        locked = (
            Invoice.objects.select_for_update().select_related("billing_account").get(pk=invoice.pk)
        )
        if locked.status not in OPEN_STATUSES or locked.balance_due <= 0:
            return None
        try:
            with transaction.atomic():
                run = DunningRun.objects.create(
                    invoice=locked, step=step, run_on=today, action=step.action
                )
        except IntegrityError:
            return None
        if step.action == DunningAction.SUSPEND_SUBSCRIPTIONS:
            run.suspended_subscription_ids = _suspend(actor, locked, step)
            run.action_note = _("%d subscriptions suspended") % len(run.suspended_subscription_ids)
            run.save(update_fields=["suspended_subscription_ids", "action_note"])
        elif step.action == DunningAction.BLOCK_ORDERING:
            run.action_note = _block_ordering(actor, locked.billing_account)
            run.save(update_fields=["action_note"])
        emit_event(
            "invoice.reminder",
            actor=actor,
            aggregate=locked,
            payload={
                "invoice_id": locked.pk,
                "number": locked.number,
                "account_id": locked.billing_account_id,
                "billing_account_id": locked.billing_account_id,
                "currency": locked.currency,
                "balance_due": str(quantize(locked.balance_due, locked.currency)),
                "due_date": locked.due_date.isoformat() if locked.due_date else None,
                "days_overdue": (today - locked.due_date).days if locked.due_date else None,
                "plan_id": step.plan_id,
                "step_id": step.pk,
                "step": step.offset_days,
                "notification": step.notification,
                "action": step.action,
            },
        )
    return run


def dunning_run_due(*, actor: Any = None, today: date | None = None) -> int:
    """The daily job: every due step not yet run, for every overdue invoice."""
    today = today or timezone.localdate()
    ran = 0
    plans: dict[int, NotificationPlan | None] = {}
    for invoice in _overdue_invoices(today).select_related("billing_account"):
        account_id = invoice.billing_account_id
        if account_id not in plans:
            plans[account_id] = plan_for(account_id)
        plan = plans[account_id]
        if plan is None:
            continue
        assert invoice.due_date is not None
        days_overdue = (today - invoice.due_date).days
        done = set(DunningRun.objects.filter(invoice=invoice).values_list("step_id", flat=True))
        for step in plan.steps.filter(offset_days__lte=days_overdue).order_by("offset_days"):
            if step.pk in done:
                continue
            if dunning_run_step(actor=actor, invoice=invoice, step=step, today=today):
                ran += 1
    return ran


def resume_after_payment(*, actor: Any = None, invoice: Invoice) -> list[DunningRun]:
    """The invoice is paid: undo what its plan did, unless another overdue invoice still holds it."""
    resumed: list[DunningRun] = []
    with transaction.atomic(), acting_as(actor):
        runs = list(
            DunningRun.objects.select_for_update()
            .filter(invoice=invoice, resumed_at__isnull=True)
            .exclude(action=DunningAction.NONE)
        )
        if not runs:
            return resumed
        account = Account.objects.get(pk=invoice.billing_account_id)
        still_held = DunningRun.objects.filter(
            invoice__billing_account=account,
            invoice__status__in=OPEN_STATUSES,
            resumed_at__isnull=True,
        ).exclude(Q(action=DunningAction.NONE) | Q(invoice=invoice))
        now = timezone.now()
        for run in runs:
            if still_held.filter(action=run.action).exists():
                continue
            if run.action == DunningAction.SUSPEND_SUBSCRIPTIONS:
                for subscription in Subscription.objects.filter(
                    pk__in=run.suspended_subscription_ids, status=SubscriptionStatus.SUSPENDED
                ).order_by("pk"):
                    subscription_resume(actor=actor, subscription=subscription)
                emit_event(
                    "account.resume_requested",
                    actor=actor,
                    aggregate=account,
                    payload={"account_id": account.pk, "invoice_id": invoice.pk},
                )
            elif run.action == DunningAction.BLOCK_ORDERING and run.action_note == BLOCKED_NOTE:
                account_update(actor=None, account=account, is_ordering_enabled=True)
            run.resumed_at = now
            run.save(update_fields=["resumed_at"])
            resumed.append(run)
    return resumed
