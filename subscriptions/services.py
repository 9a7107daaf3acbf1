"""Every write to subscriptions: creation, quantity, upgrades, cancellations, renewals, status.

Each service runs in one transaction: it checks the rule, writes the subscription and a
``SubscriptionChange`` row, lets the change listeners (billing) record the money the
change decides, and emits the domain event. Every operation takes ``effective_at``
(default now) so it can be replayed exactly; a date before today needs the "backdate"
right, checked by the views and the API that pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import billing_profile, can_order, quote_for_account
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize_unit_price
from bss.core.numbering import next_number
from catalogue.models import CYCLE_MONTHS, BundleComponent, ChargeType, Product, ProductPlan
from catalogue.pricing import require_plan_of
from catalogue.relations import upgrade_targets
from subscriptions import hooks, provisioning
from subscriptions.amounts import (
    RefundDecision,
    RefundRefused,
    cancellation_refund,
    change_price,
)
from subscriptions.models import (
    LIVE_STATUSES,
    SUBSCRIPTION_TRANSITIONS,
    BillingMethod,
    ChangeKind,
    ChangeSource,
    FutureRequest,
    FutureRequestStatus,
    FutureRequestType,
    ProrationMethod,
    ProvisioningStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionSettings,
    SubscriptionStatus,
)
from subscriptions.periods import (
    LAST_DAY,
    Period,
    add_months,
    first_period,
    term_end_for,
)

HUNDRED = Decimal(100)


class CancelTiming:
    IMMEDIATE = "immediate"
    SPECIFIC_DATE = "specific_date"
    END_OF_PERIOD = "end_of_period"
    ALL = (IMMEDIATE, SPECIFIC_DATE, END_OF_PERIOD)


class RefundChoice:
    POLICY = "policy"
    NONE = "none"
    CUSTOM = "custom"
    ALL = (POLICY, NONE, CUSTOM)


# ------------------------------------------------------------------------------ helpers


def subscription_settings() -> SubscriptionSettings:
    found = SubscriptionSettings.objects.filter(pk=SubscriptionSettings.SINGLETON_PK).first()
    return found or SubscriptionSettings(pk=SubscriptionSettings.SINGLETON_PK)


def proration_method_for(subscription: Subscription) -> str:
    """The product type's choice, else the organization's; "exclude from pro-rata" = none."""
    if subscription.plan.exclude_from_proration:
        return ProrationMethod.NONE
    product_type = subscription.product.product_type
    if product_type is not None and product_type.proration_method:
        return product_type.proration_method
    return subscription_settings().proration_method


def _now(effective_at: datetime | None) -> datetime:
    return effective_at or timezone.now()


def _local_date(moment: datetime) -> date:
    return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()


def check_status_change(subscription: Subscription, target: str) -> None:
    if target not in SUBSCRIPTION_TRANSITIONS[subscription.status]:
        raise ValidationError(
            {
                "status": _("A subscription that is %(current)s cannot become %(target)s.")
                % {
                    "current": subscription.get_status_display(),
                    "target": SubscriptionStatus(target).label,
                }
            }
        )


def lock_subscription(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("product__product_type", "plan", "promotion", "account")
        .get(pk=subscription.pk)
    )


def record_change(
    subscription: Subscription,
    kind: str,
    *,
    actor: Any,
    source: str,
    at: datetime,
    effective_date: date | None = None,
    **fields: Any,
) -> SubscriptionChange:
    change = SubscriptionChange.objects.create(
        subscription=subscription,
        kind=kind,
        source=source,
        effective_at=at,
        effective_date=effective_date or _local_date(at),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        **fields,
    )
    provisioning.lifecycle_changed(subscription, change)
    return change


def event_payload(subscription: Subscription, **extra: Any) -> dict[str, Any]:
    return {
        "subscription_id": subscription.pk,
        "number": subscription.number,
        "account_id": subscription.account_id,
        "product": subscription.product.name,
        "quantity": subscription.quantity,
        "status": subscription.status,
        **extra,
    }


def billing_method_for(plan: ProductPlan) -> str:
    if plan.charge_type == ChargeType.RECURRING_PAY_PER_USE:
        return BillingMethod.PAY_PER_USE
    return BillingMethod.PREPAID


def net_unit_price(unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    return quantize_unit_price(unit_price * (HUNDRED - discount_percent) / HUNDRED)


def check_quantity(product: Product, quantity: int, field: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError({field: _("The quantity must be a whole number of at least 1.")})
    if quantity < product.min_quantity:
        raise ValidationError(
            {
                field: _("%(product)s needs at least %(min)d units.")
                % {"product": product.name, "min": product.min_quantity}
            }
        )
    if product.max_quantity and quantity > product.max_quantity:
        raise ValidationError(
            {
                field: _("%(product)s allows at most %(max)d units.")
                % {"product": product.name, "max": product.max_quantity}
            }
        )


def _check_discount(discount_percent: Decimal) -> None:
    if discount_percent < 0 or discount_percent > HUNDRED:
        raise ValidationError({"discount_percent": _("The discount must be between 0 and 100 %.")})


def anchor_and_alignment(account: Account, plan: ProductPlan, start: date) -> tuple[int, bool]:
    """The anchor day of the periods and whether the first period is cut to it."""
    if plan.billing_date_rule == "specific_day" and plan.billing_day:
        return plan.billing_day, True
    profile = billing_profile(account)
    method = ProrationMethod.NONE if plan.exclude_from_proration else None
    if profile.is_prorated and method is None:
        rule = profile.billing_day_rule
        if rule == Account.BillingDayRule.LAST:
            return LAST_DAY, True
        if rule == Account.BillingDayRule.FIXED and profile.billing_day:
            return profile.billing_day, True
        if rule == Account.BillingDayRule.FIRST_ORDER:
            first = profile.first_order_date or start
            return first.day, True
        return 1, True
    return start.day, False


def changes_done(changes: Sequence[SubscriptionChange]) -> None:
    hooks.changes_recorded(list(changes))


# ----------------------------------------------------------------------------- creation


def subscription_create(
    *,
    actor: Any,
    account: Account,
    product: Product,
    plan: ProductPlan,
    quantity: int,
    start_date: date,
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    price_list: Any = None,
    promotion: Any = None,
    friendly_name: str = "",
    parent: Subscription | None = None,
    bundle: Subscription | None = None,
    origin_order_item_id: int | None = None,
    provisioning_attributes: dict[str, Any] | None = None,
    trial: bool = False,
    auto_renew: bool | None = None,
    custom_data: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> Subscription:
    """Create a subscription; a second call for the same order item returns the first one."""
    if origin_order_item_id is not None:
        existing = Subscription.objects.filter(origin_order_item_id=origin_order_item_id).first()
        if existing is not None:
            return existing
    at = _now(effective_at)
    require_plan_of(product, plan)
    if not plan.is_recurring:
        raise ValidationError(
            {
                "plan": _("%(product)s is sold once: it becomes an asset, not a subscription.")
                % {"product": product.name}
            }
        )
    if product.status != Product.Status.ACTIVE:
        raise ValidationError({"product": _("%(product)s is retired.") % {"product": product.name}})
    if not can_order(account):
        raise ValidationError(
            {
                "account": _("%(account)s may not order: it is inactive or ordering is off.")
                % {"account": account.name}
            }
        )
    check_quantity(product, quantity)
    provisioned = provisioning.needs_provisioning(product)
    discount_percent = Decimal(discount_percent)
    _check_discount(discount_percent)
    if parent is not None and parent.account_id != account.pk:
        raise ValidationError(
            {"parent": _("An add-on belongs to a subscription of the same account.")}
        )
    if parent is not None and not parent.is_live:
        raise ValidationError(
            {
                "parent": _("The parent subscription %(number)s is not live.")
                % {"number": parent.number}
            }
        )
    if trial and not plan.trial_enabled:
        raise ValidationError(
            {
                "trial": _("%(product)s has no trial on the %(plan)s plan.")
                % {"product": product.name, "plan": plan}
            }
        )

    profile = billing_profile(account)
    quote = quote_for_account(
        account, product=product, plan=plan, quantity=quantity, on_date=start_date
    )
    resolved_price = quote.unit_price
    cycle_months = CYCLE_MONTHS[plan.billing_cycle]
    term_months = max(plan.commitment_months or 0, cycle_months)
    if parent is not None:
        anchor, aligned = parent.anchor_day, True
        coterm = parent.current_period_end if parent.cycle_months == cycle_months else None
    else:
        anchor, aligned = anchor_and_alignment(account, plan, start_date)
        coterm = None
    with transaction.atomic(), acting_as(actor):
        if trial:
            trial_end = start_date + timedelta(days=plan.trial_days)
            period = Period(start=start_date, end=trial_end, full_start=start_date)
            term_end = trial_end
            anchor, aligned = start_date.day, False
        else:
            trial_end = None
            period = first_period(
                start=start_date,
                cycle_months=cycle_months,
                anchor_day=anchor,
                aligned=aligned,
                coterm_end=coterm,
            )
            term_end = term_end_for(period, term_months, anchor)
        effective_price = unit_price if unit_price is not None else resolved_price
        subscription = Subscription(
            number=next_number("subscription", prefix="SUB-", padding=7),
            friendly_name=friendly_name.strip(),
            account=account,
            billing_account_id=profile.billing_account_id,
            product=product,
            plan=plan,
            parent=parent,
            bundle=bundle,
            quantity=quantity,
            currency=profile.currency,
            price_list_id=getattr(price_list, "pk", None) or quote.price_list_id,
            unit_price=quantize_unit_price(resolved_price),
            user_unit_price=quantize_unit_price(unit_price) if unit_price is not None else None,
            discount_percent=discount_percent,
            final_unit_price=net_unit_price(effective_price, discount_percent),
            setup_fee=quote.setup_fee,
            promotion_id=getattr(promotion, "pk", None) or quote.promotion_id,
            billing_cycle=plan.billing_cycle,
            cycle_months=cycle_months,
            term_months=term_months,
            billing_method=billing_method_for(plan),
            status=_initial_status(trial=trial, provisioned=provisioned),
            ordered_on=_local_date(at),
            start_date=start_date,
            anchor_day=anchor,
            is_aligned=aligned and period.is_partial,
            current_period_start=period.start,
            current_period_end=period.end,
            term_start=start_date,
            term_started_at=at if _local_date(at) == start_date else None,
            term_end=term_end,
            auto_renew=plan.auto_renew if auto_renew is None else auto_renew,
            trial_end=trial_end,
            price_protected_until=term_end if plan.is_price_protected else None,
            provisioning_status=(
                ProvisioningStatus.PENDING if provisioned else ProvisioningStatus.NOT_REQUIRED
            ),
            provisioning_attributes=provisioning_attributes or {},
            is_single_per_account=product.single_subscription,
            origin_order_item_id=origin_order_item_id,
            custom_data=custom_data or {},
        )
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError as error:
            if breaks_one_live_per_account(error, subscription):
                raise ValidationError(
                    {
                        "product": _(
                            "%(account)s already has a live %(product)s subscription on this plan."
                        )
                        % {"account": account.name, "product": product.name}
                    }
                ) from error
            raise
        if account.first_order_date is None:
            Account.objects.filter(pk=account.pk, first_order_date__isnull=True).update(
                first_order_date=start_date
            )
        change = record_change(
            subscription,
            ChangeKind.TRIAL_STARTED if trial else ChangeKind.CREATED,
            actor=actor,
            source=source,
            at=at,
            effective_date=start_date,
            new_quantity=quantity,
            new_unit_price=subscription.effective_unit_price,
            new_status=subscription.status,
            period_start=period.start,
            period_end=period.end,
            origin_order_item_id=origin_order_item_id,
        )
        changes_done([change])
        if provisioned:
            provisioning.queue_provisioning(subscription.pk, change.pk)
        emit_event(
            "subscription.created",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription, trial=trial),
        )
    return subscription


def breaks_one_live_per_account(error: IntegrityError, subscription: Subscription) -> bool:
    """Whether ``error`` is the one-live-subscription constraint refusing ``subscription``.

    PostgreSQL names the constraint in its message, SQLite only lists the columns: the
    question is answered by looking for the other live subscription.
    """
    if "subscriptions_one_live_per_account" in str(error):
        return True
    return (
        subscription.is_single_per_account
        and Subscription.objects.filter(
            account_id=subscription.account_id,
            product_id=subscription.product_id,
            plan_id=subscription.plan_id,
            is_single_per_account=True,
            status__in=LIVE_STATUSES,
        )
        .exclude(pk=subscription.pk)
        .exists()
    )


def _initial_status(*, trial: bool, provisioned: bool) -> str:
    """A trial starts as a trial (provisioned meanwhile); a provisioned product waits for it."""
    if trial:
        return SubscriptionStatus.TRIAL
    return SubscriptionStatus.PENDING if provisioned else SubscriptionStatus.ACTIVE


# --------------------------------------------------------------------------- guards


def _require_billable_change(subscription: Subscription, *, what: str) -> None:
    """The rules every quantity or price change must pass (spec 4.2)."""
    if subscription.status == SubscriptionStatus.PENDING_CANCEL:
        raise ValidationError(
            {
                "status": _(
                    "%(number)s is pending for cancel: revoke the cancellation before any %(what)s."
                )
                % {"number": subscription.number, "what": what}
            }
        )
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise ValidationError(
            {
                "status": _(
                    "Only an active subscription allows a %(what)s; %(number)s is %(status)s."
                )
                % {
                    "what": what,
                    "number": subscription.number,
                    "status": subscription.get_status_display(),
                }
            }
        )
    protected_until = subscription.price_protected_until
    if protected_until and protected_until > subscription.current_period_start:
        raise ValidationError(
            {
                "status": _("%(number)s is price protected: no %(what)s in this billing cycle.")
                % {"number": subscription.number, "what": what}
            }
        )
    if subscription.billing_method == BillingMethod.PREPAID and (
        subscription.billed_through is None
        or subscription.billed_through < subscription.current_period_end
    ):
        raise ValidationError(
            {
                "status": _(
                    "The current billing cycle of %(number)s is not charged yet: generate its pending "
                    "invoices first, then change it."
                )
                % {"number": subscription.number}
            }
        )


def _in_current_period(subscription: Subscription, day: date) -> None:
    if not subscription.current_period_start <= day < subscription.current_period_end:
        raise ValidationError(
            {
                "effective_at": _(
                    "The date must fall in the current billing period, %(start)s to %(end)s."
                )
                % {
                    "start": subscription.current_period_start,
                    "end": subscription.current_period_end - timedelta(days=1),
                }
            }
        )


def cancellation_window_open(subscription: Subscription, at: datetime) -> bool:
    product_type = subscription.product.product_type
    window = product_type.cancellation_window_hours if product_type else 0
    if not window:
        return True
    started = subscription.term_started_at or timezone.make_aware(
        datetime.combine(subscription.term_start, datetime.min.time())
    )
    return (at - started).total_seconds() <= window * 3600


# --------------------------------------------------------------------- quantity changes


def subscription_change_quantity(
    *,
    actor: Any,
    subscription: Subscription,
    new_quantity: int,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
    origin_order_item_id: int | None = None,
    note: str = "",
) -> SubscriptionChange:
    """Set a new total quantity now; billing charges or credits the rest of the period."""
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if origin_order_item_id is not None:
            done = subscription.changes.filter(origin_order_item_id=origin_order_item_id).first()
            if done is not None:
                return done
        check_quantity(subscription.product, new_quantity, "new_quantity")
        if new_quantity == subscription.quantity:
            raise ValidationError(
                {
                    "new_quantity": _("The quantity is already %(quantity)d.")
                    % {"quantity": new_quantity}
                }
            )
        if subscription.bundle_id is not None:
            raise ValidationError(
                {"new_quantity": _("Change the quantity of the bundle, not of its component.")}
            )
        _require_billable_change(subscription, what=_("quantity change"))
        day = _local_date(at)
        _in_current_period(subscription, day)
        if new_quantity < subscription.quantity and not cancellation_window_open(subscription, at):
            raise ValidationError(
                {
                    "new_quantity": _(
                        "The cancellation window has passed: the quantity can only grow now. "
                        "Schedule the decrease for the renewal instead."
                    )
                }
            )
        old = subscription.quantity
        subscription.quantity = new_quantity
        subscription.save(update_fields=["quantity", "updated_at"])
        _sync_components(subscription, actor=actor, at=at, source=source)
        change = record_change(
            subscription,
            ChangeKind.QUANTITY,
            actor=actor,
            source=source,
            at=at,
            old_quantity=old,
            new_quantity=new_quantity,
            old_unit_price=subscription.effective_unit_price,
            new_unit_price=subscription.effective_unit_price,
            period_start=day,
            period_end=subscription.current_period_end,
            origin_order_item_id=origin_order_item_id,
            note=note,
        )
        _cancel_pending_requests(subscription, FutureRequestType.QUANTITY, actor=actor)
        changes_done([change])
        emit_event(
            "subscription.quantity_changed",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription, old_quantity=old, new_quantity=new_quantity),
        )
    return change


def _sync_components(subscription: Subscription, *, actor: Any, at: datetime, source: str) -> None:
    """Bundle components follow the bundle's quantity (they are never billed themselves)."""
    per_bundle = dict(
        BundleComponent.objects.filter(bundle_id=subscription.product_id).values_list(
            "component_id", "quantity"
        )
    )
    for component in subscription.components.filter(status__in=LIVE_STATUSES).select_related(
        "product"
    ):
        old = component.quantity
        component.quantity = subscription.quantity * per_bundle.get(component.product_id, 1)
        component.save(update_fields=["quantity", "updated_at"])
        if provisioning.is_provisioned(component) and component.quantity != old:
            # The vendor provisions the component: its own row is the attempt that
            # sends the new quantity. No period: components are never charged.
            record_change(
                component,
                ChangeKind.QUANTITY,
                actor=actor,
                source=source,
                at=at,
                old_quantity=old,
                new_quantity=component.quantity,
                related_subscription=subscription,
            )


