"""Charges of subscriptions: each period and each change, recorded exactly once.

The money comes from ``subscriptions.amounts`` (periods, prorations, refunds) and the
period arithmetic from ``subscriptions.periods``; this module decides the charge kind,
its natural key and the day it is invoiced on:

* Prepaid periods are charged in advance, on the period start. A partial first period
  is invoiced on the order day, or with the next full period on the billing day when the
  account's partial charges wait for it (decision 20.2).
* Postpaid and pay-per-use periods are charged in arrears, on the period end.
* A mid-period change (quantity, upgrade, price, cancellation refund) is keyed by its
  change row and invoiced on its effective day or on the next billing day, by the same
  account option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import BillingProfile, billing_profile, quote_for_account
from billing.models import Charge, ChargeKind
from billing.services import ChargeInput, charge_record
from bss.core.money import quantize
from subscriptions import services as subscription_services
from subscriptions.amounts import change_price, period_price
from subscriptions.models import (
    BILLED_STATUSES,
    BillingMethod,
    ChangeKind,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
    UsageRecord,
)
from subscriptions.periods import Period, full_cycle_start


def _last_day(end: date) -> date:
    return date.fromordinal(end.toordinal() - 1)


def describe(subscription: Subscription, start: date, end: date, label: str = "") -> str:
    name = subscription.friendly_name or subscription.product.name
    text = f"{name} ({start:%Y-%m-%d} to {_last_day(end):%Y-%m-%d})"
    return f"{label}: {text}" if label else text


def _is_billed(subscription: Subscription, *, suspension_stops_billing: bool | None = None) -> bool:
    if subscription.status not in BILLED_STATUSES or subscription.bundle_id is not None:
        return False
    if subscription.status == SubscriptionStatus.SUSPENDED:
        if suspension_stops_billing is None:
            settings = subscription_services.subscription_settings()
            suspension_stops_billing = settings.suspension_stops_billing
        return not suspension_stops_billing
    return True


def period_charge(
    subscription: Subscription,
    period: Period,
    profile: BillingProfile,
    *,
    first: bool = False,
    method: str | None = None,
) -> ChargeInput:
    """The charge of one period; ``method`` (the proration method) is looked up if not given."""
    method = method or subscription_services.proration_method_for(subscription)
    price = period_price(
        subscription, period, method=method, cycle_number=subscription.cycle_number
    )
    in_advance = subscription.billing_method == BillingMethod.PREPAID
    if in_advance:
        kind = ChargeKind.PRORATED_CHARGE if period.is_partial else ChargeKind.RECURRING_ADVANCE
        bill_on = period.start
        if first and period.is_partial and not profile.invoices_on_order_day:
            bill_on = period.end
    else:
        kind = ChargeKind.RECURRING_ARREARS
        bill_on = period.end
    return ChargeInput(
        account=subscription.account,
        kind=kind,
        description=describe(subscription, period.start, period.end),
        period_start=period.start,
        period_end=period.end,
        amount=price.amount,
        discount=price.discount,
        quantity=Decimal(subscription.quantity),
        unit_price=subscription.effective_unit_price,
        product=subscription.product,
        subscription_id=subscription.pk,
        bill_on=bill_on,
        currency=subscription.currency,
    )


def usage_charges(subscription: Subscription, period: Period) -> list[ChargeInput]:
    """Rate the usage of ``period`` with the plan's price (tiers apply to the period total)."""
    total = UsageRecord.objects.filter(
        subscription=subscription, occurred_on__gte=period.start, occurred_on__lt=period.end
    ).aggregate(total=Sum("quantity"))["total"] or Decimal(0)
    if total <= 0:
        return []
    quote = quote_for_account(
        subscription.account,
        product=subscription.product,
        plan=subscription.plan,
        quantity=total,
        on_date=period.start,
    )
    unit_price = (
        subscription.user_unit_price
        if subscription.user_unit_price is not None
        else quote.unit_price
    )
    amount = (
        quote.subtotal
        if subscription.user_unit_price is None
        else quantize(total * unit_price, subscription.currency)
    )
    discount = quantize(amount * subscription.discount_percent / 100, subscription.currency)
    return [
        ChargeInput(
            account=subscription.account,
            kind=ChargeKind.USAGE,
            description=describe(subscription, period.start, period.end, _("Usage")),
            period_start=period.start,
            period_end=period.end,
            amount=amount,
            discount=discount,
            quantity=total,
            unit_price=unit_price,
            product=subscription.product,
            subscription_id=subscription.pk,
            bill_on=period.end,
            currency=subscription.currency,
        )
    ]


