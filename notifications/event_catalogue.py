"""The domain events a notification can be sent on.

The notifications handler subscribes to each of these names (not to every event), so
events nobody may notify about cost nothing here. A module that emits a new event a
customer should hear about registers it with ``register_event`` before the apps are
ready, or adds it to this list.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

KNOWN_EVENTS: dict[str, object] = {
    # customers
    "account.created": _("Account created"),
    "account.updated": _("Account updated"),
    "account.deleted": _("Account deleted"),
    "account.first_order": _("Account's first order"),
    "contact.created": _("Contact created"),
    "contact.updated": _("Contact updated"),
    "contact.deleted": _("Contact deleted"),
    "document.uploaded": _("Document uploaded"),
    "document.updated": _("Document updated"),
    "document.deleted": _("Document deleted"),
    "document.published": _("Document published"),
    # Storefront
    "storefront.activation_requested": _("Storefront account activation requested"),
    "storefront.activation_completed": _("Storefront account activated"),
    "storefront.password_reset_requested": _("Storefront password reset requested"),
    "storefront.password_reset_completed": _("Storefront password reset completed"),
    # subscriptions and assets
    "subscription.created": _("Subscription created"),
    "subscription.quantity_changed": _("Subscription quantity changed"),
    "subscription.upgraded": _("Subscription upgraded"),
    "subscription.canceled": _("Subscription canceled"),
    "subscription.cancel_scheduled": _("Subscription cancellation scheduled"),
    "subscription.renewed": _("Subscription renewed"),
    "subscription.suspended": _("Subscription suspended"),
    "subscription.activated": _("Subscription activated"),
    "subscription.expired": _("Subscription expired"),
    "subscription.expiring": _("Subscription expiring in N days"),
    "subscription.trial_ending": _("Trial ending"),
    "subscription.external_pricing_failed": _("External pricing failed"),
    "subscription.downgrade_requested": _("Downgrade requested"),
    "subscription.downgrade_request_completed": _("Downgrade request completed"),
    "subscription.downgrade_request_canceled": _("Downgrade request withdrawn"),
    "subscription.addon_cancellation_requested": _("Add-on cancellation requested"),
    "subscription.addon_cancellation_request_completed": _("Add-on cancellation completed"),
    "subscription.addon_cancellation_request_canceled": _("Add-on cancellation withdrawn"),
    "subscription.cancellation_requested": _("Cancellation requested"),
    "subscription.cancellation_request_completed": _("Cancellation request completed"),
    "subscription.cancellation_request_canceled": _("Cancellation request withdrawn"),
    "asset.created": _("Asset created"),
    # billing
    "invoice.issued": _("Invoice issued"),
    "credit_invoice.issued": _("Credit invoice issued"),
    "invoice.overdue": _("Invoice overdue"),
    "invoice.held": _("Invoice held"),
    "billing_run.finished": _("Billing run finished"),
    "billing_run.failed": _("Billing run failed"),
    "payment.received": _("Payment received"),
    "payment.failed": _("Card payment failed"),
    # sales
    "order.submitted": _("Order submitted"),
    "order.executed": _("Order executed"),
    "order.canceled": _("Order canceled"),
    "order.manual_management": _("Order for manual management"),
    "offer.shared": _("Offer shared"),
    "offer.accepted": _("Offer accepted"),
    # support
    "case.created": _("Case created"),
    "case.updated": _("Case updated"),
    "case.closed": _("Case closed"),
}


def register_event(name: str, label: object) -> None:
    KNOWN_EVENTS.setdefault(name, label)


def event_choices() -> list[tuple[str, str]]:
    return [
        ("", "—"),
        *[(name, f"{name} · {label}") for name, label in sorted(KNOWN_EVENTS.items())],
    ]
