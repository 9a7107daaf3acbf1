"""The preconfigured system notifications (spec 2.3), installed by a migration.

Each is active and editable; installing again only adds the ones that are missing, so
an edited subject or a deactivated template stays as the organization left it. Their
events are emitted by the modules that own them (subscriptions, billing, orders,
offers, payments, support, the Storefront); a template whose module is not built yet
simply waits for its first event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

CUSTOMER_CLOSING = "<p>Kind regards,<br>{{ org.name }}</p>"
INTERNAL_CLOSING = '<p><a href="{{ links.record_url }}">Open it in the BSS</a></p>'


@dataclass(frozen=True)
class SystemNotification:
    code: str
    entity: str
    name: str
    event_name: str
    to: tuple[str, ...]
    subject: str
    body: str
    internal: bool = False
    attachment: str = ""
    plan_only: bool = False
    # Texts per language (language -> (subject, body)) built from translated strings;
    # without it the notification is installed in English only.
    texts: Callable[[], dict[str, tuple[str, str]]] | None = None

    def texts_by_language(self) -> dict[str, tuple[str, str]]:
        if self.texts is None:
            return {"en": (self.subject, self.body)}
        return self.texts()


def _customer(text: str) -> str:
    return "<p>Dear {{ contact.full_name|default:account.name }},</p>" + text + CUSTOMER_CLOSING


def _internal(text: str) -> str:
    return text + INTERNAL_CLOSING


_SUB = "{{ subscription.friendly_name|default:subscription.number }}"
_EFFECTIVE = "<p>Effective date: {{ event.effective_date }}</p>"
MANAGER = ("role:account_manager",)
CONTACT = ("role:record_contact",)
BILL_TO = ("role:bill_to_contacts",)
EVENT_RECIPIENTS = ("role:event_recipients",)

# What "offer-shared" said before it took over the share dialog's email (its first
# version): a migration replaces only a text or recipient list still equal to these.
OFFER_SHARED_V1_TO = ["role:record_contact"]
OFFER_SHARED_V1_SUBJECT = "Offer {{ offer.number }} from {{ org.name }}"
OFFER_SHARED_V1_BODY = (
    "<p>Dear {{ contact.full_name|default:account.name }},</p>"
    "<p>Please find attached our offer {{ offer.number }}.</p>" + CUSTOMER_CLOSING
)


def _offer_shared_text() -> tuple[str, str]:
    """Subject and body in the active language: the sender's message (or a default line),
    the public link and the validity, as the share dialog's email always said."""
    subject = _("Offer %(number)s: %(name)s") % {
        "number": "{{ offer.number }}",
        "name": "{{ offer.name }}",
    }
    link = '<a href="{{ event.link }}">{{ event.link }}</a>'
    body = (
        "<p>{% if event.message %}{{ event.message|linebreaksbr }}{% else %}"
        + escape(_("Please find our offer attached."))
        + "{% endif %}</p>"
        + "<p>"
        + escape(_("View, accept or decline it online: %(link)s")).replace("%(link)s", link)
        + "</p><p>"
        + escape(_("The offer is valid until %(date)s.")).replace(
            "%(date)s", '{{ offer.valid_until|date:"Y-m-d" }}'
        )
        + "</p><p>{{ org.name }}</p>"
    )
    return subject, body


def offer_shared_texts() -> dict[str, tuple[str, str]]:
    """English, and each other language of the BSS whose translation differs from it."""
    texts: dict[str, tuple[str, str]] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            text = _offer_shared_text()
        if language == "en" or text != texts.get("en"):
            texts[language] = text
    return texts


