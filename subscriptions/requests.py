"""Customer requests (spec 4.3, 4.5): cancellations, add-on cancellations and downgrades.

A customer (Storefront or API on their behalf) asks; the product type decides whether
the request runs at once ("automatic execution of ... requests", with an amount
threshold for cancellations) or waits in the "pending cancellation requests" queue for
a person to approve or reject it. The customer may revoke a waiting request.

Executed requests keep their row with status *executed* so the history says who asked
for what; only *pending* rows appear in the queue. Approving takes the request row
``FOR UPDATE`` and refuses anything no longer pending, so a retried job or a double
click executes (and refunds) once.

Events, each with the request's id, kind and the account manager for notifications:
``subscription.cancel_requested`` / ``addon_cancel_requested`` / ``downgrade_requested``
(to the account manager), ``*_request_completed`` (with the effective date, to the
customer), ``*_request_cancelled`` (revoked by the customer, internal) and
``*_request_rejected``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from catalogue.models import Product, ProductPlan
from subscriptions import services
from subscriptions.models import (
    ChangeSource,
    CustomerRequest,
    CustomerRequestKind,
    CustomerRequestStatus,
    FutureRequestType,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.services import CancelTiming, RefundChoice

EVENT_PREFIX = {
    CustomerRequestKind.CANCEL: "subscription.cancel",
    CustomerRequestKind.ADDON_CANCEL: "subscription.addon_cancel",
    CustomerRequestKind.DOWNGRADE: "subscription.downgrade",
}

CANCEL_KINDS = (CustomerRequestKind.CANCEL, CustomerRequestKind.ADDON_CANCEL)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _payload(request: CustomerRequest, **extra: Any) -> dict[str, Any]:
    subscription = request.subscription
    account = subscription.account
    return {
        "request_id": request.pk,
        "kind": request.kind,
        "status": request.status,
        "subscription_id": subscription.pk,
        "number": subscription.number,
        "account_id": subscription.account_id,
        "account_manager_id": account.account_manager_id,
        "product": subscription.product.name,
        "timing": request.timing,
        "amount": str(request.amount),
        "effective_date": request.effective_date.isoformat() if request.effective_date else None,
        **extra,
    }


def _emit(request: CustomerRequest, suffix: str, actor: Any, **extra: Any) -> None:
    emit_event(
        f"{EVENT_PREFIX[request.kind]}_{suffix}",
        actor=actor,
        aggregate=request,
        payload=_payload(request, **extra),
    )


def _auto_executes(kind: str, subscription: Subscription, amount: Decimal) -> bool:
    """The product type's "Customer Request" options (spec 5.1); no type = a person decides."""
    product_type = subscription.product.product_type
    if product_type is None:
        return False
    if kind == CustomerRequestKind.DOWNGRADE:
        return product_type.auto_exec_downgrade
    enabled = (
        product_type.auto_exec_addon_cancel
        if kind == CustomerRequestKind.ADDON_CANCEL
        else product_type.auto_exec_subscription_cancel
    )
    threshold = product_type.auto_exec_threshold_amount
    return enabled and (threshold is None or amount <= threshold)


# ----------------------------------------------------------------------------- submit


