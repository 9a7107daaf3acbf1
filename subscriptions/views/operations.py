"""The shortcut dialogs of the subscription page, one per operation.

Each operation is a small declaration: the permission it needs, its form, when the
page offers it and the one service call it makes. One view per operation serves the
dialog (as a modal's content for htmx, or a page of its own without JavaScript),
turns the service's refusal into messages on the named fields, and sends the browser
back to the subscription when the operation is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_htmx.http import HttpResponseClientRedirect

from bss.core.money import quantize
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404
from catalogue.models import Product
from catalogue.relations import downgrade_targets, upgrade_targets
from subscriptions import services
from subscriptions.forms import (
    CancelForm,
    ChangeQuantityForm,
    ConfirmForm,
    DowngradeForm,
    EditPricingForm,
    OperationForm,
    PriceProtectionForm,
    SubscriptionEditForm,
    SuspendForm,
    UpgradeForm,
)
from subscriptions.models import (
    SUBSCRIPTION_TRANSITIONS,
    ChangeKind,
    FutureRequestType,
    ProvisioningStatus,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.services import RefundChoice

Done = tuple[str, Subscription | None]


@dataclass(frozen=True)
class Operation:
    key: str
    label: Any
    action: str
    form_class: type[OperationForm]
    perform: Callable[[Any, Subscription, Any], Done]
    shown: Callable[[Subscription], bool]
    icon: str = "circle"
    intro: Any = ""
    danger: bool = False

    @property
    def url_name(self) -> str:
        return f"subscriptions:op_{self.key}"

    def url_for(self, subscription: Subscription) -> str:
        return reverse(self.url_name, kwargs={"pk": subscription.pk})


def _data(form: OperationForm) -> dict[str, Any]:
    return form.cleaned_data


def _edit(actor: Any, subscription: Subscription, form: Any) -> Done:
    services.subscription_edit(
        actor=actor,
        subscription=subscription,
        friendly_name=form.cleaned_data["friendly_name"],
        auto_renew=form.cleaned_data["auto_renew"],
        custom_data=form.custom_data_input,
    )
    return _t("Subscription saved."), None


def _change_quantity(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    if data["at_renewal"]:
        services.future_request_create(
            actor=actor,
            subscription=subscription,
            request_type=FutureRequestType.QUANTITY,
            renewal_value=str(data["new_quantity"]),
        )
        return _t("The quantity becomes %(quantity)d at the renewal on %(date)s.") % {
            "quantity": data["new_quantity"],
            "date": subscription.term_end,
        }, None
    change = services.subscription_change_quantity(
        actor=actor,
        subscription=subscription,
        new_quantity=data["new_quantity"],
        effective_at=data["effective_at"],
    )
    return _t("Quantity changed from %(old)d to %(new)d.") % {
        "old": change.old_quantity,
        "new": change.new_quantity,
    }, None


def _edit_pricing(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    services.subscription_edit_pricing(
        actor=actor,
        subscription=subscription,
        cycle=data["cycle"],
        user_unit_price=data["user_unit_price"],
        clear_user_price=data["clear_user_price"],
        discount_percent=data["discount_percent"],
        price_list=data["price_list"],
        effective_at=data["effective_at"],
    )
    if data["cycle"] == "next":
        return _t("The new pricing is scheduled for the next cycle."), None
    return _t("Pricing changed for the current cycle."), None


def _cancel(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    change = services.subscription_cancel(
        actor=actor,
        subscription=subscription,
        timing=data["timing"],
        cancel_date=data["cancel_date"],
        refund=data["refund"],
        custom_refund=data.get("custom_refund"),
        reason=data["reason"],
        effective_at=data["effective_at"],
    )
    if change.kind == ChangeKind.CANCEL_SCHEDULED:
        return _t("%(number)s is pending for cancel: it ends on %(date)s.") % {
            "number": subscription.number,
            "date": change.effective_date,
        }, None
    return _t("%(number)s is canceled; refund %(amount)s %(currency)s.") % {
        "number": subscription.number,
        "amount": quantize(change.refund_amount or 0, subscription.currency),
        "currency": subscription.currency,
    }, None


def _revoke(actor: Any, subscription: Subscription, form: Any) -> Done:
    services.subscription_revoke_cancellation(
        actor=actor, subscription=subscription, effective_at=_data(form)["effective_at"]
    )
    return _t("The cancellation is revoked; %(number)s is active.") % {
        "number": subscription.number
    }, None


def _upgrade(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    plan = data["plan"]
    target = services.subscription_upgrade(
        actor=actor,
        subscription=subscription,
        target_product=plan.product,
        target_plan=plan,
        quantity=data["quantity"],
        target_subscription=data["target_subscription"],
        effective_at=data["effective_at"],
    )
    return _t("%(count)d seats moved to %(number)s.") % {
        "count": data["quantity"],
        "number": target.number,
    }, target


def _downgrade(actor: Any, subscription: Subscription, form: Any) -> Done:
    plan = _data(form)["plan"]
    services.subscription_schedule_downgrade(
        actor=actor, subscription=subscription, target_product=plan.product, target_plan=plan
    )
    return _t("The downgrade to %(product)s is scheduled for the renewal on %(date)s.") % {
        "product": plan.product.name,
        "date": subscription.term_end,
    }, None


def _renew(actor: Any, subscription: Subscription, form: Any) -> Done:
    services.subscription_renew(
        actor=actor, subscription=subscription, effective_at=_data(form)["effective_at"]
    )
    return _t("The renewal on %(date)s is confirmed.") % {"date": subscription.term_end}, None


def _suspend(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    services.subscription_suspend(
        actor=actor,
        subscription=subscription,
        reason=data["reason"],
        effective_at=data["effective_at"],
    )
    return _t("%(number)s is suspended.") % {"number": subscription.number}, None


def _activate(actor: Any, subscription: Subscription, form: Any) -> Done:
    services.subscription_resume(
        actor=actor, subscription=subscription, effective_at=_data(form)["effective_at"]
    )
    return _t("%(number)s is active again.") % {"number": subscription.number}, None


def _reprovision(actor: Any, subscription: Subscription, form: Any) -> Done:
    services.subscription_reprovision(
        actor=actor, subscription=subscription, effective_at=_data(form)["effective_at"]
    )
    return _t("%(number)s is sent to provisioning again.") % {"number": subscription.number}, None


def _price_protection(actor: Any, subscription: Subscription, form: Any) -> Done:
    data = _data(form)
    services.subscription_set_price_protection(
        actor=actor,
        subscription=subscription,
        until=data["until"],
        effective_at=data["effective_at"],
    )
    if data["until"] is None:
        return _t("Price protection is off."), None
    return _t("The price is protected until %(date)s.") % {"date": data["until"]}, None


def _is_active(subscription: Subscription) -> bool:
    return subscription.status == SubscriptionStatus.ACTIVE


def _cancelable(subscription: Subscription) -> bool:
    return (
        SubscriptionStatus.CANCELED in SUBSCRIPTION_TRANSITIONS[subscription.status]
        and subscription.bundle_id is None
    )


def _reprovisionable(subscription: Subscription) -> bool:
    """Failed, a trial whose provisioning failed, one whose latest change (suspension,
    cancellation...) the vendor refused, or a bundle with such a component."""
    if subscription.product.kind == Product.Kind.BUNDLE:
        return bool(services.failed_components(subscription))
    return (
        subscription.status == SubscriptionStatus.FAILED
        or (
            subscription.status == SubscriptionStatus.TRIAL
            and subscription.provisioning_status == ProvisioningStatus.FAILED
        )
        or services.lifecycle_failed(subscription)
    )


def _renewable(subscription: Subscription) -> bool:
    return (
        subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED)
        and subscription.current_period_end >= subscription.term_end
    )


OPERATIONS: list[Operation] = [
    Operation(
        "edit",
        _("Edit"),
        "edit",
        SubscriptionEditForm,
        _edit,
        lambda s: s.is_live,
        icon="pencil",
    ),
    Operation(
        "quantity",
        _("Change quantity"),
        "change_quantity",
        ChangeQuantityForm,
        _change_quantity,
        lambda s: _is_active(s) and s.bundle_id is None,
        icon="123",
        intro=_("Billing charges or credits the rest of the current period."),
    ),
    Operation(
        "pricing",
        _("Edit pricing info"),
        "edit_pricing",
        EditPricingForm,
        _edit_pricing,
        lambda s: s.is_live and s.status != SubscriptionStatus.TRIAL,
        icon="currency-exchange",
    ),
    Operation(
        "upgrade",
        _("Upgrade"),
        "upgrade",
        UpgradeForm,
        _upgrade,
        lambda s: _is_active(s) and bool(upgrade_targets(s.product)),
        icon="arrow-up-circle",
        intro=_("The moved seats are credited here and charged on the target to its period end."),
    ),
    Operation(
        "downgrade",
        _("Schedule downgrade"),
        "upgrade",
        DowngradeForm,
        _downgrade,
        lambda s: (
            s.is_live
            and s.status != SubscriptionStatus.TRIAL
            and bool(downgrade_targets(s.product))
        ),
        icon="arrow-down-circle",
    ),
    Operation(
        "renew",
        _("Renew"),
        "edit",
        ConfirmForm,
        _renew,
        _renewable,
        icon="arrow-repeat",
        intro=_("Confirms a new term from the end of the current one."),
    ),
    Operation(
        "suspend",
        _("Suspend"),
        "suspend",
        SuspendForm,
        _suspend,
        _is_active,
        icon="pause-circle",
        danger=True,
    ),
    Operation(
        "activate",
        _("Activate"),
        "suspend",
        ConfirmForm,
        _activate,
        lambda s: s.status == SubscriptionStatus.SUSPENDED,
        icon="play-circle",
    ),
    Operation(
        "reprovision",
        _("Reprovision"),
        "edit",
        ConfirmForm,
        _reprovision,
        _reprovisionable,
        icon="arrow-clockwise",
        intro=_("Sends the subscription to provisioning again; it is pending until it answers."),
    ),
    Operation(
        "price_protection",
        _("Price protection"),
        "price_protection",
        PriceProtectionForm,
        _price_protection,
        lambda s: s.is_live,
        icon="shield-lock",
    ),
    Operation(
        "revoke_cancellation",
        _("Revoke cancellation"),
        "cancel",
        ConfirmForm,
        _revoke,
        lambda s: s.status == SubscriptionStatus.PENDING_CANCEL,
        icon="arrow-counterclockwise",
        intro=_("The subscription stays active and renews as before."),
    ),
    Operation(
        "cancel",
        _("Cancel"),
        "cancel",
        CancelForm,
        _cancel,
        _cancelable,
        icon="x-circle",
        danger=True,
    ),
]


def available_operations(subscription: Subscription, user: Any) -> list[tuple[Operation, str]]:
    """The operations the page offers: the user holds the right and the status allows it."""
    return [
        (operation, operation.url_for(subscription))
        for operation in OPERATIONS
        if user_has_permission(user, "subscriptions", operation.action)
        and operation.shown(subscription)
    ]


def _subscription_to_change(request: HttpRequest, pk: int) -> Subscription:
    from subscriptions.views.pages import subscription_queryset

    return get_visible_or_404(subscription_queryset(), request.user, "edit", pk=pk)


def _dialog(
    request: HttpRequest, operation: Operation, subscription: Subscription, form: OperationForm
) -> HttpResponse:
    context = {
        "subscription": subscription,
        "operation": operation,
        "form": form,
        "action_url": operation.url_for(subscription),
        "preview_url": reverse("subscriptions:cancel_preview", kwargs={"pk": subscription.pk}),
    }
    if request.htmx:
        return render(request, "subscriptions/operation.html#dialog", context)
    return render(
        request, "subscriptions/operation.html", context, status=400 if form.errors else 200
    )


def operation_view(operation: Operation) -> Callable[..., HttpResponse]:
    @requires("subscriptions", operation.action)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        subscription = _subscription_to_change(request, pk)
        form = operation.form_class(
            request.POST if request.method == "POST" else None,
            subscription=subscription,
            user=request.user,
        )
        if request.method == "POST" and form.is_valid():
            try:
                message, target = operation.perform(request.user, subscription, form)
            except ValidationError as error:
                form.show_error(error)
            else:
                messages.success(request, message)
                url = (target or subscription).get_absolute_url()
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return redirect(url)
        return _dialog(request, operation, subscription, form)

    view.__name__ = f"subscription_{operation.key}"
    view.__qualname__ = view.__name__
    return view


@requires("subscriptions", "cancel")
def cancel_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The refund the cancellation would give, computed by the service before anyone confirms."""
    subscription = _subscription_to_change(request, pk)
    form = CancelForm(request.POST or request.GET, subscription=subscription, user=request.user)
    context: dict[str, Any] = {"subscription": subscription, "form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.cancellation_preview(
                subscription,
                timing=data["timing"],
                cancel_date=data["cancel_date"],
                at=data["effective_at"],
            )
        except ValidationError as error:
            context["refused"] = error.messages
        else:
            context["decision"] = decision
            refund = decision.amount
            if data["refund"] == RefundChoice.NONE:
                refund = 0
            elif data["refund"] == RefundChoice.CUSTOM:
                refund = data["custom_refund"]
            context["refund"] = refund
            context["refund_choice"] = data["refund"]
    else:
        context["problems"] = [
            f"{form.fields[name].label}: {' '.join(errors)}"
            if name in form.fields
            else " ".join(errors)
            for name, errors in form.errors.items()
        ]
    return render(request, "subscriptions/partials/cancel_preview.html", context)


def operation_urls() -> list[Any]:
    return [
        path(
            f"<int:pk>/{operation.key.replace('_', '-')}/",
            operation_view(operation),
            name=f"op_{operation.key}",
        )
        for operation in OPERATIONS
    ]
