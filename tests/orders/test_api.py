"""The orders and offers API: same services, field- and item-level JSON errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from offers.models import Offer
from orders.models import Order
from subscriptions.models import Subscription
from tests.catalogue.factories import ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def april_16() -> Any:
    with time_machine.travel(date(2026, 4, 16), tick=False):
        yield


def test_build_and_execute_an_order(
    admin_api: APIClient, customer: Any, make_plan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan = make_plan(EUR="20", name="Cloud Mail")

    created = admin_api.post("/api/v1/orders/", {"account": customer.pk}, format="json")
    assert created.status_code == 201, created.json()
    order_id = created.json()["id"]
    assert created.json()["status"] == "Submitted"
    assert created.json()["name"] == f"Acme Hellas {created.json()['number']}"

    added = admin_api.post(
        f"/api/v1/orders/{order_id}/items/",
        {"plan": plan.pk, "quantity": 5, "discount_percent": "10"},
        format="json",
    )
    assert added.status_code == 201, added.json()
    body = added.json()
    assert (body["net_total"], body["tax_total"], body["gross_total"]) == (
        "90.0000",
        "21.6000",
        "111.6000",
    )
    assert body["items"][0]["unit_price"] == "20.0000"

    with django_capture_on_commit_callbacks(execute=True):
        executed = admin_api.post(
            f"/api/v1/orders/{order_id}/execute/", {"start_date": "2026-04-16"}, format="json"
        )
    assert executed.status_code == 200, executed.json()
    assert executed.json()["order"]["status"] == "Executed"
    assert len(executed.json()["subscriptions"]) == 1

    again = admin_api.post(f"/api/v1/orders/{order_id}/execute/", {}, format="json")
    assert again.json()["already_executed"] is True
    assert Subscription.objects.count() == 1


def test_refusals_are_item_level_json(admin_api: APIClient, customer: Any, make_plan: Any) -> None:
    seats = make_plan(product=ProductFactory(name="Seats", min_quantity=5), EUR="10")
    order_id = admin_api.post("/api/v1/orders/", {"account": customer.pk}, format="json").json()[
        "id"
    ]
    admin_api.post(
        f"/api/v1/orders/{order_id}/items/", {"plan": seats.pk, "quantity": 2}, format="json"
    )

    refused = admin_api.post(f"/api/v1/orders/{order_id}/execute/", {}, format="json")

    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "items.1.quantity": ["Item 1 (Seats): Seats is sold in quantities of at least 5."]
    }
    assert not Subscription.objects.exists()


def test_bad_fields_name_the_field(admin_api: APIClient, customer: Any) -> None:
    order_id = admin_api.post("/api/v1/orders/", {"account": customer.pk}, format="json").json()[
        "id"
    ]

    refused = admin_api.post(
        f"/api/v1/orders/{order_id}/items/", {"plan": 999999, "quantity": 0}, format="json"
    )

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"plan", "quantity"}
    assert not Order.objects.get(pk=order_id).items.exists()


def test_overriding_a_price_without_the_right_is_refused(
    api_client_for: Any, make_user: Any, customer: Any, make_plan: Any
) -> None:
    clerk = make_user("orders.view", "orders.create", "orders.edit", "accounts.view")
    customer.owner = clerk
    customer.save(update_fields=["owner"])
    plan = make_plan(EUR="20")
    api = api_client_for(clerk)
    order_id = api.post("/api/v1/orders/", {"account": customer.pk}, format="json").json()["id"]

    refused = api.post(
        f"/api/v1/orders/{order_id}/items/", {"plan": plan.pk, "unit_price": "1"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "unit_price": ["You may not change the unit price (needs 'Override unit price')."]
    }


def test_an_offer_from_build_to_order(admin_api: APIClient, customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="20", name="Cloud Mail")
    offer = admin_api.post(
        "/api/v1/offers/", {"account": customer.pk, "name": "Mail"}, format="json"
    ).json()
    admin_api.post(
        f"/api/v1/offers/{offer['id']}/items/", {"plan": plan.pk, "quantity": 3}, format="json"
    )

    refused = admin_api.post(f"/api/v1/offers/{offer['id']}/convert/", format="json")
    assert refused.status_code == 400
    assert "Only an accepted offer" in refused.json()["detail"]

    shared = admin_api.post(f"/api/v1/offers/{offer['id']}/share/", {}, format="json")
    assert shared.status_code == 200, shared.json()
    token = shared.json()["link"].rstrip("/").rsplit("/", 1)[1]

    public = APIClient()
    seen = public.get(f"/api/v1/public/offers/{token}/")
    assert seen.status_code == 200
    assert seen.json()["gross_total"] == "74.4000"
    unnamed = public.post(
        f"/api/v1/public/offers/{token}/", {"response": "accepted", "name": ""}, format="json"
    )
    assert unnamed.status_code == 400
    assert set(unnamed.json()["errors"]) == {"name"}
    answered = public.post(
        f"/api/v1/public/offers/{token}/",
        {"response": "accepted", "name": "Eleni Papadopoulou"},
        format="json",
    )
    assert answered.status_code == 200, answered.json()
    assert answered.json()["status"] == "Accepted"

    converted = admin_api.post(f"/api/v1/offers/{offer['id']}/convert/", format="json")
    assert converted.status_code == 201, converted.json()
    assert converted.json()["gross_total"] == "74.4000"
    assert Offer.objects.get(pk=offer["id"]).converted_order_id == converted.json()["id"]
    twice = admin_api.post(f"/api/v1/offers/{offer['id']}/convert/", format="json")
    assert twice.status_code == 400
    assert Order.objects.count() == 1


def test_a_bad_public_token_is_404() -> None:
    assert APIClient().get("/api/v1/public/offers/not-a-token/").status_code == 404