def _change_bill_on(profile: BillingProfile, change: SubscriptionChange, period_end: date) -> date:
    return change.effective_date if profile.invoices_on_order_day else period_end


def _current_period(subscription: Subscription) -> Period:
    end = subscription.current_period_end
    return Period(
        start=subscription.current_period_start,
        end=end,
        full_start=full_cycle_start(end, subscription.cycle_months, subscription.anchor_day),
    )


def charges_for_change(change: SubscriptionChange, profile: BillingProfile) -> list[ChargeInput]:
    """The charges one change row decides (empty for changes without money)."""
    subscription = change.subscription
    prepaid = subscription.billing_method == BillingMethod.PREPAID
    kind = change.kind
    if kind in (ChangeKind.CREATED, ChangeKind.TRIAL_CONVERTED):
        inputs = []
        if prepaid and subscription.status in BILLED_STATUSES and subscription.bundle_id is None:
            inputs.append(
                period_charge(subscription, _current_period(subscription), profile, first=True)
            )
        if subscription.setup_fee and subscription.bundle_id is None:
            # Once per subscription: on creation, or when a trial (free, no fee) becomes paid.
            fee = quantize(subscription.setup_fee * subscription.quantity, subscription.currency)
            start = change.effective_date
            inputs.append(
                ChargeInput(
                    account=subscription.account,
                    kind=ChargeKind.SETUP_FEE,
                    description=_("Setup fee: %(name)s") % {"name": subscription.product.name},
                    period_start=start,
                    period_end=date.fromordinal(start.toordinal() + 1),
                    amount=fee,
                    quantity=Decimal(subscription.quantity),
                    unit_price=subscription.setup_fee,
                    product=subscription.product,
                    subscription_id=subscription.pk,
                    source_change_id=change.pk,
                    bill_on=start,
                    currency=subscription.currency,
                )
            )
        return inputs
    if not prepaid or change.period_start is None or change.period_end is None:
        return []
    if change.period_end <= change.period_start:
        return []
    method = subscription_services.proration_method_for(subscription)
    bill_on = _change_bill_on(profile, change, change.period_end)

    def make(
        kind: str,
        amount: Decimal,
        discount: Decimal,
        quantity: int,
        label: str,
        unit_price: Decimal,
    ) -> ChargeInput:
        return ChargeInput(
            account=subscription.account,
            kind=kind,
            description=describe(subscription, change.period_start, change.period_end, label),
            period_start=change.period_start,
            period_end=change.period_end,
            amount=amount,
            discount=discount,
            quantity=Decimal(quantity),
            unit_price=unit_price,
            product=subscription.product,
            subscription_id=subscription.pk,
            source_change_id=change.pk,
            bill_on=bill_on,
            currency=subscription.currency,
        )

    if kind in (ChangeKind.QUANTITY, ChangeKind.UPGRADE_IN):
        delta = (change.new_quantity or 0) - (change.old_quantity or 0)
        if not delta:
            return []
        price = change_price(
            subscription, quantity_delta=delta, effective_date=change.effective_date, method=method
        )
        if delta > 0:
            label = _("Quantity increase") if kind == ChangeKind.QUANTITY else _("Upgrade")
            return [
                make(
                    ChargeKind.PRORATED_CHARGE,
                    price.amount,
                    price.discount,
                    delta,
                    label,
                    price.unit_price,
                )
            ]
        return [
            make(
                ChargeKind.PRORATED_CREDIT,
                price.amount,
                price.discount,
                delta,
                _("Quantity decrease"),
                price.unit_price,
            )
        ]
    if kind in (ChangeKind.UPGRADE_OUT, ChangeKind.CANCEL):
        refund = change.refund_amount or Decimal(0)
        if refund <= 0:
            return []
        moved = change.details.get("moved_quantity") or change.old_quantity or 1
        label = _("Upgraded away") if kind == ChangeKind.UPGRADE_OUT else _("Cancellation refund")
        charge_kind = (
            ChargeKind.PRORATED_CREDIT
            if kind == ChangeKind.UPGRADE_OUT
            else ChargeKind.REFUND_CREDIT
        )
        amount = -quantize(refund, subscription.currency)
        return [
            make(
                charge_kind,
                amount,
                Decimal(0),
                -int(moved),
                label,
                subscription.effective_unit_price,
            )
        ]
    if kind == ChangeKind.PRICE:
        old_price = change.old_unit_price or Decimal(0)
        new_price = change.new_unit_price or Decimal(0)
        quantity = change.new_quantity or subscription.quantity
        old_discount = Decimal(change.details.get("old_discount_percent", "0"))
        credit = change_price(
            subscription,
            quantity_delta=-quantity,
            effective_date=change.effective_date,
            method=method,
            unit_price=old_price,
        )
        credit_discount = quantize(credit.amount * old_discount / 100, subscription.currency)
        charge = change_price(
            subscription,
            quantity_delta=quantity,
            effective_date=change.effective_date,
            method=method,
            unit_price=new_price,
        )
        return [
            make(
                ChargeKind.PRORATED_CREDIT,
                credit.amount,
                credit_discount,
                -quantity,
                _("Previous price"),
                old_price,
            ),
            make(
                ChargeKind.PRORATED_CHARGE,
                charge.amount,
                charge.discount,
                quantity,
                _("New price"),
                new_price,
            ),
        ]
    return []