# ----------------------------------------------------------------------- future requests


def future_request_create(
    *,
    actor: Any,
    subscription: Subscription,
    request_type: str,
    renewal_value: str,
    via_storefront: bool = False,
    details: dict[str, Any] | None = None,
) -> FutureRequest:
    """Schedule a change for the renewal; a new request of the same type replaces the old."""
    if request_type not in FutureRequestType.values:
        raise ValidationError({"request_type": _("Unknown request type.")})
    if not subscription.is_live or subscription.status == SubscriptionStatus.TRIAL:
        raise ValidationError(
            {"status": _("Only a live, paid subscription takes requests for its renewal.")}
        )
    current = {
        FutureRequestType.QUANTITY: str(subscription.quantity),
        FutureRequestType.BILLING_PLAN: subscription.billing_cycle,
        FutureRequestType.BILLING_TERM: str(subscription.term_months),
        FutureRequestType.DOWNGRADE: subscription.product.code,
    }[request_type]
    if request_type == FutureRequestType.QUANTITY:
        try:
            value = int(renewal_value)
        except (TypeError, ValueError):
            raise ValidationError(
                {"renewal_value": _("Enter the quantity for the renewal.")}
            ) from None
        check_quantity(subscription.product, value, "renewal_value")
        renewal_value = str(value)
    if str(renewal_value) == current:
        raise ValidationError({"renewal_value": _("The renewal value equals the current one.")})
    with transaction.atomic(), acting_as(actor):
        _cancel_pending_requests(subscription, request_type, actor=actor)
        request = FutureRequest.objects.create(
            subscription=subscription,
            request_type=request_type,
            current_value=current,
            renewal_value=str(renewal_value),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            updated_by=actor if getattr(actor, "is_authenticated", False) else None,
            via_storefront=via_storefront,
            details=details or {},
        )
        emit_event(
            "subscription.future_request_created",
            actor=actor,
            aggregate=request,
            payload=event_payload(
                subscription,
                request_id=request.pk,
                type=request_type,
                current_value=current,
                renewal_value=str(renewal_value),
            ),
        )
    return request


