"""Order and offer pages: lists with pinned query counts and xlsx, detail pages, setup, hooks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from offers import services as offer_services
from offers.models import OfferTemplate
from orders import services, statuses
from orders.models import Order, OrderStatus
from subscriptions.models import Subscription
from tests.catalogue.factories import ProductTypeFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def april_16() -> Any:
    with time_machine.travel(date(2026, 4, 16), tick=False):
        yield


def make_orders(count: int, make_customer: Any, plan: Any) -> list[Order]:
    orders = []
    for index in range(count):
        account = make_customer(name=f"Customer {index:02d}")
        order = services.order_create(actor=None, account=account)
        services.order_item_add(
            actor=None, order=order, product=plan.product, plan=plan, quantity=2
        )
        orders.append(order)
    return orders


def test_the_order_list_query_count_does_not_grow_with_rows(
    admin_client: Client, make_customer: Any, make_plan: Any, django_assert_max_num_queries: Any
) -> None:
    make_orders(30, make_customer, make_plan(EUR="10"))

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("orders:list"))

    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    assert "€24.80" in response.content.decode()


def test_the_order_list_exports_xlsx(
    admin_client: Client, make_customer: Any, make_plan: Any
) -> None:
    make_orders(3, make_customer, make_plan(EUR="10"))

    response = admin_client.get(reverse("orders:list") + "?export=xlsx&account=Customer 01")

    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Number", "Name", "Account")
    assert [row[2] for row in rows[1:]] == ["Customer 01"]


def test_the_offer_list_query_count_does_not_grow_with_rows(
    admin_client: Client, make_customer: Any, make_plan: Any, django_assert_max_num_queries: Any
) -> None:
    plan = make_plan(EUR="10")
    for index in range(30):
        offer = offer_services.offer_create(actor=None, account=make_customer(name=f"Lead {index}"))
        offer_services.offer_item_add(actor=None, offer=offer, product=plan.product, plan=plan)

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("offers:list"))

    assert response.status_code == 200
    assert len(response.context["rows"]) == 25
    export = admin_client.get(reverse("offers:list") + "?export=xlsx")
    sheet = load_workbook(BytesIO(b"".join(export.streaming_content))).active
    assert sheet.max_row == 31


def test_the_order_page_shows_items_totals_and_actions(
    admin_client: Client, customer: Any, make_plan: Any, reduced_rate_type: Any
) -> None:
    plan = make_plan(EUR="20", name="Cloud Mail")
    manuals = make_plan(product_type=reduced_rate_type, EUR="10", name="Printed Manual")
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan, quantity=5)
    services.order_item_add(actor=None, order=order, product=manuals.product, plan=manuals)

    page = admin_client.get(order.get_absolute_url())

    html = page.content.decode()
    assert page.status_code == 200
    assert "Cloud Mail" in html
    assert "Printed Manual" in html
    assert "VAT 13 %" in html
    assert "VAT 24 %" in html
    assert 'id="execute-order"' in html
    assert "Deliver selected items" in html


def test_adding_an_item_through_the_page(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    plan = make_plan(EUR="20")
    order = services.order_create(actor=None, account=customer)

    bad = admin_client.post(
        reverse("orders:item_add", args=[order.pk]),
        {"plan": plan.pk, "quantity": "0", "discount_percent": "0", "action": "new"},
    )
    assert bad.status_code == 400
    assert not order.items.exists()

    good = admin_client.post(
        reverse("orders:item_add", args=[order.pk]),
        {"plan": plan.pk, "quantity": "3", "discount_percent": "5", "action": "new"},
    )
    assert good.status_code == 302
    order.refresh_from_db()
    assert order.net_total == D("57.00")


def test_executing_through_the_page(admin_client: Client, customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="20")
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)

    response = admin_client.post(
        reverse("orders:execute", args=[order.pk]), {"start_date": "2026-04-16"}
    )

    assert response.status_code == 302
    assert Subscription.objects.get().origin_order_item_id == order.items.get().pk
    page = admin_client.get(order.get_absolute_url())
    assert 'id="execute-order"' not in page.content.decode()


def test_creating_an_order_through_the_page(admin_client: Client, customer: Any) -> None:
    response = admin_client.post(
        reverse("orders:create"), {"account": customer.pk, "order_date": "2026-04-16"}
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert order.name == f"Acme Hellas {order.number}"
    assert order.billing_account == customer
    assert order.currency == "EUR"


def test_the_account_page_has_offer_and_order_tabs(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    plan = make_plan(EUR="20")
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)
    offer = offer_services.offer_create(actor=None, account=customer)

    orders_tab = admin_client.get(customer.get_absolute_url() + "?tab=orders")
    offers_tab = admin_client.get(customer.get_absolute_url() + "?tab=offers")

    assert order.number in orders_tab.content.decode()
    assert offer.number in offers_tab.content.decode()


def test_the_dashboard_lists_orders_for_manual_management(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    services.order_status_create(
        actor=None, name="In provisioning", status_type="in_progress", storefront_type="viewable"
    )
    manual = make_plan(
        product_type=ProductTypeFactory(non_auto_new_orders=True), EUR="50", name="Managed Backup"
    )
    order = services.order_create(actor=None, account=customer, status=statuses.mandatory("draft"))
    services.order_item_add(actor=None, order=order, product=manual.product, plan=manual)
    from orders.execution import order_submit

    order_submit(actor=None, order=order)

    page = admin_client.get("/")

    html = page.content.decode()
    assert "Orders for manual management" in html
    assert order.number in html
    assert "€50.00" in html


def test_order_status_setup(admin_client: Client) -> None:
    submitted = OrderStatus.objects.get(system_key="submitted")

    listing = admin_client.get(reverse("orders:status_list"))
    assert listing.status_code == 200
    refused = admin_client.post(reverse("orders:status_delete", args=[submitted.pk]))
    assert refused.status_code == 302
    assert OrderStatus.objects.filter(pk=submitted.pk).exists()
    duplicate = admin_client.post(
        reverse("orders:status_create"),
        {
            "name": "Basket",
            "status_type": "in_progress",
            "storefront_type": "draft",
            "is_active": "on",
            "color": "#000000",
            "position": "5",
        },
    )
    assert duplicate.status_code == 400
    assert "only one status may hold it" in duplicate.content.decode()


def test_the_offer_template_editor_previews_unsaved_values(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    plan = make_plan(EUR="20")
    offer = offer_services.offer_create(actor=None, account=customer)
    offer_services.offer_item_add(actor=None, offer=offer, product=plan.product, plan=plan)
    values = {
        "primary_color": "#7a1f5c",
        "accent_color": "#2f80ed",
        "header_text": "Our best proposal yet",
        "footer_text": "",
        "terms": "Net 30.",
        "show_signature_block": "on",
    }

    preview = admin_client.post(reverse("offers:template_preview"), values)

    assert "#7a1f5c" in preview.content.decode()
    assert "Our best proposal yet" in preview.content.decode()
    assert not OfferTemplate.objects.exists()
    saved = admin_client.post(reverse("offers:template"), values)
    assert saved.status_code == 302
    assert OfferTemplate.objects.get().primary_color == "#7a1f5c"
    bad = admin_client.post(reverse("offers:template"), {**values, "primary_color": "red"})
    assert bad.status_code == 400


def test_the_offer_page_and_convert_button(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    plan = make_plan(EUR="20")
    offer = offer_services.offer_create(actor=None, account=customer)
    offer_services.offer_item_add(actor=None, offer=offer, product=plan.product, plan=plan)

    page = admin_client.get(offer.get_absolute_url())
    assert page.status_code == 200
    assert 'id="convert-offer"' not in page.content.decode()

    admin_client.post(
        reverse("offers:status_change", args=[offer.pk]),
        {"status": offer_services.default_status("accepted").pk},
    )
    page = admin_client.get(offer.get_absolute_url())
    assert 'id="convert-offer"' in page.content.decode()
    converted = admin_client.post(reverse("offers:convert", args=[offer.pk]))
    order = Order.objects.get()
    assert converted["Location"] == order.get_absolute_url()


def test_a_quantity_change_through_the_page_picks_a_live_subscription(
    admin_client: Client, customer: Any, make_plan: Any
) -> None:
    from subscriptions import services as subscription_services

    plan = make_plan(EUR="10", name="Seats")
    seats = subscription_services.subscription_create(
        actor=None,
        account=customer,
        product=plan.product,
        plan=plan,
        quantity=10,
        start_date=date(2026, 4, 16),
    )
    order = services.order_create(actor=None, account=customer)

    page = admin_client.get(order.get_absolute_url())
    assert f"{seats.number} · Seats × 10" in page.content.decode()  # noqa: RUF001 - a times sign
    admin_client.post(
        reverse("orders:item_add", args=[order.pk]),
        {
            "plan": plan.pk,
            "quantity": "15",
            "discount_percent": "0",
            "action": "change_quantity",
            "target_subscription": seats.pk,
        },
    )
    admin_client.post(reverse("orders:execute", args=[order.pk]), {"start_date": "2026-04-16"})

    seats.refresh_from_db()
    assert seats.quantity == 15