def record_change_charges(changes: Sequence[SubscriptionChange]) -> list[Charge]:
    """The hook subscriptions call inside their transaction."""
    inputs: list[ChargeInput] = []
    charged_through: dict[int, tuple[Subscription, date]] = {}
    for change in changes:
        subscription = change.subscription
        profile = billing_profile(subscription.account)
        found = charges_for_change(change, profile)
        inputs += found
        if change.kind in (ChangeKind.CREATED, ChangeKind.TRIAL_CONVERTED) and any(
            charge.kind in (ChargeKind.PRORATED_CHARGE, ChargeKind.RECURRING_ADVANCE)
            for charge in found
        ):
            charged_through[subscription.pk] = (subscription, subscription.current_period_end)
    if not inputs:
        return []
    stored = charge_record(actor=None, charges=inputs)
    for subscription, through in charged_through.values():
        subscription_services.record_charged_through(subscription, through)
    invoice_after_commit({charge.billing_account_id for charge in stored})
    return stored


def invoice_after_commit(billing_account_ids: set[int]) -> None:
    """Accounts invoiced on the order day get their invoice once this transaction commits.

    The first callback of a transaction invoices every due charge of the account, so an
    order with three items is one invoice; later callbacks find nothing left.
    """
    ids = sorted(billing_account_ids)
    transaction.on_commit(lambda: invoice_order_day_accounts(ids))


def invoice_order_day_accounts(billing_account_ids: Sequence[int]) -> None:
    from accounts.models import Account
    from billing.engine import invoice_due_charges

    today = timezone.localdate()
    for account in Account.objects.filter(pk__in=billing_account_ids):
        if billing_profile(account).invoices_on_order_day:
            invoice_due_charges(actor=None, billing_account=account, up_to=today)


@dataclass(frozen=True)
class RollContext:
    """What the bulk billing path already knows, so rolling a subscription asks no queries.

    ``advance`` replaces ``advance_one`` (same rules, writes collected by the caller).
    """

    profile: BillingProfile
    method: str
    suspension_stops_billing: bool
    advance: Callable[[Subscription], object]


def charge_due_periods(
    subscription: Subscription,
    run_date: date,
    *,
    actor: Any = None,
    context: RollContext | None = None,
) -> list[ChargeInput]:
    """Roll the subscription to ``run_date`` and return the period charges that fell due.

    Prepaid periods are due once they start, postpaid ones once they end. The caller
    records the charges and saves the subscription.
    """
    profile = context.profile if context else billing_profile(subscription.account)
    method = context.method if context else None
    stops = context.suspension_stops_billing if context else None
    inputs: list[ChargeInput] = []
    while True:
        charged = subscription.billed_through
        period = _current_period(subscription)
        billed = _is_billed(subscription, suspension_stops_billing=stops)
        if billed and (charged is None or charged < period.end):
            if subscription.billing_method == BillingMethod.PREPAID:
                if period.start <= run_date:
                    inputs.append(
                        period_charge(
                            subscription,
                            period,
                            profile,
                            first=subscription.cycle_number == 1,
                            method=method,
                        )
                    )
                    subscription.billed_through = period.end
            elif period.end <= run_date:
                if subscription.billing_method == BillingMethod.PAY_PER_USE:
                    inputs += usage_charges(subscription, period)
                else:
                    inputs.append(period_charge(subscription, period, profile, method=method))
                subscription.billed_through = period.end
        if subscription.current_period_end <= run_date and subscription.is_live:
            before = (subscription.status, subscription.current_period_end)
            if context is not None:
                context.advance(subscription)
            else:
                subscription_services.advance_one(subscription, actor=actor)
            if (subscription.status, subscription.current_period_end) == before:
                break
            continue
        break
    return inputs