def customer_request_submit(
    *,
    actor: Any,
    subscription: Subscription,
    kind: str,
    timing: str = CancelTiming.END_OF_PERIOD,
    cancel_date: date | None = None,
    target_product: Product | None = None,
    target_plan: ProductPlan | None = None,
    reason: str = "",
    via_storefront: bool = True,
    effective_at: datetime | None = None,
) -> CustomerRequest:
    """Record what the customer asked for and run it at once when the type says so."""
    at = effective_at or timezone.now()
    if kind not in CustomerRequestKind.values:
        raise ValidationError({"kind": _("Choose a cancellation or a downgrade.")})
    with transaction.atomic(), acting_as(actor):
        subscription = services.lock_subscription(subscription)
        if kind in CANCEL_KINDS:
            expected = (
                CustomerRequestKind.ADDON_CANCEL
                if subscription.parent_id
                else CustomerRequestKind.CANCEL
            )
            if kind != expected:
                message = (
                    _("%(number)s is an add-on: ask for an add-on cancellation.")
                    if subscription.parent_id
                    else _("%(number)s is not an add-on.")
                )
                raise ValidationError({"kind": message % {"number": subscription.number}})
        if subscription.bundle_id is not None:
            raise ValidationError({"kind": _("Ask about the bundle, not one of its components.")})
        if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
            raise ValidationError(
                {
                    "status": _("%(number)s is %(status)s: there is nothing to request.")
                    % {"number": subscription.number, "status": subscription.get_status_display()}
                }
            )
        amount = Decimal(0)
        effective: date | None = None
        if kind in CANCEL_KINDS:
            # The refund the policy would give decides the threshold; a refused
            # cancellation (window passed, timing not offered) is refused here already.
            decision = services.cancellation_preview(
                subscription, timing=timing, cancel_date=cancel_date, at=at
            )
            amount = decision.amount
            effective = (
                subscription.current_period_end
                if timing == CancelTiming.END_OF_PERIOD
                else (cancel_date or timezone.localdate(at))
            )
        else:
            if target_product is None or target_plan is None:
                raise ValidationError(
                    {"target_product": _("Choose the product and plan to downgrade to.")}
                )
            _check_downgrade_target(subscription, target_product, target_plan)
            timing = CancelTiming.END_OF_PERIOD
            effective = subscription.term_end
        request = CustomerRequest(
            subscription=subscription,
            kind=kind,
            timing=timing,
            requested_date=cancel_date,
            target_product=target_product,
            target_plan=target_plan,
            amount=amount,
            reason=reason.strip()[:500],
            requested_by=_user(actor),
            effective_date=effective,
            via_storefront=via_storefront,
        )
        if _auto_executes(kind, subscription, amount):
            request.status = CustomerRequestStatus.EXECUTED
            request.handled_at = at
            request.save()
            _execute(request, actor=actor, at=at, source=_source(via_storefront))
            _emit(request, "request_completed", actor)
            return request
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError as error:
            raise ValidationError(
                {
                    "kind": _("%(number)s already has a request waiting for approval.")
                    % {"number": subscription.number}
                }
            ) from error
        _emit(request, "requested", actor)
    return request


def _source(via_storefront: bool) -> str:
    return ChangeSource.STOREFRONT if via_storefront else ChangeSource.BSS


def _check_downgrade_target(
    subscription: Subscription, target_product: Product, target_plan: ProductPlan
) -> None:
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


def _execute(
    request: CustomerRequest,
    *,
    actor: Any,
    at: datetime,
    source: str,
    timing: str | None = None,
    cancel_date: date | None = None,
    refund: str = RefundChoice.POLICY,
    custom_refund: Decimal | None = None,
) -> None:
    """Carry the request out through the subscription services; sets the effective date."""
    subscription = request.subscription
    if request.kind in CANCEL_KINDS:
        chosen = timing or request.timing or CancelTiming.END_OF_PERIOD
        change = services.subscription_cancel(
            actor=actor,
            subscription=subscription,
            timing=chosen,
            cancel_date=cancel_date if cancel_date is not None else request.requested_date,
            refund=refund,
            custom_refund=custom_refund,
            reason=request.reason or _("Requested by the customer"),
            effective_at=at,
            source=source,
        )
        request.timing = chosen
        request.effective_date = change.effective_date
        request.amount = change.refund_amount or Decimal(0)
    else:
        if request.target_product is None or request.target_plan is None:
            raise ValidationError({"target_product": _("The request names no downgrade target.")})
        services.subscription_schedule_downgrade(
            actor=actor,
            subscription=subscription,
            target_product=request.target_product,
            target_plan=request.target_plan,
            via_storefront=request.via_storefront,
        )
        subscription.refresh_from_db(fields=["term_end"])
        request.effective_date = subscription.term_end
    request.save(update_fields=["timing", "effective_date", "amount", "updated_at"])