SYSTEM_NOTIFICATIONS: list[SystemNotification] = [
    # Storefront access of contacts.
    SystemNotification(
        "storefront-account-activation",
        "contact",
        "Storefront account activation",
        "storefront.activation_requested",
        CONTACT,
        "Activate your {{ org.name }} account",
        _customer(
            '<p>Please activate your Storefront account: <a href="{{ event.activation_url }}">'
            "{{ event.activation_url }}</a></p>"
        ),
    ),
    SystemNotification(
        "storefront-activation-successful",
        "contact",
        "Activation was successful",
        "storefront.activation_completed",
        CONTACT,
        "Your {{ org.name }} account is active",
        _customer(
            '<p>Your account is active. Sign in at <a href="{{ links.storefront_url }}">'
            "{{ links.storefront_url }}</a>.</p>"
        ),
    ),
    SystemNotification(
        "storefront-password-reset",
        "contact",
        "Storefront user password reset",
        "storefront.password_reset_requested",
        CONTACT,
        "Reset your {{ org.name }} password",
        _customer(
            '<p>Choose a new password here: <a href="{{ event.reset_url }}">{{ event.reset_url }}</a>'
            "</p><p>If you did not ask for it, ignore this email.</p>"
        ),
    ),
    SystemNotification(
        "storefront-password-reset-successful",
        "contact",
        "Reset password was successful",
        "storefront.password_reset_completed",
        CONTACT,
        "Your {{ org.name }} password was changed",
        _customer("<p>Your Storefront password was changed.</p>"),
    ),
    # Requests from the Storefront: to the account manager, completed to the customer,
    # cancelled (by the customer) internally.
    *[
        item
        for request_code, label, event in [
            ("downgrade", "Downgrade", "downgrade"),
            ("addon-cancellation", "Addon cancellation", "addon_cancellation"),
            ("cancellation", "Subscription cancellation", "cancellation"),
        ]
        for item in (
            SystemNotification(
                f"subscription-{request_code}-request",
                "subscription",
                f"{label} request",
                f"subscription.{event}_requested",
                MANAGER,
                f"{label} request: {_SUB} of {{{{ account.name }}}}",
                _internal(
                    f"<p>{{{{ account.name }}}} asked for a {label.lower()} of {_SUB}.</p>"
                    + _EFFECTIVE
                ),
                internal=True,
            ),
            SystemNotification(
                f"subscription-{request_code}-request-completed",
                "subscription",
                f"{label} request completed",
                f"subscription.{event}_request_completed",
                CONTACT,
                f"Your {label.lower()} request for {_SUB} is completed",
                _customer(
                    f"<p>Your {label.lower()} request for {_SUB} is completed.</p>" + _EFFECTIVE
                ),
            ),
            SystemNotification(
                f"subscription-{request_code}-request-cancelled",
                "subscription",
                f"{label} request cancelled",
                f"subscription.{event}_request_canceled",
                MANAGER,
                f"{label} request withdrawn: {_SUB} of {{{{ account.name }}}}",
                _internal(
                    f"<p>{{{{ account.name }}}} withdrew the {label.lower()} request for {_SUB}.</p>"
                    + _EFFECTIVE
                ),
                internal=True,
            ),
        )
    ],
    # Orders.
    SystemNotification(
        "order-submitted",
        "order",
        "New order submitted",
        "order.submitted",
        MANAGER,
        "New order {{ order.number }} from {{ account.name }}",
        _internal("<p>{{ account.name }} submitted order {{ order.number }}.</p>"),
        internal=True,
    ),
    SystemNotification(
        "order-executed",
        "order",
        "Order executed",
        "order.executed",
        CONTACT,
        "Your order {{ order.number }} is complete",
        _customer("<p>Your order {{ order.number }} has been executed.</p>"),
    ),
    SystemNotification(
        "order-canceled",
        "order",
        "Order canceled",
        "order.canceled",
        CONTACT,
        "Your order {{ order.number }} was canceled",
        _customer("<p>Your order {{ order.number }} was canceled.</p>"),
    ),
    SystemNotification(
        "order-manual-management",
        "order",
        "Order for manual management",
        "order.manual_management",
        MANAGER,
        "Order {{ order.number }} needs manual provisioning",
        _internal("<p>Order {{ order.number }} of {{ account.name }} waits for manual work.</p>"),
        internal=True,
    ),
    # Subscriptions.
    *[
        SystemNotification(
            f"subscription-{code}",
            "subscription",
            name,
            event,
            CONTACT,
            subject,
            _customer(f"<p>{text}</p>"),
        )
        for code, name, event, subject, text in [
            (
                "created",
                "Subscription created",
                "subscription.created",
                f"Your subscription {_SUB} is ready",
                f"Your subscription {_SUB} was created.",
            ),
            (
                "renewed",
                "Subscription renewed",
                "subscription.renewed",
                f"Your subscription {_SUB} was renewed",
                f"Your subscription {_SUB} was renewed until {{{{ subscription.term_end }}}}.",
            ),
            (
                "expiring",
                "Subscription expiring",
                "subscription.expiring",
                f"Your subscription {_SUB} expires in {{{{ event.days_left }}}} days",
                f"Your subscription {_SUB} expires in {{{{ event.days_left }}}} days.",
            ),
            (
                "trial-ending",
                "Trial expiring",
                "subscription.trial_ending",
                f"Your trial of {_SUB} ends in {{{{ event.days_left }}}} days",
                f"Your trial of {_SUB} ends on {{{{ subscription.trial_end }}}}.",
            ),
            (
                "suspended",
                "Subscription suspended",
                "subscription.suspended",
                f"Your subscription {_SUB} is suspended",
                f"Your subscription {_SUB} was suspended.",
            ),
            (
                "canceled",
                "Subscription canceled",
                "subscription.canceled",
                f"Your subscription {_SUB} was canceled",
                f"Your subscription {_SUB} was canceled.",
            ),
            (
                "upgraded",
                "Upgrade completed",
                "subscription.upgraded",
                f"Your upgrade of {_SUB} is complete",
                f"The upgrade of {_SUB} is complete.",
            ),
        ]
    ],
    SystemNotification(
        "subscription-external-pricing-failed",
        "subscription",
        "External pricing failed",
        "subscription.external_pricing_failed",
        MANAGER,
        f"External pricing failed for {_SUB}",
        _internal(
            f"<p>The price of {_SUB} could not be retrieved: "
            "{{ subscription.external_pricing_failure_reason }} "
            "(first failure {{ subscription.external_pricing_last_failure }}).</p>"
        ),
        internal=True,
    ),
    # Invoices and payments.
    SystemNotification(
        "invoice-issued",
        "invoice",
        "New invoice issued",
        "invoice.issued",
        BILL_TO,
        "Invoice {{ invoice.number }} from {{ org.name }}",
        _customer(
            "<p>Please find attached invoice {{ invoice.number }} of {{ invoice.invoice_date }} "
            "for {{ invoice.gross_total_formatted }}, due on {{ invoice.due_date }}.</p>"
        ),
        attachment="invoice_pdf",
    ),
    *[
        SystemNotification(
            f"invoice-reminder-{number}",
            "invoice",
            f"Invoice reminder {number}",
            "",
            BILL_TO,
            f"Reminder {number}: invoice {{{{ invoice.number }}}} is overdue",
            _customer(
                "<p>Invoice {{ invoice.number }} was due on {{ invoice.due_date }}; "
                "{{ invoice.balance_due_formatted }} is still open.</p>"
            ),
            attachment="invoice_pdf",
            plan_only=True,
        )
        for number in (1, 2, 3)
    ],
    SystemNotification(
        "payment-received",
        "payment",
        "Payment received",
        "payment.received",
        BILL_TO,
        "Payment received, thank you",
        _customer("<p>We received your payment. Thank you.</p>"),
    ),
    SystemNotification(
        "payment-failed",
        "payment",
        "Credit-card payment failed",
        "payment.failed",
        BILL_TO,
        "Your card payment failed",
        _customer("<p>Your card payment failed: {{ event.failure_reason }}.</p>"),
    ),
    # Offers, cases, documents.
    SystemNotification(
        "offer-shared",
        "offer",
        "Offer shared",
        "offer.shared",
        EVENT_RECIPIENTS,
        "",
        "",
        attachment="offer_pdf",
        texts=offer_shared_texts,
    ),
    SystemNotification(
        "case-created",
        "case",
        "Case created",
        "case.created",
        CONTACT,
        "We received your case {{ case.number }}",
        _customer("<p>We received your case {{ case.number }} and will be in touch.</p>"),
    ),
    SystemNotification(
        "case-updated",
        "case",
        "Case updated",
        "case.updated",
        CONTACT,
        "Your case {{ case.number }} was updated",
        _customer("<p>Your case {{ case.number }} was updated.</p><p>{{ event.comment }}</p>"),
    ),
    SystemNotification(
        "case-closed",
        "case",
        "Case closed",
        "case.closed",
        CONTACT,
        "Your case {{ case.number }} is closed",
        _customer("<p>Your case {{ case.number }} is closed.</p>"),
    ),
    SystemNotification(
        "document-published",
        "document",
        "Document published",
        "document.published",
        CONTACT,
        "A new document is available: {{ document.name }}",
        _customer(
            '<p>The document {{ document.name }} is available in the <a href="{{ links.storefront_url }}">'
            "Storefront</a>.</p>"
        ),
    ),
]


