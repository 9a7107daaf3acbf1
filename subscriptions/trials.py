"""Trials (spec 4.4): free for a while, extended on request, upgraded to paid by a person.

A trial is a subscription in status *trial* whose only period is ``[start, trial_end)``;
``trial_end`` is exclusive, so its last day is the day before. Nothing is charged while
it runs. Upgrading it to paid ("never automatic") keeps the subscription row, sets the
chosen quantity (and plan) and starts the first paid period on the conversion day,
aligned to the account's billing day exactly as a new subscription would be; the
``TRIAL_CONVERTED`` change row makes billing charge that first period and, like a
creation, the setup fee once. ``trial_upgrade_quote`` shows those amounts beforehand.
A trial nobody upgrades expires at its end (the daily job, or the billing run that rolls
its period); a person may end it earlier. Add-ons on trial end with their trial.

Trial-ending events go out 7, 3 and 1 days before the end (``trial_notice_days``), never
in the first half of the trial, and each at most once per trial end: a ``TrialNotice``
row with a unique key is written in the same transaction as the event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import can_order, quote_for_account
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize, quantize_unit_price
from catalogue.models import CYCLE_MONTHS, Product, ProductPlan
from catalogue.pricing import require_plan_of
from subscriptions import provisioning, services
from subscriptions.amounts import PeriodPrice, period_price
from subscriptions.models import (
    BillingMethod,
    ChangeKind,
    ChangeSource,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
    TrialNotice,
)
from subscriptions.periods import Period, first_period, term_end_for

# ----------------------------------------------------------------------------- creation


def trial_create(
    *,
    actor: Any,
    account: Account,
    product: Product,
    plan: ProductPlan,
    quantity: int,
    start_date: date,
    friendly_name: str = "",
    parent: Subscription | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> Subscription:
    """Start a free trial of ``plan`` within the plan's trial rules (an add-on's with ``parent``)."""
    if not plan.trial_enabled:
        raise ValidationError(
            {
                "plan": _("%(product)s has no trial on the %(plan)s plan.")
                % {"product": product.name, "plan": plan}
            }
        )
    if plan.trial_max_quantity and quantity > plan.trial_max_quantity:
        raise ValidationError(
            {
                "quantity": _("A trial of %(product)s allows at most %(max)d units.")
                % {"product": product.name, "max": plan.trial_max_quantity}
            }
        )
    with transaction.atomic():
        # Serialize trials of one account so "once per account" holds under concurrency.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if (
            plan.trial_once_per_account
            and Subscription.objects.filter(
                account=account, product=product, trial_end__isnull=False
            ).exists()
        ):
            raise ValidationError(
                {
                    "product": _("%(account)s already had a trial of %(product)s.")
                    % {"account": account.name, "product": product.name}
                }
            )
        return services.subscription_create(
            actor=actor,
            account=account,
            product=product,
            plan=plan,
            quantity=quantity,
            start_date=start_date,
            friendly_name=friendly_name,
            parent=parent,
            trial=True,
            effective_at=effective_at,
            source=source,
        )


def _lock_trial(subscription: Subscription) -> Subscription:
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("product__product_type", "plan", "account", "promotion")
        .get(pk=subscription.pk)
    )
    if locked.status != SubscriptionStatus.TRIAL:
        raise ValidationError(
            {
                "status": _("%(number)s is not a trial; it is %(status)s.")
                % {"number": locked.number, "status": locked.get_status_display()}
            }
        )
    return locked


def _actor_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def days_remaining(subscription: Subscription, today: date | None = None) -> int:
    """Days of the trial left, today included (0 once it has ended)."""
    if subscription.trial_end is None:
        return 0
    today = today or timezone.localdate()
    return max(0, (subscription.trial_end - today).days)


# ------------------------------------------------------------------------------ extend


def trial_extend(
    *,
    actor: Any,
    subscription: Subscription,
    new_end: date | None = None,
    days: int | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    """Move the (exclusive) trial end later, to ``new_end`` or by ``days``; still free."""
    at = effective_at or timezone.now()
    today = timezone.localdate(at)
    if (new_end is None) == (days is None):
        raise ValidationError({"new_end": _("Give either the new trial end or a number of days.")})
    if days is not None and days < 1:
        raise ValidationError({"days": _("Extend the trial by at least one day.")})
    with transaction.atomic(), acting_as(actor):
        subscription = _lock_trial(subscription)
        old_end = subscription.trial_end
        if days is not None and old_end is not None:
            # Counted from the end read under the lock, so two extensions add up.
            new_end = old_end + timedelta(days=days)
        if old_end is None or new_end <= old_end:
            raise ValidationError(
                {"new_end": _("The new trial end must be after %(end)s.") % {"end": old_end}}
            )
        if new_end <= today:
            raise ValidationError({"new_end": _("The new trial end must be after today.")})
        subscription.trial_end = new_end
        subscription.current_period_end = new_end
        subscription.term_end = new_end
        subscription.save(
            update_fields=["trial_end", "current_period_end", "term_end", "updated_at"]
        )
        change = SubscriptionChange.objects.create(
            subscription=subscription,
            kind=ChangeKind.TRIAL_EXTENDED,
            source=source,
            effective_at=at,
            effective_date=today,
            old_quantity=subscription.quantity,
            new_quantity=subscription.quantity,
            old_status=subscription.status,
            new_status=subscription.status,
            actor=_actor_or_none(actor),
            details={"old_end": old_end.isoformat(), "new_end": new_end.isoformat()},
        )
        emit_event(
            "subscription.trial_extended",
            actor=actor,
            aggregate=subscription,
            payload=_payload(subscription, old_end=old_end.isoformat()),
        )
    return change


# ----------------------------------------------------------------------------- convert


@dataclass(frozen=True)
class PaidTerms:
    """What a trial becomes on conversion day: plan, first paid period, term and prices."""

    plan: ProductPlan
    quantity: int
    period: Period
    term_end: date
    anchor_day: int
    is_aligned: bool
    unit_price: Decimal
    setup_fee: Decimal


def _paid_terms(
    subscription: Subscription, *, quantity: int, plan: ProductPlan | None, day: date
) -> PaidTerms:
    """The paid subscription a conversion on ``day`` would start, aligned as a new one."""
    product = subscription.product
    plan = plan or subscription.plan
    require_plan_of(product, plan)
    if not plan.is_recurring:
        raise ValidationError(
            {"plan": _("%(plan)s is sold once; choose a recurring plan.") % {"plan": plan}}
        )
    services.check_quantity(product, quantity)
    cycle_months = CYCLE_MONTHS[plan.billing_cycle]
    parent = subscription.parent
    if parent is not None:
        anchor, aligned = parent.anchor_day, True
        coterm = parent.current_period_end if parent.cycle_months == cycle_months else None
    else:
        anchor, aligned = services.anchor_and_alignment(subscription.account, plan, day)
        coterm = None
    period = first_period(
        start=day, cycle_months=cycle_months, anchor_day=anchor, aligned=aligned, coterm_end=coterm
    )
    term_months = max(plan.commitment_months or 0, cycle_months)
    quote = quote_for_account(
        subscription.account, product=product, plan=plan, quantity=quantity, on_date=day
    )
    return PaidTerms(
        plan=plan,
        quantity=quantity,
        period=period,
        term_end=term_end_for(period, term_months, anchor),
        anchor_day=anchor,
        is_aligned=aligned and period.is_partial,
        unit_price=quantize_unit_price(quote.unit_price),
        setup_fee=quantize_unit_price(quote.setup_fee or Decimal(0)),
    )


def _apply_paid_terms(subscription: Subscription, terms: PaidTerms, at: datetime) -> None:
    """Turn the (locked or in-memory) trial into the paid subscription ``terms`` describe."""
    plan = terms.plan
    cycle_months = CYCLE_MONTHS[plan.billing_cycle]
    if plan.pk != subscription.plan_id:
        subscription.plan = plan
        subscription.billing_cycle = plan.billing_cycle
        subscription.cycle_months = cycle_months
        subscription.term_months = max(plan.commitment_months or 0, cycle_months)
        subscription.billing_method = services.billing_method_for(plan)
        subscription.auto_renew = plan.auto_renew
    subscription.quantity = terms.quantity
    subscription.unit_price = terms.unit_price
    subscription.final_unit_price = services.net_unit_price(
        subscription.effective_unit_price, subscription.discount_percent
    )
    subscription.setup_fee = terms.setup_fee
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.anchor_day = terms.anchor_day
    subscription.is_aligned = terms.is_aligned
    subscription.cycle_number = 1
    subscription.current_period_start = terms.period.start
    subscription.current_period_end = terms.period.end
    subscription.term_start = terms.period.start
    subscription.term_started_at = at
    subscription.term_end = terms.term_end
    subscription.price_protected_until = terms.term_end if plan.is_price_protected else None


def _check_convertible(subscription: Subscription, day: date) -> None:
    if subscription.trial_end is not None and day >= subscription.trial_end:
        raise ValidationError(
            {
                "status": _("The trial ended on %(day)s; it can no longer be upgraded.")
                % {"day": subscription.trial_end - timedelta(days=1)}
            }
        )
    if day < subscription.start_date:
        raise ValidationError({"effective_at": _("The trial has not started on that day.")})


def trial_upgrade_to_paid(
    *,
    actor: Any,
    subscription: Subscription,
    quantity: int,
    plan: ProductPlan | None = None,
    friendly_name: str | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    """Start paying: the first paid period begins on the conversion day (spec 4.4).

    Possible on any day of the trial up to its last one; never done by the system.
    ``plan`` (another recurring plan of the same product) replaces the trial's plan.
    Billing charges the first period and, like a new subscription, the setup fee once.
    """
    at = effective_at or timezone.now()
    day = timezone.localdate(at) if timezone.is_aware(at) else at.date()
    with transaction.atomic(), acting_as(actor):
        subscription = _lock_trial(subscription)
        account = subscription.account
        _check_convertible(subscription, day)
        if not can_order(account):
            raise ValidationError(
                {
                    "account": _("%(account)s may not order: it is inactive or ordering is off.")
                    % {"account": account.name}
                }
            )
        terms = _paid_terms(subscription, quantity=quantity, plan=plan, day=day)
        old_quantity = subscription.quantity
        _apply_paid_terms(subscription, terms, at)
        if friendly_name is not None:
            subscription.friendly_name = friendly_name.strip()[:200]
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError as error:
            if services.breaks_one_live_per_account(error, subscription):
                raise ValidationError(
                    {
                        "plan": _(
                            "%(account)s already has a live %(product)s subscription on this plan."
                        )
                        % {"account": account.name, "product": subscription.product.name}
                    }
                ) from error
            raise
        change = SubscriptionChange.objects.create(
            subscription=subscription,
            kind=ChangeKind.TRIAL_CONVERTED,
            source=source,
            effective_at=at,
            effective_date=day,
            old_quantity=old_quantity,
            new_quantity=quantity,
            new_unit_price=subscription.effective_unit_price,
            old_status=SubscriptionStatus.TRIAL,
            new_status=SubscriptionStatus.ACTIVE,
            period_start=terms.period.start,
            period_end=terms.period.end,
            actor=_actor_or_none(actor),
        )
        services.changes_done([change])
        emit_event(
            "subscription.trial_converted",
            actor=actor,
            aggregate=subscription,
            payload=_payload(subscription, effective_date=day.isoformat()),
        )
    return change


@dataclass(frozen=True)
class TrialUpgradeQuote:
    """The amounts an upgrade on ``period.start`` would charge, before tax."""

    terms: PaidTerms
    currency: str
    first_period: PeriodPrice
    setup_fee_total: Decimal

    @property
    def total(self) -> Decimal:
        return self.first_period.net + self.setup_fee_total


def trial_upgrade_quote(
    subscription: Subscription,
    *,
    quantity: int,
    plan: ProductPlan | None = None,
    on: date | None = None,
) -> TrialUpgradeQuote:
    """What ``trial_upgrade_to_paid`` would charge on ``on``; writes nothing.

    The same rules as the conversion (checks, alignment, price, setup fee) applied to an
    unsaved copy, so the preview and the invoice cannot disagree.
    """
    day = on or timezone.localdate()
    if subscription.status != SubscriptionStatus.TRIAL:
        raise ValidationError(
            {
                "status": _("%(number)s is not a trial; it is %(status)s.")
                % {"number": subscription.number, "status": subscription.get_status_display()}
            }
        )
    _check_convertible(subscription, day)
    terms = _paid_terms(subscription, quantity=quantity, plan=plan, day=day)
    draft = copy.copy(subscription)
    _apply_paid_terms(draft, terms, timezone.now())
    if draft.billing_method == BillingMethod.PREPAID:
        first = period_price(
            draft,
            terms.period,
            method=services.proration_method_for(draft),
            cycle_number=1,
        )
    else:
        first = PeriodPrice(
            terms.period, quantity, draft.effective_unit_price, Decimal(0), Decimal(0)
        )
    return TrialUpgradeQuote(
        terms=terms,
        currency=draft.currency,
        first_period=first,
        setup_fee_total=quantize(terms.setup_fee * quantity, draft.currency),
    )


# ------------------------------------------------------------------------------ expiry


def trial_expire(
    *, actor: Any, subscription: Subscription, today: date | None = None
) -> SubscriptionChange | None:
    """End a trial nobody upgraded; None when it was upgraded, ended or still running.

    Add-ons on trial end with their subscription's trial: in the same transaction when
    the parent expires here, and on their own when the parent ended by another path
    (the billing run, a cancellation), whatever their own trial end says.
    """
    today = today or timezone.localdate()
    with transaction.atomic(), acting_as(actor):
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("product", "account", "parent")
            .get(pk=subscription.pk)
        )
        if locked.status != SubscriptionStatus.TRIAL or locked.trial_end is None:
            return None
        parent = locked.parent
        if locked.trial_end <= today:
            ended_on = locked.trial_end
        elif parent is not None and not parent.is_live:
            ended_on = min(parent.ended_on or today, locked.trial_end)
        else:
            return None
        change = _expire(locked, actor=actor, ended_on=ended_on)
        for addon in (
            Subscription.objects.select_for_update(of=("self",))
            .filter(parent=locked, status=SubscriptionStatus.TRIAL)
            .select_related("product", "account")
            .order_by("pk")
        ):
            _expire(addon, actor=actor, ended_on=min(ended_on, addon.trial_end or ended_on))
    return change


def _expire(subscription: Subscription, *, actor: Any, ended_on: date) -> SubscriptionChange:
    services.check_status_change(subscription, SubscriptionStatus.EXPIRED)
    subscription.status = SubscriptionStatus.EXPIRED
    subscription.ended_on = ended_on
    subscription.end_reason = (
        _("Trial ended without an upgrade")
        if subscription.parent_id is None or ended_on == subscription.trial_end
        else _("Trial ended with its subscription")
    )
    subscription.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
    at = timezone.make_aware(datetime.combine(ended_on, datetime.min.time()))
    change = SubscriptionChange.objects.create(
        subscription=subscription,
        kind=ChangeKind.EXPIRED,
        source=ChangeSource.SYSTEM,
        effective_at=at,
        effective_date=ended_on,
        old_quantity=subscription.quantity,
        new_quantity=subscription.quantity,
        old_status=SubscriptionStatus.TRIAL,
        new_status=SubscriptionStatus.EXPIRED,
        note=_("Trial ended"),
        actor=_actor_or_none(actor),
    )
    provisioning.lifecycle_changed(subscription, change)  # deprovision at the vendor
    emit_event(
        "subscription.expired",
        actor=actor,
        aggregate=subscription,
        payload=_payload(subscription, trial=True),
    )
    return change


def expire_ended_trials(today: date | None = None) -> int:
    """Expire every trial whose end has come, and trial add-ons whose subscription ended.

    Safe to run twice: each one is re-checked under its lock, and an add-on already
    expired with its parent is skipped.
    """
    today = today or timezone.localdate()
    expired = 0
    due = Subscription.objects.filter(status=SubscriptionStatus.TRIAL, trial_end__lte=today)
    orphaned = Subscription.objects.filter(
        status=SubscriptionStatus.TRIAL,
        parent__isnull=False,
        parent__status__in=[SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED],
    )
    ids = list((due | orphaned).order_by("pk").values_list("pk", flat=True))
    for subscription_id in ids:
        if trial_expire(actor=None, subscription=Subscription(pk=subscription_id), today=today):
            expired += 1
    return expired


# ------------------------------------------------------------------------------- end now


def trial_end_now(
    *,
    actor: Any,
    subscription: Subscription,
    reason: str = "",
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    """End a running trial today instead of at its end: canceled, free, trial add-ons with it.

    Not the cancellation service: a free trial has no refund policy, and the product
    type's offered cancellation times (which may exclude "immediate") are for paid ones.
    """
    at = effective_at or timezone.now()
    day = timezone.localdate(at)
    with transaction.atomic(), acting_as(actor):
        locked = _lock_trial(subscription)
        reason = reason.strip()[:300] or _("Trial ended early")
        change = _cancel_trial(locked, actor=actor, at=at, day=day, reason=reason, source=source)
        changes = [change]
        for addon in (
            Subscription.objects.select_for_update(of=("self",))
            .filter(parent=locked, status=SubscriptionStatus.TRIAL)
            .select_related("product", "account")
            .order_by("pk")
        ):
            ended_with = _("Ended with %(number)s") % {"number": locked.number}
            changes.append(
                _cancel_trial(addon, actor=actor, at=at, day=day, reason=ended_with, source=source)
            )
        services.changes_done(changes)
    return change


def _cancel_trial(
    subscription: Subscription,
    *,
    actor: Any,
    at: datetime,
    day: date,
    reason: str,
    source: str,
) -> SubscriptionChange:
    services.check_status_change(subscription, SubscriptionStatus.CANCELED)
    subscription.status = SubscriptionStatus.CANCELED
    subscription.ended_on = day
    subscription.end_reason = reason
    subscription.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
    change = services.record_change(
        subscription,
        ChangeKind.CANCEL,
        actor=actor,
        source=source,
        at=at,
        effective_date=day,
        old_status=SubscriptionStatus.TRIAL,
        new_status=SubscriptionStatus.CANCELED,
        old_quantity=subscription.quantity,
        new_quantity=0,
        refund_amount=Decimal(0),
        note=reason,
        details={"timing": services.CancelTiming.IMMEDIATE, "trial": True},
    )
    emit_event(
        "subscription.canceled",
        actor=actor,
        aggregate=subscription,
        payload=_payload(subscription, effective_date=day.isoformat(), refund="0", trial=True),
    )
    return change


# ------------------------------------------------------------------------------ notices


def notice_days() -> list[int]:
    """The configured notice days, largest first (``"7,3,1"`` -> [7, 3, 1])."""
    raw = services.subscription_settings().trial_notice_days or ""
    days = {int(part) for part in raw.replace(" ", "").split(",") if part.isdigit()}
    return sorted((day for day in days if day > 0), reverse=True)


def due_notice(subscription: Subscription, today: date, days: list[int]) -> int | None:
    """The notice (days before the end) due today, if any.

    The notice due is the nearest one not yet passed: with 7, 3 and 1 and five days
    left, the 7-day notice (sent late if the job missed its day, unless the 3-day one is
    already due). A notice whose day falls in the first half of the trial is skipped.
    """
    if subscription.trial_end is None:
        return None
    left = (subscription.trial_end - today).days
    if left <= 0:
        return None
    candidates = [day for day in days if day >= left]
    if not candidates:
        return None
    notice = min(candidates)
    length = (subscription.trial_end - subscription.start_date).days
    notice_day = subscription.trial_end - timedelta(days=notice)
    if (notice_day - subscription.start_date).days * 2 < length:
        return None
    return notice


def send_trial_notices(today: date | None = None) -> int:
    """Emit ``subscription.trial_ending`` for each notice due today, once per notice."""
    today = today or timezone.localdate()
    days = notice_days()
    if not days:
        return 0
    sent = 0
    horizon = today + timedelta(days=max(days))
    trials = Subscription.objects.filter(
        status=SubscriptionStatus.TRIAL, trial_end__gt=today, trial_end__lte=horizon
    ).select_related("product", "account")
    for subscription in trials:
        notice = due_notice(subscription, today, days)
        if notice is None:
            continue
        if _send_notice(subscription, notice, today):
            sent += 1
    return sent


def _send_notice(subscription: Subscription, notice: int, today: date) -> bool:
    try:
        with transaction.atomic():
            TrialNotice.objects.create(
                subscription=subscription, days_before=notice, trial_end=subscription.trial_end
            )
            emit_event(
                "subscription.trial_ending",
                aggregate=subscription,
                payload=_payload(
                    subscription,
                    days_before=notice,
                    days_remaining=(subscription.trial_end - today).days,
                ),
            )
    except IntegrityError:
        return False  # already sent for this trial end
    return True


def _payload(subscription: Subscription, **extra: Any) -> dict[str, Any]:
    return {
        "subscription_id": subscription.pk,
        "number": subscription.number,
        "account_id": subscription.account_id,
        "product": subscription.product.name,
        "quantity": subscription.quantity,
        "status": subscription.status,
        "trial_end": subscription.trial_end.isoformat() if subscription.trial_end else None,
        "trial_last_day": (
            (subscription.trial_end - timedelta(days=1)).isoformat()
            if subscription.trial_end
            else None
        ),
        **extra,
    }