def future_request_revoke(*, actor: Any, request: FutureRequest) -> FutureRequest:
    with transaction.atomic(), acting_as(actor):
        request = FutureRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != FutureRequestStatus.PENDING:
            raise ValidationError({"status": _("Only a pending request can be revoked.")})
        request.status = FutureRequestStatus.CANCELED
        request.revoked_at = timezone.now()
        request.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        request.updated_by = request.revoked_by
        request.save()
    return request


def _cancel_pending_requests(subscription: Subscription, request_type: str, *, actor: Any) -> None:
    """A mid-term change of the same kind replaces what was scheduled for the renewal."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    FutureRequest.objects.filter(
        subscription=subscription, request_type=request_type, status=FutureRequestStatus.PENDING
    ).update(status=FutureRequestStatus.CANCELED, revoked_at=timezone.now(), revoked_by=user)


# ---------------------------------------------------------------- upgrades and downgrades


def subscription_upgrade(
    *,
    actor: Any,
    subscription: Subscription,
    target_product: Product,
    target_plan: ProductPlan,
    quantity: int,
    target_subscription: Subscription | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
    origin_order_item_id: int | None = None,
) -> Subscription:
    """Move ``quantity`` seats to an upgrade target, credited and charged pro rata.

    All seats: the source is canceled. Some seats: the source keeps the rest. The
    target is a new subscription starting today or an existing one of the account.
    """
    at = _now(effective_at)
    day = _local_date(at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if origin_order_item_id is not None:
            done = subscription.changes.filter(
                origin_order_item_id=origin_order_item_id, kind=ChangeKind.UPGRADE_OUT
            ).first()
            if done is not None and done.related_subscription is not None:
                return done.related_subscription
        if target_product.pk not in {
            product.pk for product in upgrade_targets(subscription.product)
        }:
            raise ValidationError(
                {
                    "target_product": _("%(target)s is not an upgrade of %(source)s.")
                    % {"target": target_product.name, "source": subscription.product.name}
                }
            )
        if target_plan.product_id != target_product.pk:
            raise ValidationError(
                {"target_plan": _("The plan does not belong to the target product.")}
            )
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= subscription.quantity
        ):
            raise ValidationError(
                {
                    "quantity": _("Upgrade between 1 and %(max)d seats.")
                    % {"max": subscription.quantity}
                }
            )
        _require_billable_change(subscription, what=_("upgrade"))
        _in_current_period(subscription, day)
        moved_all = quantity == subscription.quantity
        method = proration_method_for(subscription)
        credit = _unused_credit(subscription, quantity, day, method)
        old_quantity = subscription.quantity
        old_status = subscription.status
        if moved_all:
            subscription.status = SubscriptionStatus.CANCELED
            subscription.ended_on = day
            subscription.end_reason = _("Upgraded to %(product)s") % {
                "product": target_product.name
            }
            subscription.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
        else:
            subscription.quantity = old_quantity - quantity
            subscription.save(update_fields=["quantity", "updated_at"])

        if target_subscription is not None:
            target = lock_subscription(target_subscription)
            if (
                target.account_id != subscription.account_id
                or target.product_id != target_product.pk
            ):
                raise ValidationError(
                    {
                        "target_subscription": _(
                            "Choose a subscription of %(product)s of the same account."
                        )
                        % {"product": target_product.name}
                    }
                )
            if target.status != SubscriptionStatus.ACTIVE:
                raise ValidationError(
                    {"target_subscription": _("The target subscription is not active.")}
                )
            _require_billable_change(target, what=_("upgrade"))
            old_target_quantity = target.quantity
            check_quantity(target_product, old_target_quantity + quantity, "quantity")
            target.quantity = old_target_quantity + quantity
            target.save(update_fields=["quantity", "updated_at"])
            target_change = record_change(
                target,
                ChangeKind.UPGRADE_IN,
                actor=actor,
                source=source,
                at=at,
                old_quantity=old_target_quantity,
                new_quantity=target.quantity,
                old_unit_price=target.effective_unit_price,
                new_unit_price=target.effective_unit_price,
                period_start=day,
                period_end=target.current_period_end,
                related_subscription=subscription,
            )
        else:
            target = subscription_create(
                actor=actor,
                account=subscription.account,
                product=target_product,
                plan=target_plan,
                quantity=quantity,
                start_date=day,
                friendly_name=subscription.friendly_name,
                effective_at=at,
                source=source,
            )
            target_change = None
        source_change = record_change(
            subscription,
            ChangeKind.UPGRADE_OUT,
            actor=actor,
            source=source,
            at=at,
            old_quantity=old_quantity,
            new_quantity=subscription.quantity if not moved_all else 0,
            old_unit_price=subscription.effective_unit_price,
            new_unit_price=subscription.effective_unit_price,
            old_status=old_status,
            new_status=subscription.status,
            period_start=day,
            period_end=subscription.current_period_end,
            refund_amount=credit,
            related_subscription=target,
            origin_order_item_id=origin_order_item_id,
            details={"moved_quantity": quantity},
        )
        changes = [source_change] + ([target_change] if target_change else [])
        if moved_all:
            changes += _cancel_addons(subscription, actor=actor, at=at, source=source, day=day)
        changes_done(changes)
        emit_event(
            "subscription.upgraded",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(
                subscription, target_subscription_id=target.pk, moved_quantity=quantity
            ),
        )
    return target


def _unused_credit(subscription: Subscription, quantity: int, day: date, method: str) -> Decimal:
    """The net credit for ``quantity`` seats from ``day`` to the period end (0 if unbilled)."""
    if subscription.billing_method != BillingMethod.PREPAID:
        return Decimal(0)
    price = change_price(subscription, quantity_delta=-quantity, effective_date=day, method=method)
    return -price.net


def subscription_schedule_downgrade(
    *,
    actor: Any,
    subscription: Subscription,
    target_product: Product,
    target_plan: ProductPlan,
    via_storefront: bool = False,
) -> FutureRequest:
    """A downgrade takes effect at the end of the period, as a request for the renewal."""
    from catalogue.relations import downgrade_targets

    if target_product.pk not in {product.pk for product in downgrade_targets(subscription.product)}:
        raise ValidationError(
            {
                "target_product": _("%(target)s is not a downgrade of %(source)s.")
                % {"target": target_product.name, "source": subscription.product.name}
            }
        )
    if target_plan.product_id != target_product.pk:
        raise ValidationError({"target_plan": _("The plan does not belong to the target product.")})
    return future_request_create(
        actor=actor,
        subscription=subscription,
        request_type=FutureRequestType.DOWNGRADE,
        renewal_value=target_product.code,
        via_storefront=via_storefront,
        details={"product_id": target_product.pk, "plan_id": target_plan.pk},
    )


# -------------------------------------------------------------------------- cancellation


def cancellation_preview(
    subscription: Subscription,
    *,
    timing: str,
    cancel_date: date | None = None,
    at: datetime | None = None,
    quantity: int | None = None,
) -> RefundDecision:
    """What the policy refunds for this cancellation; raises ValidationError if refused."""
    at = _now(at)
    day = _cancel_day(subscription, timing, cancel_date, at)
    if timing == CancelTiming.END_OF_PERIOD:
        return RefundDecision(
            Decimal(0), Decimal(0), "none", _("Billed to the end of the period: no refund.")
        )
    try:
        return cancellation_refund(
            subscription,
            cancel_date=day,
            cancel_at=at,
            method=proration_method_for(subscription),
            quantity=quantity,
        )
    except RefundRefused as refused:
        raise ValidationError({"timing": str(refused)}) from refused


def _cancel_day(
    subscription: Subscription, timing: str, cancel_date: date | None, at: datetime
) -> date:
    today = _local_date(at)
    if timing not in CancelTiming.ALL:
        raise ValidationError(
            {"timing": _("Choose immediate, a specific date or the end of the billing period.")}
        )
    product_type = subscription.product.product_type
    offered = {
        CancelTiming.IMMEDIATE: getattr(product_type, "offer_cancel_immediate", True),
        CancelTiming.SPECIFIC_DATE: getattr(product_type, "offer_cancel_specific_date", True),
        CancelTiming.END_OF_PERIOD: getattr(product_type, "offer_cancel_end_of_period", True),
    }
    if not offered[timing]:
        raise ValidationError(
            {
                "timing": _("%(type)s does not offer this cancellation time.")
                % {"type": product_type.name if product_type else ""}
            }
        )
    if timing == CancelTiming.IMMEDIATE:
        return today
    if timing == CancelTiming.END_OF_PERIOD:
        return subscription.current_period_end
    if cancel_date is None:
        raise ValidationError({"cancel_date": _("Enter the cancellation date.")})
    if cancel_date > today:
        raise ValidationError(
            {
                "cancel_date": _(
                    "A cancellation date cannot be in the future; choose "
                    "the end of the billing period instead."
                )
            }
        )
    if cancel_date < subscription.current_period_start:
        raise ValidationError(
            {
                "cancel_date": _("The date must be in the current billing cycle, from %(start)s.")
                % {"start": subscription.current_period_start}
            }
        )
    return cancel_date


def subscription_cancel(
    *,
    actor: Any,
    subscription: Subscription,
    timing: str,
    cancel_date: date | None = None,
    refund: str = RefundChoice.POLICY,
    custom_refund: Decimal | None = None,
    reason: str = "",
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
    origin_order_item_id: int | None = None,
) -> SubscriptionChange:
    """Cancel now, on a past date of this cycle, or at the end of the period.

    The refund follows the product type's policy unless ``refund`` is "none" or
    "custom" (the caller checks the right to choose those). Add-ons are canceled too.
    """
    at = _now(effective_at)
    if refund not in RefundChoice.ALL:
        raise ValidationError(
            {"refund": _("Choose the policy refund, no refund or a custom amount.")}
        )
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if origin_order_item_id is not None:
            done = subscription.changes.filter(origin_order_item_id=origin_order_item_id).first()
            if done is not None:
                return done
        if subscription.status in (SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED):
            raise ValidationError(
                {
                    "status": _("%(number)s is already %(status)s.")
                    % {"number": subscription.number, "status": subscription.get_status_display()}
                }
            )
        if (
            subscription.status == SubscriptionStatus.PENDING_CANCEL
            and timing == CancelTiming.END_OF_PERIOD
        ):
            raise ValidationError({"status": _("The cancellation is already scheduled.")})
        if subscription.bundle_id is not None:
            raise ValidationError({"timing": _("Cancel the bundle, not one of its components.")})
        day = _cancel_day(subscription, timing, cancel_date, at)
        old_status = subscription.status
        if timing == CancelTiming.END_OF_PERIOD:
            check_status_change(subscription, SubscriptionStatus.PENDING_CANCEL)
            subscription.status = SubscriptionStatus.PENDING_CANCEL
            subscription.cancel_on = day
            subscription.end_reason = reason[:300]
            subscription.save(update_fields=["status", "cancel_on", "end_reason", "updated_at"])
            change = record_change(
                subscription,
                ChangeKind.CANCEL_SCHEDULED,
                actor=actor,
                source=source,
                at=at,
                effective_date=day,
                old_status=old_status,
                new_status=subscription.status,
                old_quantity=subscription.quantity,
                new_quantity=subscription.quantity,
                note=reason[:500],
                origin_order_item_id=origin_order_item_id,
            )
            changes_done([change])
            emit_event(
                "subscription.cancel_scheduled",
                actor=actor,
                aggregate=subscription,
                payload=event_payload(subscription, effective_date=day.isoformat()),
            )
            return change

        if subscription.status == SubscriptionStatus.TRIAL:
            decision = RefundDecision(Decimal(0), Decimal(0), "none", _("Trials are free."))
        else:
            try:
                decision = cancellation_refund(
                    subscription,
                    cancel_date=day,
                    cancel_at=at,
                    method=proration_method_for(subscription),
                )
            except RefundRefused as refused:
                if refund == RefundChoice.POLICY:
                    raise ValidationError({"timing": str(refused)}) from refused
                decision = RefundDecision(Decimal(0), Decimal(0), "none", str(refused))
        amount = decision.amount
        if refund == RefundChoice.NONE:
            amount = Decimal(0)
        elif refund == RefundChoice.CUSTOM:
            if custom_refund is None or custom_refund < 0:
                raise ValidationError({"custom_refund": _("Enter a refund of zero or more.")})
            ceiling = decision.paid if decision.paid else amount
            if ceiling and custom_refund > ceiling:
                raise ValidationError(
                    {
                        "custom_refund": _(
                            "The refund cannot exceed what was paid for the period, %(paid)s."
                        )
                        % {"paid": ceiling}
                    }
                )
            amount = Decimal(custom_refund)
        check_status_change(subscription, SubscriptionStatus.CANCELED)
        subscription.status = SubscriptionStatus.CANCELED
        subscription.ended_on = day
        subscription.cancel_on = None
        subscription.end_reason = reason[:300]
        subscription.save(
            update_fields=["status", "ended_on", "cancel_on", "end_reason", "updated_at"]
        )
        change = record_change(
            subscription,
            ChangeKind.CANCEL,
            actor=actor,
            source=source,
            at=at,
            effective_date=day,
            old_status=old_status,
            new_status=subscription.status,
            old_quantity=subscription.quantity,
            new_quantity=0,
            period_start=day,
            period_end=max(subscription.current_period_end, day + timedelta(days=1)),
            refund_amount=amount,
            note=reason[:500],
            origin_order_item_id=origin_order_item_id,
            details={
                "timing": timing,
                "refund": refund,
                "policy": decision.basis,
                "explanation": decision.explanation,
            },
        )
        changes = [
            change,
            *_cancel_addons(subscription, actor=actor, at=at, source=source, day=day),
        ]
        FutureRequest.objects.filter(
            subscription=subscription, status=FutureRequestStatus.PENDING
        ).update(status=FutureRequestStatus.CANCELED, revoked_at=timezone.now())
        changes_done(changes)
        emit_event(
            "subscription.canceled",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription, effective_date=day.isoformat(), refund=str(amount)),
        )
    return change


def _cancel_addons(
    subscription: Subscription, *, actor: Any, at: datetime, source: str, day: date
) -> list[SubscriptionChange]:
    """Add-ons and bundle components end with their subscription, refunded by their policy."""
    changes = []
    dependants = Subscription.objects.filter(parent=subscription) | Subscription.objects.filter(
        bundle=subscription
    )
    for dependant in dependants.filter(
        status__in=[
            s
            for s in SUBSCRIPTION_TRANSITIONS
            if SubscriptionStatus.CANCELED in SUBSCRIPTION_TRANSITIONS[s]
        ]
    ).select_related("product__product_type", "plan", "promotion"):
        try:
            decision = cancellation_refund(
                dependant,
                cancel_date=max(day, dependant.current_period_start),
                cancel_at=at,
                method=proration_method_for(dependant),
            )
            refund = decision.amount
        except RefundRefused:
            refund = Decimal(0)
        if dependant.bundle_id is not None:
            refund = Decimal(0)
        old_status = dependant.status
        dependant.status = SubscriptionStatus.CANCELED
        dependant.ended_on = day
        dependant.end_reason = _("Canceled with %(number)s") % {"number": subscription.number}
        dependant.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
        changes.append(
            record_change(
                dependant,
                ChangeKind.CANCEL,
                actor=actor,
                source=source,
                at=at,
                effective_date=day,
                old_status=old_status,
                new_status=dependant.status,
                old_quantity=dependant.quantity,
                new_quantity=0,
                period_start=day,
                period_end=max(dependant.current_period_end, day + timedelta(days=1)),
                refund_amount=refund,
                related_subscription=subscription,
            )
        )
        changes += _cancel_addons(dependant, actor=actor, at=at, source=source, day=day)
    return changes


def subscription_revoke_cancellation(
    *,
    actor: Any,
    subscription: Subscription,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if subscription.status != SubscriptionStatus.PENDING_CANCEL:
            raise ValidationError(
                {
                    "status": _("%(number)s has no scheduled cancellation.")
                    % {"number": subscription.number}
                }
            )
        check_status_change(subscription, SubscriptionStatus.ACTIVE)
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.cancel_on = None
        subscription.end_reason = ""
        subscription.save(update_fields=["status", "cancel_on", "end_reason", "updated_at"])
        change = record_change(
            subscription,
            ChangeKind.CANCEL_REVOKED,
            actor=actor,
            source=source,
            at=at,
            old_status=SubscriptionStatus.PENDING_CANCEL,
            new_status=subscription.status,
        )
        changes_done([change])
        emit_event(
            "subscription.cancel_revoked",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription),
        )
    return change


# ------------------------------------------------------------------- status operations


def _set_status(
    subscription: Subscription,
    target: str,
    kind: str,
    event: str,
    *,
    actor: Any,
    effective_at: datetime | None,
    source: str,
    note: str = "",
    **extra_fields: Any,
) -> SubscriptionChange:
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        check_status_change(subscription, target)
        old = subscription.status
        subscription.status = target
        for name, value in extra_fields.items():
            setattr(subscription, name, value)
        subscription.save(update_fields=["status", *extra_fields, "updated_at"])
        change = record_change(
            subscription,
            kind,
            actor=actor,
            source=source,
            at=at,
            old_status=old,
            new_status=target,
            note=note[:500],
        )
        changes_done([change])
        emit_event(event, actor=actor, aggregate=subscription, payload=event_payload(subscription))
    return change


def subscription_suspend(
    *,
    actor: Any,
    subscription: Subscription,
    reason: str = "",
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    return _set_status(
        subscription,
        SubscriptionStatus.SUSPENDED,
        ChangeKind.SUSPENDED,
        "subscription.suspended",
        actor=actor,
        effective_at=effective_at,
        source=source,
        note=reason,
    )


def subscription_resume(
    *,
    actor: Any,
    subscription: Subscription,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    if subscription.status != SubscriptionStatus.SUSPENDED:
        raise ValidationError(
            {"status": _("Only a suspended subscription can be activated again.")}
        )
    return _set_status(
        subscription,
        SubscriptionStatus.ACTIVE,
        ChangeKind.RESUMED,
        "subscription.activated",
        actor=actor,
        effective_at=effective_at,
        source=source,
    )


def subscription_mark_provisioned(
    *,
    actor: Any,
    subscription: Subscription,
    effective_at: datetime | None = None,
    source: str = ChangeSource.SYSTEM,
) -> SubscriptionChange:
    """A pending subscription was provisioned: it becomes active."""
    return _set_status(
        subscription,
        SubscriptionStatus.ACTIVE,
        ChangeKind.ACTIVATED,
        "subscription.activated",
        actor=actor,
        effective_at=effective_at,
        source=source,
        provisioning_status=ProvisioningStatus.SYNCED,
        provisioning_error="",
    )


def subscription_mark_failed(
    *,
    actor: Any,
    subscription: Subscription,
    error: str,
    effective_at: datetime | None = None,
    source: str = ChangeSource.SYSTEM,
) -> SubscriptionChange:
    return _set_status(
        subscription,
        SubscriptionStatus.FAILED,
        ChangeKind.FAILED,
        "subscription.provisioning_failed",
        actor=actor,
        effective_at=effective_at,
        source=source,
        note=error,
        provisioning_status=ProvisioningStatus.FAILED,
        provisioning_error=error[:300],
    )


def subscription_reprovision(
    *,
    actor: Any,
    subscription: Subscription,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    """Send a failed subscription to provisioning again (pending until it answers).

    A trial whose provisioning failed stays a trial; only its provisioning is retried.
    A lifecycle action the vendor refused (suspend, cancel...) is sent again and the
    status stays (``_retry_lifecycle``). A bundle is not provisioned itself:
    reprovisioning it retries its failed components.
    """
    if subscription.product.kind == Product.Kind.BUNDLE:
        return _reprovision_components(
            subscription, actor=actor, effective_at=effective_at, source=source
        )
    if lifecycle_failed(subscription):
        return _retry_lifecycle(subscription, actor=actor, effective_at=effective_at, source=source)
    if subscription.status == SubscriptionStatus.TRIAL and (
        subscription.provisioning_status == ProvisioningStatus.FAILED
    ):
        change = _reprovision_trial(
            subscription, actor=actor, effective_at=effective_at, source=source
        )
    elif subscription.status != SubscriptionStatus.FAILED:
        raise ValidationError({"status": _("Only a failed subscription can be reprovisioned.")})
    else:
        change = _set_status(
            subscription,
            SubscriptionStatus.PENDING,
            ChangeKind.REPROVISIONED,
            "subscription.reprovisioned",
            actor=actor,
            effective_at=effective_at,
            source=source,
            provisioning_status=ProvisioningStatus.PENDING,
            provisioning_error="",
        )
    provisioning.queue_provisioning(subscription.pk, change.pk)
    return change


def lifecycle_failed(subscription: Subscription) -> bool:
    """The vendor refused (or never got) a suspension, resumption, quantity change,
    cancellation or expiry: the latest attempt is such an action and it failed."""
    if subscription.provisioning_status != ProvisioningStatus.FAILED:
        return False
    attempt = provisioning.current_attempt(subscription)
    return attempt is not None and not provisioning.is_setup(attempt)


def _retry_lifecycle(
    subscription: Subscription, *, actor: Any, effective_at: datetime | None, source: str
) -> SubscriptionChange:
    """Send the failed action again as a new attempt; the status stays as it is."""
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if not lifecycle_failed(subscription):
            raise ValidationError({"status": _("Only a failed subscription can be reprovisioned.")})
        attempt = provisioning.current_attempt(subscription)
        assert attempt is not None  # lifecycle_failed checked it
        action = provisioning.action_of(attempt)
        subscription.provisioning_status = ProvisioningStatus.PENDING
        subscription.provisioning_error = ""
        subscription.save(update_fields=["provisioning_status", "provisioning_error", "updated_at"])
        change = record_change(
            subscription,
            ChangeKind.REPROVISIONED,
            actor=actor,
            source=source,
            at=at,
            old_quantity=subscription.quantity,
            new_quantity=subscription.quantity,
            details={provisioning.RETRIED_ACTION: action},
        )
        emit_event(
            "subscription.reprovisioned",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription, action=action),
        )
        provisioning.queue_provisioning(subscription.pk, change.pk)
    return change


def failed_components(bundle: Subscription) -> list[Subscription]:
    """The components whose setup or latest lifecycle action failed at the vendor."""
    return [
        component
        for component in bundle.components.filter(
            provisioning_status=ProvisioningStatus.FAILED
        ).order_by("pk")
        if component.status in (SubscriptionStatus.FAILED, SubscriptionStatus.TRIAL)
        or lifecycle_failed(component)
    ]


def _reprovision_components(
    bundle: Subscription, *, actor: Any, effective_at: datetime | None, source: str
) -> SubscriptionChange:
    """Reprovision each failed component; the last component's change is returned."""
    with transaction.atomic():
        components = failed_components(bundle)
        if not components:
            raise ValidationError(
                {
                    "status": _("No component of the bundle %(number)s failed provisioning.")
                    % {"number": bundle.number}
                }
            )
        changes = [
            subscription_reprovision(
                actor=actor, subscription=component, effective_at=effective_at, source=source
            )
            for component in components
        ]
    return changes[-1]


