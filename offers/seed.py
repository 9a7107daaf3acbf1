"""Demo offers in each status: one not yet sent, one shared, one accepted and converted
into an executed order, one the customer declined.

Idempotent: offers are found by name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account
from bss.setup.models import User
from catalogue.models import BillingCycle, Product
from offers import services
from offers.models import Offer, OfferStatus
from orders import execution

ORDER = 61

# name, account, [(product code, cycle, quantity, discount %)], what happens to it
OFFERS = [
    (
        "Security upgrade proposal",
        "Pinecrest Medical Group",
        [("SEC-ADV", BillingCycle.MONTHLY, 40, "0")],
        "draft",
    ),
    (
        "Office Premium for the management team",
        "Northwind Traders",
        [("SUITE-PREM", BillingCycle.ANNUAL, 8, "10")],
        "shared",
    ),
    (
        "Mail and backup for the new branch",
        "Aegean Logistics S.A.",
        [
            ("MAILBOX", BillingCycle.MONTHLY, 15, "0"),
            ("BACKUP-GB", BillingCycle.MONTHLY, 100, "5"),
        ],
        "converted",
    ),
    (
        "Analytics workspace",
        "Blue Harbor Analytics Ltd",
        [("SUITE-STD", BillingCycle.MONTHLY, 12, "0")],
        "declined",
    ),
]


def ensure_draft_status() -> None:
    if not OfferStatus.objects.filter(name="Draft").exists():
        services.offer_status_create(
            actor=None,
            name="Draft",
            status_type="in_progress",
            is_draft=True,
            color="#adb5bd",
            position=5,
        )


def seed(stdout: Any) -> None:
    ensure_draft_status()
    sales = User.objects.get(email="sales@example.com")
    today = timezone.localdate()
    for name, account_name, lines, fate in OFFERS:
        account = Account.objects.filter(name=account_name).first()
        if account is None or Offer.objects.filter(name=name).exists():
            continue
        offer = services.offer_create(
            actor=sales,
            account=account,
            name=name,
            owner=sales,
            valid_until=today + timedelta(days=30),
        )
        for code, cycle, quantity, discount in lines:
            product = Product.objects.filter(code=code).first()
            plan = product.plans.filter(billing_cycle=cycle).first() if product else None
            if plan is not None:
                services.offer_item_add(
                    actor=sales,
                    offer=offer,
                    product=product,
                    plan=plan,
                    quantity=quantity,
                    discount_percent=discount,
                )
        if fate == "draft" or not offer.items.exists():
            continue
        services.offer_share(actor=sales, offer=offer)
        if fate == "declined":
            services.offer_respond(
                offer=offer, response="declined", name="Oliver Hughes", ip_address="198.51.100.20"
            )
        elif fate == "converted":
            services.offer_respond(
                offer=offer,
                response="accepted",
                name="Giorgos Papadopoulos",
                ip_address="198.51.100.10",
            )
            order = services.offer_convert(actor=sales, offer=offer)
            execution.order_execute(actor=sales, order=order, start_date=today)
    stdout.write(f"  {Offer.objects.count()} offers")
