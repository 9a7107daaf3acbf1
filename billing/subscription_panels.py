"""The subscription page's billing panels: its charges and the invoices that bill it.

Subscriptions sit below billing, so billing registers these panels with
``subscriptions.registry`` from its ``AppConfig.ready``. Both read through record
visibility by the billing account, like every other billing page.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from billing.models import Charge, Invoice
from billing.selectors import currency_culture
from bss.core.visibility import visible_records
from subscriptions.models import Subscription
from subscriptions.registry import register_subscription_panel

PANEL_ROWS = 50


def subscription_charges(request: HttpRequest, subscription: Subscription) -> str:
    charges = visible_records(
        Charge.objects.filter(subscription_id=subscription.pk).select_related("invoice"),
        request.user,
    ).order_by("-period_start", "-pk")[:PANEL_ROWS]
    return render_to_string(
        "billing/partials/subscription_charges.html",
        {
            "subscription": subscription,
            "charges": list(charges),
            "locale": currency_culture(subscription.currency),
        },
        request=request,
    )


def subscription_invoices(request: HttpRequest, subscription: Subscription) -> str:
    invoices = visible_records(
        Invoice.objects.filter(lines__subscription_id=subscription.pk).distinct(), request.user
    ).order_by("-invoice_date", "-pk")[:PANEL_ROWS]
    return render_to_string(
        "billing/partials/subscription_invoices.html",
        {
            "subscription": subscription,
            "invoices": list(invoices),
            "locale": currency_culture(subscription.currency),
        },
        request=request,
    )


def register() -> None:
    register_subscription_panel(
        "charges", _("Charges"), subscription_charges, "invoices", "view", order=10
    )
    register_subscription_panel(
        "invoices", _("Invoices"), subscription_invoices, "invoices", "view", order=20
    )
