"""The catalogue API: products with prices, price lists with items, and the price quote."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalogue import services
from catalogue.models import PriceList, PriceListItem, Product, ProductPlan
from catalogue.services import PriceInput

pytestmark = pytest.mark.django_db

D = Decimal


def make_product(code: str, prices: dict[str, str]) -> tuple[Product, ProductPlan]:
    product = services.product_create(actor=None, kind="primary", code=code, name=code.title())
    plan = services.plan_create(
        actor=None,
        product=product,
        billing_cycle="monthly",
        charge_type="recurring_prepaid",
        prices={currency: PriceInput(price=D(amount)) for currency, amount in prices.items()},
    )
    return product, plan


def test_create_a_product_and_add_a_plan_with_two_currencies(admin_api: APIClient) -> None:
    # when
    created = admin_api.post(
        "/api/v1/catalogue/products/",
        {"kind": "primary", "code": "MAIL", "name": "Mailbox", "unit_of_measure": "mailbox"},
    )
    product_id = created.json()["id"]
    planned = admin_api.post(
        f"/api/v1/catalogue/products/{product_id}/plans/",
        {
            "billing_cycle": "annual",
            "charge_type": "recurring_prepaid",
            "commitment_months": 12,
            "prices": [
                {"currency": "EUR", "price": "48.00", "setup_fee": "10"},
                {"currency": "usd", "price": "52.80"},
            ],
        },
    )
    detail = admin_api.get(f"/api/v1/catalogue/products/{product_id}/")
    # then
    assert created.status_code == 201
    assert planned.status_code == 201, planned.json()
    plans = detail.json()["plans"]
    assert [(p["billing_cycle"], p["commitment_months"]) for p in plans] == [("annual", 12)]
    assert [(p["currency"], p["price"], p["setup_fee"]) for p in plans[0]["prices"]] == [
        ("EUR", "48.0000", "10.0000"),
        ("USD", "52.8000", "0.0000"),
    ]


def test_errors_name_the_field(admin_api: APIClient) -> None:
    make_product("MAIL", {"EUR": "4"})
    product = Product.objects.get()

    duplicate = admin_api.post(
        "/api/v1/catalogue/products/", {"kind": "primary", "code": "MAIL", "name": "Again"}
    )
    bad_currency = admin_api.post(
        f"/api/v1/catalogue/products/{product.pk}/plans/",
        {
            "billing_cycle": "annual",
            "charge_type": "recurring_prepaid",
            "prices": [{"currency": "CHF", "price": "1"}],
        },
    )

    assert duplicate.status_code == 400
    assert list(duplicate.json()["errors"]) == ["code"]
    assert bad_currency.status_code == 400
    assert bad_currency.json()["errors"] == {
        "currency": ["CHF is not an active currency of the organization."]
    }
    assert ProductPlan.objects.count() == 1


def test_products_filter_by_currency(admin_api: APIClient) -> None:
    make_product("EURO", {"EUR": "1"})
    make_product("DOLLAR", {"USD": "1"})

    response = admin_api.get("/api/v1/catalogue/products/", {"currency": "usd"})

    assert [row["code"] for row in response.json()["results"]] == ["DOLLAR"]


def test_price_lists_with_items_and_visibility(make_user: Any, api_client_for: Any) -> None:
    # given
    owner = make_user("price_lists.view", "price_lists.create", "price_lists.edit")
    stranger = make_user("price_lists.view", "price_lists.edit")
    _product, plan = make_product("MAIL", {"EUR": "4"})
    client = api_client_for(owner)
    # when
    created = client.post(
        "/api/v1/catalogue/price-lists/", {"name": "Resellers", "currency": "EUR"}
    )
    price_list_id = created.json()["id"]
    item = client.post(
        "/api/v1/catalogue/price-list-items/",
        {"price_list": price_list_id, "plan": plan.pk, "method": "percent", "percent": "-20"},
    )
    mine = client.get(f"/api/v1/catalogue/price-lists/{price_list_id}/")
    theirs = api_client_for(stranger).get(f"/api/v1/catalogue/price-lists/{price_list_id}/")
    sneaky = api_client_for(stranger).post(
        "/api/v1/catalogue/price-list-items/",
        {"price_list": price_list_id, "plan": plan.pk, "method": "fixed", "fixed_price": "0"},
    )
    # then
    assert created.status_code == 201
    assert item.status_code == 201, item.json()
    assert [(i["product_code"], i["method"], i["percent"]) for i in mine.json()["items"]] == [
        ("MAIL", "percent", "-20.0000")
    ]
    assert theirs.status_code == 404
    assert sneaky.status_code == 400
    assert list(sneaky.json()["errors"]) == ["price_list"]
    assert PriceListItem.objects.get().percent == D("-20")


def test_a_plan_not_priced_in_the_list_currency_is_refused(admin_api: APIClient) -> None:
    _product, plan = make_product("MAIL", {"USD": "4"})
    created = admin_api.post(
        "/api/v1/catalogue/price-lists/", {"name": "EUR list", "currency": "EUR"}
    ).json()

    response = admin_api.post(
        "/api/v1/catalogue/price-list-items/",
        {"price_list": created["id"], "plan": plan.pk, "method": "fixed", "fixed_price": "3"},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "plan": ["Mail has no EUR price for the Monthly plan, so it cannot be added to EUR list."]
    }


def test_switching_an_item_from_percent_to_fixed(admin_api: APIClient, admin_user: Any) -> None:
    _product, plan = make_product("MAIL", {"EUR": "4"})
    price_list = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")
    item = services.price_list_item_set(
        actor=None, price_list=price_list, plan=plan, method="percent", percent=D("-20")
    )

    response = admin_api.patch(
        f"/api/v1/catalogue/price-list-items/{item.pk}/", {"method": "fixed", "fixed_price": "3.5"}
    )

    assert response.status_code == 200, response.json()
    item.refresh_from_db()
    assert (item.method, item.fixed_price, item.percent) == ("fixed", D("3.5"), None)


def test_copy_a_price_list(admin_api: APIClient, admin_user: Any) -> None:
    source = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")

    response = admin_api.post(
        f"/api/v1/catalogue/price-lists/{source.pk}/copy/", {"name": "Partners 2"}
    )

    assert response.status_code == 201
    assert PriceList.objects.filter(name="Partners 2", is_default=False).exists()


def test_a_quote_in_jpy_with_a_price_list(admin_api: APIClient, admin_user: Any) -> None:
    # given
    product, plan = make_product("MAIL", {"JPY": "1234"})
    yen = services.price_list_create(actor=admin_user, name="Yen", currency="JPY")
    services.price_list_item_set(
        actor=None, price_list=yen, plan=plan, method="percent", percent=D("-7.5")
    )
    # when
    response = admin_api.post(
        "/api/v1/catalogue/quote/",
        {
            "product": product.pk,
            "plan": plan.pk,
            "currency": "jpy",
            "quantity": "3",
            "date": "2025-05-10",
            "price_lists": [yen.pk],
        },
    )
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {key: body[key] for key in ("source", "price_list_name", "unit_price", "total")} == {
        "source": "price_list_percent",
        "price_list_name": "Yen",
        "unit_price": "1141.4500",
        "total": "3424",
    }
    assert body["on_date"] == "2025-05-10"


def test_a_quote_with_a_promotion(make_user: Any, api_client_for: Any) -> None:
    product, plan = make_product("MAIL", {"EUR": "15"})
    services.promotion_create(
        actor=None,
        products=[product],
        name="Welcome",
        start_date=date(2025, 5, 1),
        end_date=date(2025, 5, 31),
        kind="limited_recurring",
        cycles=2,
        discount_type="percentage",
        percent=D("20"),
        eligibility="new",
    )
    client = api_client_for(make_user("products.view"))

    response = client.post(
        "/api/v1/catalogue/quote/",
        {
            "product": product.pk,
            "plan": plan.pk,
            "currency": "EUR",
            "quantity": 4,
            "date": "2025-06-10",
            "ordered_on": "2025-05-10",
            "cycle_number": 2,
            "is_new_customer": True,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["subtotal"], body["discount_amount"], body["total"], body["promotion_name"]) == (
        "60.00",
        "12.00",
        "48.00",
        "Welcome",
    )


def test_a_quote_refuses_an_invisible_price_list(
    make_user: Any, api_client_for: Any, admin_user: Any
) -> None:
    product, plan = make_product("MAIL", {"EUR": "15"})
    hidden = services.price_list_create(actor=admin_user, name="Hidden", currency="EUR")
    client = api_client_for(make_user("products.view"))

    response = client.post(
        "/api/v1/catalogue/quote/",
        {
            "product": product.pk,
            "plan": plan.pk,
            "currency": "EUR",
            "quantity": 1,
            "price_lists": [hidden.pk],
        },
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["price_lists"]


def test_a_quote_in_a_currency_without_price_names_the_field(admin_api: APIClient) -> None:
    product, plan = make_product("MAIL", {"EUR": "15"})

    response = admin_api.post(
        "/api/v1/catalogue/quote/",
        {"product": product.pk, "plan": plan.pk, "currency": "GBP", "quantity": 1},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "currency": ["Mail has no GBP price for the Monthly plan."]
    }


def test_the_catalogue_needs_its_module_right(make_user: Any, api_client_for: Any) -> None:
    client = api_client_for(make_user("accounts.view"))

    assert client.get("/api/v1/catalogue/products/").status_code == 403
    assert client.get("/api/v1/catalogue/price-lists/").status_code == 403
    assert client.post("/api/v1/catalogue/quote/", {}).status_code == 403


def test_category_delete_with_products_is_refused(admin_api: APIClient) -> None:
    category = services.category_create(actor=None, name="Software")
    services.product_create(
        actor=None, kind="primary", code="MAIL", name="Mailbox", category=category
    )

    response = admin_api.delete(f"/api/v1/catalogue/categories/{category.pk}/")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": [
            "The category Software still holds products (Mailbox); move them to another category first."
        ]
    }


def test_the_product_list_query_count_does_not_grow(
    admin_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    for number in range(15):
        make_product(f"P{number:02d}", {"EUR": "1", "USD": "2"})

    with django_assert_max_num_queries(10):
        response = admin_api.get("/api/v1/catalogue/products/")

    assert response.json()["count"] == 15