def install_system_templates(template_model: Any, text_model: Any) -> int:
    """Create the system notifications that are missing; return how many were added."""
    existing = set(template_model.objects.values_list("code", flat=True))
    added = 0
    for item in SYSTEM_NOTIFICATIONS:
        if item.code in existing:
            continue
        template = template_model.objects.create(
            code=item.code,
            entity=item.entity,
            name=item.name,
            is_active=True,
            is_system=True,
            is_internal=item.internal,
            trigger="plan_only" if item.plan_only else "event",
            event_name=item.event_name,
            when_to_send="every_time",
            apply_rule="all",
            recipients={"to": list(item.to), "cc": [], "bcc": []},
            attachment=item.attachment,
        )
        for language, (subject, body) in item.texts_by_language().items():
            text_model.objects.create(
                template=template, language=language, subject=subject, body_html=body
            )
        added += 1
    return added


def update_offer_shared(template_model: Any, text_model: Any) -> bool:
    """Let an installed "offer-shared" send the share dialog's email: its recipients and
    texts become the current ones where the organization left the first version as it
    was; whatever it edited stays. Returns whether anything changed."""
    template = template_model.objects.filter(code="offer-shared").first()
    if template is None:
        return False
    changed = False
    recipients = template.recipients or {}
    if (
        list(recipients.get("to") or []) == OFFER_SHARED_V1_TO
        and not recipients.get("cc")
        and not recipients.get("bcc")
    ):
        template.recipients = {"to": list(EVENT_RECIPIENTS), "cc": [], "bcc": []}
        template.save(update_fields=["recipients"])
        changed = True
    texts = list(text_model.objects.filter(template=template))
    if (
        len(texts) == 1
        and texts[0].language == "en"
        and texts[0].subject == OFFER_SHARED_V1_SUBJECT
        and texts[0].body_html == OFFER_SHARED_V1_BODY
    ):
        text_model.objects.filter(template=template).delete()
        for language, (subject, body) in offer_shared_texts().items():
            text_model.objects.create(
                template=template, language=language, subject=subject, body_html=body
            )
        changed = True
    return changed