def _lock_pending(request: CustomerRequest) -> CustomerRequest:
    locked = (
        CustomerRequest.objects.select_for_update(of=("self",))
        .select_related(
            "subscription__account",
            "subscription__product__product_type",
            "target_product",
            "target_plan",
        )
        .get(pk=request.pk)
    )
    if locked.status != CustomerRequestStatus.PENDING:
        raise ValidationError(
            {
                "status": _("The request was already handled: it is %(status)s.")
                % {"status": locked.get_status_display()}
            }
        )
    return locked


# --------------------------------------------------------------------------- decisions


def customer_request_approve(
    *,
    actor: Any,
    request: CustomerRequest,
    timing: str | None = None,
    cancel_date: date | None = None,
    refund: str = RefundChoice.POLICY,
    custom_refund: Decimal | None = None,
    effective_at: datetime | None = None,
) -> CustomerRequest:
    """Execute a waiting request with the timing the approver chose (default: as asked)."""
    at = effective_at or timezone.now()
    with transaction.atomic(), acting_as(actor):
        request = _lock_pending(request)
        request.status = CustomerRequestStatus.APPROVED
        request.handled_by = _user(actor)
        request.handled_at = at
        request.save(update_fields=["status", "handled_by", "handled_at", "updated_at"])
        _execute(
            request,
            actor=actor,
            at=at,
            source=ChangeSource.BSS,
            timing=timing,
            cancel_date=cancel_date,
            refund=refund,
            custom_refund=custom_refund,
        )
        _emit(request, "request_completed", actor)
    return request


def customer_request_reject(
    *, actor: Any, request: CustomerRequest, reason: str = ""
) -> CustomerRequest:
    with transaction.atomic(), acting_as(actor):
        request = _lock_pending(request)
        request.status = CustomerRequestStatus.REJECTED
        request.handled_by = _user(actor)
        request.handled_at = timezone.now()
        if reason.strip():
            request.reason = (f"{request.reason}\n{reason.strip()}").strip()[:500]
        request.save(update_fields=["status", "handled_by", "handled_at", "reason", "updated_at"])
        _emit(request, "request_rejected", actor, rejection_reason=reason.strip())
    return request


def customer_request_revoke(*, actor: Any, request: CustomerRequest) -> CustomerRequest:
    """The customer withdraws a request before anyone handled it."""
    with transaction.atomic(), acting_as(actor):
        request = _lock_pending(request)
        request.status = CustomerRequestStatus.REVOKED
        request.handled_at = timezone.now()
        request.save(update_fields=["status", "handled_at", "updated_at"])
        _emit(request, "request_cancelled", actor)
    return request


def pending_requests() -> Any:
    return CustomerRequest.objects.filter(status=CustomerRequestStatus.PENDING).select_related(
        "subscription__account", "subscription__product", "target_product", "requested_by"
    )


# ------------------------------------------------------------------- quantity requests


def quantity_change_or_schedule(
    *,
    actor: Any,
    subscription: Subscription,
    new_quantity: int,
    effective_at: datetime | None = None,
    source: str = ChangeSource.BSS,
    via_storefront: bool = False,
) -> Any:
    """Change the quantity now, or schedule a decrease for the renewal (spec 4.3, S11).

    Inside the product type's cancellation window (or without one) the change is made
    at once and billed pro rata; a decrease after the window becomes a pending quantity
    Future Request applied by the renewal. Returns the change row or the future request.
    """
    at = effective_at or timezone.now()
    if (
        isinstance(new_quantity, int)
        and new_quantity < subscription.quantity
        and not services.cancellation_window_open(subscription, at)
    ):
        return services.future_request_create(
            actor=actor,
            subscription=subscription,
            request_type=FutureRequestType.QUANTITY,
            renewal_value=str(new_quantity),
            via_storefront=via_storefront,
        )
    return services.subscription_change_quantity(
        actor=actor,
        subscription=subscription,
        new_quantity=new_quantity,
        effective_at=at,
        source=source,
    )
