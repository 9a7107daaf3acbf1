"""Sales in a real browser: build an offer, share it, the customer accepts through the link in
a browser of their own, the offer becomes an order, the order is executed, and the account
shows the subscription. Also renders the offer PDF as a PNG for the documentation."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Contact
from billing.seed import seed_eu_vat
from bss.core.models import ConsentRecord
from bss.setup.models import Currency
from bss.setup.organization.services import organization_update
from catalogue.models import BillingCycle
from offers.models import Offer
from offers.pdf import render_offer_pdf
from orders.models import Order
from subscriptions.models import Subscription
from tests.billing.factories import BillingAddressFactory, CustomerFactory
from tests.catalogue.factories import PlanFactory, PriceFactory, ProductFactory, ProductTypeFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def sales_setup() -> dict[str, Any]:
    euro, _created = Currency.objects.update_or_create(
        code="EUR", defaults={"name": "Euro", "culture": "el_GR", "is_active": True}
    )
    seed_eu_vat()
    organization_update(
        actor=None,
        home_currency=euro,
        legal_name="Cloudwave Services S.A.",
        address_line1="Leoforos Kifisias 44",
        postal_code="151 25",
        city="Marousi",
        country="GR",
        tax_id="EL094259216",
        email="sales@cloudwave.example",
        phone="+30 210 000 0000",
    )
    seller = UserFactory(
        email="sales@test.example", first_name="Sofia", last_name="Karali", is_superuser=True
    )
    customer = CustomerFactory(
        name="Aegean Logistics S.A.",
        owner=seller,
        is_ordering_enabled=True,
        is_credit_unlimited=True,
        vat_number="",
        language="en",
    )
    BillingAddressFactory(
        account=customer, street_address="Akti Miaouli 81", city="Piraeus", postal_code="185 38"
    )
    Contact.objects.create(
        account=customer,
        first_name="Giorgos",
        last_name="Papadopoulos",
        email="giorgos@aegean.example",
        is_primary=True,
    )
    suite = ProductFactory(
        name="Cloudwave Office Standard", product_type=ProductTypeFactory(name="Productivity")
    )
    monthly = PlanFactory(product=suite, billing_cycle=BillingCycle.MONTHLY)
    PriceFactory(plan=monthly, currency="EUR", price=Decimal("20.00"))
    backup = ProductFactory(
        name="Cloud Backup 1 TB", product_type=ProductTypeFactory(name="Backup")
    )
    annual = PlanFactory(product=backup, billing_cycle=BillingCycle.ANNUAL)
    PriceFactory(plan=annual, currency="EUR", price=Decimal("100.00"))
    return {"seller": seller, "customer": customer, "monthly": monthly, "annual": annual}


def sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def add_line(page: Any, plan_label: str, quantity: str, discount: str = "0") -> None:
    form = page.locator("#add-item")
    form.locator("#id_plan").select_option(label=plan_label)
    form.locator("#id_quantity").fill(quantity)
    form.locator("#id_discount_percent").fill(discount)
    form.get_by_role("button", name="Add").click()
    page.wait_for_load_state()


def test_offer_to_subscription(
    live_server: Any, page: Any, browser: Any, sales_setup: dict[str, Any], screenshot_dir: Path
) -> None:
    customer = sales_setup["customer"]
    sign_in(page, live_server, sales_setup["seller"].email)

    # when: a new offer for the customer, with S16's two lines
    page.goto(f"{live_server.url}/offers/new/?account={customer.pk}")
    page.fill("#id_name", "Mail and backup for the Piraeus office")
    page.get_by_role("button", name="Save").click()
    offer = Offer.objects.get()
    page.wait_for_url(f"{live_server.url}{offer.get_absolute_url()}")
    add_line(page, "Cloudwave Office Standard · Monthly", "5", "10")
    add_line(page, "Cloud Backup 1 TB · Annual", "2")

    # then: S16's totals
    totals = page.locator("#totals")
    assert totals.locator("[data-total=net]").inner_text() == "€290.00"
    assert totals.locator("[data-total=gross]").inner_text() == "€359.60"
    assert totals.locator("[data-total=mrr]").inner_text() == "€106.67"
    assert page.locator("#convert-offer").count() == 0

    # when: shared as a link
    page.locator("#share-offer").click()
    page.wait_for_selector("#share-link")
    link = page.locator("#share-link").input_value()
    page.screenshot(path=str(screenshot_dir / "offer-detail.png"), full_page=True)

    # when: the customer opens it in a browser of their own and accepts
    customer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    customer_page = customer_context.new_page()
    customer_page.goto(link)
    frame = customer_page.frame_locator("iframe")
    frame.locator(".grand").wait_for()
    assert "359,60" in frame.locator(".grand").inner_text()
    customer_page.fill("#id_name", "Giorgos Papadopoulos")
    customer_page.get_by_role("button", name="Accept offer").click()
    customer_page.wait_for_selector("#offer-response")
    assert "you accepted this offer" in customer_page.locator("#offer-response").inner_text()
    customer_page.screenshot(path=str(screenshot_dir / "offer-public-accepted.png"))
    customer_context.close()
    consent = ConsentRecord.objects.get(reference=offer.number)
    assert (consent.contact_name, consent.ip_address) == ("Giorgos Papadopoulos", "127.0.0.1")

    # when: the salesperson converts the accepted offer and executes the order
    page.reload()
    assert page.locator("#offer-status").inner_text() == "Accepted"
    page.locator("#convert-offer").click()
    order = Order.objects.get()
    page.wait_for_url(f"{live_server.url}{order.get_absolute_url()}")
    assert page.locator("#totals [data-total=gross]").inner_text() == "€359.60"
    page.fill("#id_start_date", timezone.localdate().isoformat())
    page.locator("#execute-order").click()
    page.wait_for_selector("#order-status:has-text('Executed')")
    page.screenshot(path=str(screenshot_dir / "order-executed.png"), full_page=True)

    # then: the account shows the subscriptions the order made
    page.goto(f"{live_server.url}{customer.get_absolute_url()}?tab=orders")
    orders_tab = page.locator("#account-orders")
    subscriptions = Subscription.objects.filter(account=customer).order_by("pk")
    assert [s.product.name for s in subscriptions] == [
        "Cloudwave Office Standard",
        "Cloud Backup 1 TB",
    ]
    for subscription in subscriptions:
        assert subscription.number in orders_tab.inner_text()
    assert "Cloudwave Office Standard \u00d7 5" in orders_tab.inner_text()


def test_the_offer_pdf_as_a_png(
    sales_setup: dict[str, Any], screenshot_dir: Path, tmp_path: Path
) -> None:
    from offers import services

    offer = services.offer_create(
        actor=sales_setup["seller"],
        account=sales_setup["customer"],
        name="Mail and backup for the Piraeus office",
    )
    for plan, quantity, discount in (
        (sales_setup["monthly"], 5, Decimal("10")),
        (sales_setup["annual"], 2, Decimal("0")),
    ):
        services.offer_item_add(
            actor=None,
            offer=offer,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            discount_percent=discount,
        )
    pdf = tmp_path / "offer.pdf"
    pdf.write_bytes(render_offer_pdf(Offer.objects.get(pk=offer.pk)))

    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-singlefile",
            str(pdf),
            str(screenshot_dir / "offer-pdf"),
        ],
        check=True,
    )

    assert (screenshot_dir / "offer-pdf.png").stat().st_size > 10_000
