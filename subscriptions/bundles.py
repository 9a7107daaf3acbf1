"""Bundles (spec 5.14): one billable subscription, one component subscription per sub-product.

The bundle subscription carries the bundle's price and is the only one billed; each
catalogue ``BundleComponent`` becomes a component subscription (``bundle`` set) that
exists for provisioning and shows its sync status. Components never act on their own:

* quantity changes of the bundle set each component to bundle quantity x units per
  bundle (``services._sync_components``); a component's own change is refused;
* cancelling the bundle cancels its components (``services._cancel_addons``); a
  component's own cancellation is refused;
* periods, renewal and expiry follow the bundle: when the billing run rolls a component
  (``services.advance_one``), ``follow_bundle`` copies the bundle's period, term and
  status instead of renewing it by itself. The billing run handles subscriptions in
  ``pk`` order and the bundle is created before its components, so the bundle has
  already moved when its components follow.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from bss.core.audit import acting_as
from catalogue.models import BundleComponent, Product, ProductPlan
from subscriptions import services
from subscriptions.models import (
    LIVE_STATUSES,
    ChangeKind,
    ChangeSource,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)

# What a component copies from its bundle, so its periods are the bundle's periods.
MIRRORED_FIELDS = (
    "anchor_day",
    "is_aligned",
    "cycle_number",
    "current_period_start",
    "current_period_end",
    "term_start",
    "term_started_at",
    "term_end",
    "auto_renew",
)


def component_plan(component: Product, bundle_plan: ProductPlan) -> ProductPlan:
    """The component's recurring plan with the bundle's billing cycle."""
    plans = [
        plan
        for plan in component.plans.all()
        if plan.is_recurring and plan.billing_cycle == bundle_plan.billing_cycle
    ]
    if not plans:
        raise ValidationError(
            {
                "product": _("The bundle component %(component)s has no %(cycle)s plan.")
                % {"component": component.name, "cycle": bundle_plan.get_billing_cycle_display()}
            }
        )
    return plans[0]


def bundle_subscribe(
    *,
    actor: Any,
    account: Account,
    product: Product,
    plan: ProductPlan,
    quantity: int,
    start_date: date,
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    friendly_name: str = "",
    origin_order_item_id: int | None = None,
    provisioning_attributes: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
) -> Subscription:
    """Subscribe to a bundle: the billable subscription and its component subscriptions.

    A second call for the same order item returns the first bundle subscription.
    """
    if product.kind != Product.Kind.BUNDLE:
        raise ValidationError({"product": _("%(product)s is not a bundle.") % {"product": product}})
    if origin_order_item_id is not None:
        existing = Subscription.objects.filter(origin_order_item_id=origin_order_item_id).first()
        if existing is not None:
            return existing
    components = list(
        BundleComponent.objects.filter(bundle=product)
        .select_related("component__product_type")
        .prefetch_related("component__plans")
    )
    if not components:
        raise ValidationError(
            {"product": _("The bundle %(product)s has no components.") % {"product": product.name}}
        )
    plans = {item.pk: component_plan(item.component, plan) for item in components}
    with transaction.atomic(), acting_as(actor):
        bundle = services.subscription_create(
            actor=actor,
            account=account,
            product=product,
            plan=plan,
            quantity=quantity,
            start_date=start_date,
            unit_price=unit_price,
            discount_percent=discount_percent,
            friendly_name=friendly_name,
            origin_order_item_id=origin_order_item_id,
            provisioning_attributes=provisioning_attributes,
            effective_at=effective_at,
            source=source,
        )
        for item in components:
            try:
                component = services.subscription_create(
                    actor=actor,
                    account=account,
                    product=item.component,
                    plan=plans[item.pk],
                    quantity=quantity * item.quantity,
                    start_date=start_date,
                    unit_price=Decimal(0),
                    bundle=bundle,
                    auto_renew=bundle.auto_renew,
                    provisioning_attributes=provisioning_attributes,
                    effective_at=effective_at,
                    source=source,
                )
            except ValidationError as error:
                raise ValidationError(
                    {
                        "product": _("Component %(component)s: %(problem)s")
                        % {"component": item.component.name, "problem": " ".join(error.messages)}
                    }
                ) from error
            _mirror(component, bundle)
            component.save(update_fields=[*MIRRORED_FIELDS, "updated_at"])
    return bundle


def _mirror(component: Subscription, bundle: Subscription) -> None:
    for name in MIRRORED_FIELDS:
        setattr(component, name, getattr(bundle, name))


def follow_bundle(
    component: Subscription, *, actor: Any = None, source: str = ChangeSource.BILLING_RUN
) -> list[SubscriptionChange]:
    """Bring a component to its bundle's period, term and end (the billing run's roll).

    The caller saves the component, as with ``advance_one``. A renewal or an end of the
    bundle is written in the component's history too.
    """
    bundle = Subscription.objects.get(pk=component.bundle_id)
    # The bundle's own roll may have ended this component already (in the database,
    # not in the caller's copy): read the status fields again before deciding.
    component.refresh_from_db(fields=["status", "ended_on", "cancel_on", "end_reason"])
    old_status = component.status
    per_bundle = (
        BundleComponent.objects.filter(
            bundle_id=bundle.product_id, component_id=component.product_id
        )
        .values_list("quantity", flat=True)
        .first()
    )
    component.quantity = bundle.quantity * (per_bundle or 1)
    old_term_start = component.term_start
    _mirror(component, bundle)
    changes = []
    at = timezone.make_aware(datetime.combine(bundle.current_period_start, datetime.min.time()))
    if bundle.status in LIVE_STATUSES:
        if component.term_start != old_term_start:
            changes.append(
                services.record_change(
                    component,
                    ChangeKind.RENEWED,
                    actor=actor,
                    source=source,
                    at=at,
                    effective_date=bundle.term_start,
                    old_quantity=component.quantity,
                    new_quantity=component.quantity,
                    period_start=component.current_period_start,
                    period_end=component.current_period_end,
                    related_subscription=bundle,
                    note=_("Renewed with bundle %(number)s") % {"number": bundle.number},
                )
            )
        return changes
    if old_status == bundle.status or old_status not in LIVE_STATUSES:
        return changes
    component.status = bundle.status
    component.ended_on = bundle.ended_on
    component.cancel_on = None
    component.end_reason = _("Ended with bundle %(number)s") % {"number": bundle.number}
    kind = ChangeKind.EXPIRED if bundle.status == SubscriptionStatus.EXPIRED else ChangeKind.CANCEL
    changes.append(
        services.record_change(
            component,
            kind,
            actor=actor,
            source=source,
            at=at,
            effective_date=bundle.ended_on or bundle.current_period_end,
            old_status=old_status,
            new_status=component.status,
            old_quantity=component.quantity,
            new_quantity=0,
            refund_amount=Decimal(0),
            related_subscription=bundle,
        )
    )
    return changes