def _reprovision_trial(
    subscription: Subscription, *, actor: Any, effective_at: datetime | None, source: str
) -> SubscriptionChange:
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if subscription.provisioning_status != ProvisioningStatus.FAILED:
            raise ValidationError({"status": _("Only a failed subscription can be reprovisioned.")})
        subscription.provisioning_status = ProvisioningStatus.PENDING
        subscription.provisioning_error = ""
        subscription.save(update_fields=["provisioning_status", "provisioning_error", "updated_at"])
        change = record_change(
            subscription, ChangeKind.REPROVISIONED, actor=actor, source=source, at=at
        )
        emit_event(
            "subscription.reprovisioned",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription),
        )
    return change


def subscription_record_provisioning(
    *, actor: Any, subscription: Subscription, error: str = "", action: str = ""
) -> None:
    """The vendor answered for a trial or a lifecycle ``action``: the subscription keeps its
    status and its provisioning is synced, or failed with ``error``."""
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        subscription.provisioning_status = (
            ProvisioningStatus.FAILED if error else ProvisioningStatus.SYNCED
        )
        subscription.provisioning_error = error[:300]
        subscription.save(update_fields=["provisioning_status", "provisioning_error", "updated_at"])
        emit_event(
            "subscription.provisioning_failed" if error else "subscription.provisioned",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription, **({"action": action} if action else {})),
        )


def subscription_set_price_protection(
    *,
    actor: Any,
    subscription: Subscription,
    until: date | None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> list[SubscriptionChange]:
    """Protect the price (no unit or billing changes) up to ``until``; None lifts it.

    Applies to the subscription and its active add-ons.
    """
    at = _now(effective_at)
    if until is not None and until <= _local_date(at):
        raise ValidationError({"until": _("Price protection must last beyond today.")})
    changes = []
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if not subscription.is_live:
            raise ValidationError({"status": _("The subscription is not live.")})
        targets = [subscription, *subscription.addons.filter(status=SubscriptionStatus.ACTIVE)]
        for target in targets:
            old = target.price_protected_until
            target.price_protected_until = until
            target.save(update_fields=["price_protected_until", "updated_at"])
            changes.append(
                record_change(
                    target,
                    ChangeKind.PRICE_PROTECTION,
                    actor=actor,
                    source=source,
                    at=at,
                    details={
                        "from": old.isoformat() if old else None,
                        "until": until.isoformat() if until else None,
                    },
                )
            )
        changes_done(changes)
    return changes


# ------------------------------------------------------------------------ edit pricing


def subscription_edit_pricing(
    *,
    actor: Any,
    subscription: Subscription,
    cycle: str,
    user_unit_price: Decimal | None = None,
    clear_user_price: bool = False,
    discount_percent: Decimal | None = None,
    price_list: Any = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange | FutureRequest:
    """Change the price for the current cycle (prorated difference) or the next one.

    Defining a user price removes the external pricing status.
    """
    at = _now(effective_at)
    if cycle not in ("current", "next"):
        raise ValidationError({"cycle": _("Choose the current or the next billing cycle.")})
    if user_unit_price is not None and user_unit_price < 0:
        raise ValidationError({"user_unit_price": _("The unit price cannot be negative.")})
    if discount_percent is not None:
        _check_discount(Decimal(discount_percent))
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if cycle == "current":
            _require_billable_change(subscription, what=_("pricing change"))
        elif not subscription.is_live:
            raise ValidationError({"status": _("The subscription is not live.")})
        old_price = subscription.effective_unit_price
        old_discount = subscription.discount_percent
        new_user_price = (
            None
            if clear_user_price
            else (
                quantize_unit_price(user_unit_price)
                if user_unit_price is not None
                else subscription.user_unit_price
            )
        )
        new_discount = Decimal(discount_percent) if discount_percent is not None else old_discount
        if cycle == "next":
            details = {
                "user_unit_price": str(new_user_price) if new_user_price is not None else None,
                "discount_percent": str(new_discount),
                "price_list_id": getattr(price_list, "pk", None),
            }
            return future_request_create(
                actor=actor,
                subscription=subscription,
                request_type=FutureRequestType.BILLING_PLAN,
                renewal_value=_("price %(price)s, discount %(discount)s %%")
                % {
                    "price": new_user_price
                    if new_user_price is not None
                    else subscription.unit_price,
                    "discount": new_discount,
                },
                details={"pricing": details},
            )
        subscription.user_unit_price = new_user_price
        subscription.discount_percent = new_discount
        if price_list is not None:
            subscription.price_list = price_list
        if user_unit_price is not None:
            subscription.external_pricing_status = ""
            subscription.external_pricing_failure_reason = ""
            subscription.external_pricing_first_failure = None
        subscription.final_unit_price = net_unit_price(
            subscription.effective_unit_price, new_discount
        )
        subscription.save()
        day = _local_date(at)
        _in_current_period(subscription, day)
        change = record_change(
            subscription,
            ChangeKind.PRICE,
            actor=actor,
            source=source,
            at=at,
            old_quantity=subscription.quantity,
            new_quantity=subscription.quantity,
            old_unit_price=old_price,
            new_unit_price=subscription.effective_unit_price,
            period_start=day,
            period_end=subscription.current_period_end,
            details={
                "old_discount_percent": str(old_discount),
                "new_discount_percent": str(new_discount),
            },
        )
        changes_done([change])
        emit_event(
            "subscription.pricing_changed",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription),
        )
    return change


def subscription_record_external_pricing(
    *,
    actor: Any,
    subscription: Subscription,
    succeeded: bool,
    reason: str = "",
    unit_price: Decimal | None = None,
) -> Subscription:
    """The answer of an external price sync; the first failure date survives retries."""
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if succeeded:
            subscription.external_pricing_status = "successful"
            subscription.external_pricing_failure_reason = ""
            subscription.external_pricing_first_failure = None
            if unit_price is not None:
                subscription.unit_price = quantize_unit_price(unit_price)
                subscription.final_unit_price = net_unit_price(
                    subscription.effective_unit_price, subscription.discount_percent
                )
        else:
            was_failing = subscription.external_pricing_status == "failed"
            subscription.external_pricing_status = "failed"
            subscription.external_pricing_failure_reason = (reason or _("No Pricing Data"))[:300]
            if not was_failing or subscription.external_pricing_first_failure is None:
                subscription.external_pricing_first_failure = timezone.now()
            emit_event(
                "subscription.external_pricing_failed",
                actor=actor,
                aggregate=subscription,
                payload=event_payload(
                    subscription, reason=subscription.external_pricing_failure_reason
                ),
            )
        subscription.save()
    return subscription


# ------------------------------------------------------------------------------ renewal


def subscription_renew(
    *,
    actor: Any,
    subscription: Subscription,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> SubscriptionChange:
    """Renew now for a new term (manual renewal of an expiring or non-auto-renewing term).

    The new term starts where the current one ends; billing charges its first period on
    its billing day.
    """
    at = _now(effective_at)
    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
            raise ValidationError(
                {"status": _("Only an active or suspended subscription can be renewed.")}
            )
        if subscription.current_period_end < subscription.term_end:
            raise ValidationError(
                {
                    "status": _("The term runs until %(end)s; renew in its last billing period.")
                    % {"end": subscription.term_end - timedelta(days=1)}
                }
            )
        subscription.auto_renew = True
        subscription.save(update_fields=["auto_renew", "updated_at"])
        change = record_change(
            subscription,
            ChangeKind.RENEWED,
            actor=actor,
            source=source,
            at=at,
            effective_date=subscription.term_end,
            note=_("Renewal confirmed"),
            details={"manual": True},
        )
        changes_done([change])
    return change


# ---------------------------------------------------------------- billing-run lifecycle


def advance_one(
    subscription: Subscription, *, actor: Any = None, source: str = ChangeSource.BILLING_RUN
) -> list[SubscriptionChange]:
    """Roll the subscription past the end of its current period (called by the billing run).

    The period end either starts the next period, renews the term (new price, scheduled
    requests applied), expires it (auto-renew off, or a trial) or completes a scheduled
    cancellation. The caller saves the subscription; the change rows are written here.
    """
    if subscription.bundle_id is not None:
        from subscriptions.bundles import follow_bundle

        return follow_bundle(subscription, actor=actor, source=source)
    end = subscription.current_period_end
    at = timezone.make_aware(datetime.combine(end, datetime.min.time()))
    status = subscription.status
    if status == SubscriptionStatus.TRIAL or (
        end >= subscription.term_end and not subscription.auto_renew
    ):
        subscription.status = SubscriptionStatus.EXPIRED
        subscription.ended_on = end
        change = record_change(
            subscription,
            ChangeKind.EXPIRED,
            actor=actor,
            source=source,
            at=at,
            effective_date=end,
            old_status=status,
            new_status=subscription.status,
            note=_("Trial ended") if status == SubscriptionStatus.TRIAL else "",
        )
        emit_event(
            "subscription.expired",
            aggregate=subscription,
            payload=event_payload(subscription, trial=status == SubscriptionStatus.TRIAL),
        )
        return [change]
    if (
        status == SubscriptionStatus.PENDING_CANCEL
        and subscription.cancel_on
        and subscription.cancel_on <= end
    ):
        subscription.status = SubscriptionStatus.CANCELED
        subscription.ended_on = end
        subscription.cancel_on = None
        change = record_change(
            subscription,
            ChangeKind.CANCEL,
            actor=actor,
            source=source,
            at=at,
            effective_date=end,
            old_status=status,
            new_status=subscription.status,
            old_quantity=subscription.quantity,
            new_quantity=0,
            refund_amount=Decimal(0),
            details={"timing": CancelTiming.END_OF_PERIOD},
        )
        changes = [
            change,
            *_cancel_addons(subscription, actor=actor, at=at, source=source, day=end),
        ]
        emit_event(
            "subscription.canceled",
            aggregate=subscription,
            payload=event_payload(subscription, effective_date=end.isoformat(), refund="0"),
        )
        return changes
    if end >= subscription.term_end:
        return [_renew_term(subscription, at=at, actor=actor, source=source)]
    subscription.current_period_start = end
    subscription.current_period_end = add_months(
        end, subscription.cycle_months, subscription.anchor_day
    )
    subscription.cycle_number += 1
    return []


def _list_price(subscription: Subscription, on_date: date) -> Decimal:
    return quote_for_account(
        subscription.account,
        product=subscription.product,
        plan=subscription.plan,
        quantity=subscription.quantity,
        on_date=on_date,
    ).unit_price


def start_next_term(
    subscription: Subscription,
    *,
    at: datetime,
    list_price: Callable[[Subscription, date], Decimal],
) -> None:
    """Move ``subscription`` into the term that starts where its current period ends.

    The unit price is read again (``list_price``) unless a user price is set or the
    price is protected beyond the renewal day; a protection ending by then is dropped.
    Renewal here and the billing run's bulk path both call this: one rule, no copies.
    """
    end = subscription.current_period_end
    protected = (
        subscription.price_protected_until is not None and subscription.price_protected_until > end
    )
    if not protected and subscription.user_unit_price is None:
        subscription.unit_price = quantize_unit_price(list_price(subscription, end))
    if subscription.price_protected_until is not None and subscription.price_protected_until <= end:
        subscription.price_protected_until = None
    subscription.final_unit_price = net_unit_price(
        subscription.effective_unit_price, subscription.discount_percent
    )
    subscription.current_period_start = end
    subscription.current_period_end = add_months(
        end, subscription.cycle_months, subscription.anchor_day
    )
    subscription.term_start = end
    subscription.term_started_at = at
    subscription.term_end = add_months(end, subscription.term_months, subscription.anchor_day)
    subscription.cycle_number += 1


def _renew_term(
    subscription: Subscription, *, at: datetime, actor: Any, source: str
) -> SubscriptionChange:
    end = subscription.current_period_end
    old_quantity = subscription.quantity
    old_price = subscription.effective_unit_price
    applied = []
    for request in FutureRequest.objects.filter(
        subscription=subscription, status=FutureRequestStatus.PENDING
    ):
        if request.request_type == FutureRequestType.QUANTITY:
            subscription.quantity = int(request.renewal_value)
        elif (
            request.request_type == FutureRequestType.BILLING_PLAN and "pricing" in request.details
        ):
            pricing = request.details["pricing"]
            subscription.user_unit_price = (
                Decimal(pricing["user_unit_price"]) if pricing.get("user_unit_price") else None
            )
            subscription.discount_percent = Decimal(pricing["discount_percent"])
        elif request.request_type == FutureRequestType.DOWNGRADE:
            product = Product.objects.filter(pk=request.details.get("product_id")).first()
            plan = ProductPlan.objects.filter(pk=request.details.get("plan_id")).first()
            if product is not None and plan is not None:
                subscription.product = product
                subscription.plan = plan
                subscription.billing_cycle = plan.billing_cycle
                subscription.cycle_months = CYCLE_MONTHS[plan.billing_cycle]
                subscription.term_months = max(
                    plan.commitment_months or 0, subscription.cycle_months
                )
        request.status = FutureRequestStatus.COMPLETED
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "completed_at", "updated_at"])
        applied.append(request.pk)
    start_next_term(subscription, at=at, list_price=_list_price)
    change = record_change(
        subscription,
        ChangeKind.RENEWED,
        actor=actor,
        source=source,
        at=at,
        effective_date=end,
        old_quantity=old_quantity,
        new_quantity=subscription.quantity,
        old_unit_price=old_price,
        new_unit_price=subscription.effective_unit_price,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        details={"future_requests": applied},
    )
    emit_event("subscription.renewed", aggregate=subscription, payload=event_payload(subscription))
    return change


def record_charged_through(subscription: Subscription, through: date) -> None:
    """Billing tells the subscription how far it has been charged (never backwards)."""
    if subscription.billed_through is None or subscription.billed_through < through:
        subscription.billed_through = through
        Subscription.objects.filter(pk=subscription.pk).update(billed_through=through)


def subscription_edit(
    *,
    actor: Any,
    subscription: Subscription,
    friendly_name: str,
    auto_renew: bool,
    custom_data: dict[str, Any] | None = None,
) -> Subscription:
    from bss.setup.fields.values import validate_custom_data

    with transaction.atomic(), acting_as(actor):
        subscription = lock_subscription(subscription)
        subscription.friendly_name = friendly_name.strip()[:200]
        subscription.auto_renew = auto_renew
        if custom_data is not None:
            subscription.custom_data = validate_custom_data(
                "subscription", custom_data, existing=subscription.custom_data
            )
        subscription.save()
        emit_event(
            "subscription.updated",
            actor=actor,
            aggregate=subscription,
            payload=event_payload(subscription),
        )
    return subscription
