"""Catalogue pages: lists with pinned query counts, forms that call the services, permissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalogue import services
from catalogue.models import (
    BillingCycle,
    ChargeType,
    PriceList,
    PriceListItem,
    Product,
    ProductKind,
    ProductPlan,
    Promotion,
    VolumeDiscount,
)
from catalogue.services import PriceInput

pytestmark = pytest.mark.django_db

D = Decimal


def make_product(code: str, name: str | None = None, **fields: Any) -> Product:
    fields.setdefault("kind", ProductKind.PRIMARY)
    return services.product_create(actor=None, code=code, name=name or code.title(), **fields)


def make_plan(
    product: Product, prices: dict[str, str], cycle: str = BillingCycle.MONTHLY
) -> ProductPlan:
    return services.plan_create(
        actor=None,
        product=product,
        billing_cycle=cycle,
        charge_type=ChargeType.RECURRING_PREPAID,
        prices={code: PriceInput(price=D(amount)) for code, amount in prices.items()},
    )


def plan_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "billing_cycle": "monthly",
        "commitment_months": "0",
        "charge_type": "recurring_prepaid",
        "usage_charge_rule": "per_diem",
        "billing_date_rule": "customer",
        "billing_day": "",
        "auto_renew": "on",
        "trial_days": "0",
        "trial_once_per_account": "on",
        "position": "0",
    }
    data.update(overrides)
    return data


# ------------------------------------------------------------------------------ products


def test_product_list_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    family = services.product_type_create(actor=None, code="SUITE", name="Suites")
    software = services.category_create(actor=None, name="Software")
    for number in range(30):
        product = make_product(f"P{number:02d}", product_type=family, category=software)
        make_plan(product, {"EUR": "1"})

    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("catalogue:product_list"))

    assert response.status_code == 200
    assert b"P00" in response.content


def test_product_list_filters_by_currency_and_exports(admin_client: Client) -> None:
    make_plan(make_product("EURO", "Euro mailbox"), {"EUR": "1"})
    make_plan(make_product("DOLLAR", "Dollar mailbox"), {"USD": "1"})

    page = admin_client.get(reverse("catalogue:product_list"), {"currency": "usd"})
    export = admin_client.get(reverse("catalogue:product_list"), {"export": "xlsx"})

    assert b"Dollar mailbox" in page.content
    assert b"Euro mailbox" not in page.content
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_product_list_answers_htmx_with_the_results_only(admin_client: Client) -> None:
    make_product("MAIL", "Mailbox")

    response = admin_client.get(reverse("catalogue:product_list"), HTTP_HX_REQUEST="true")

    assert b"Mailbox" in response.content
    assert b"<html" not in response.content


def test_create_a_product_then_a_plan_in_two_currencies(
    catalogue_manager: Any, client_for: Any
) -> None:
    # given
    client = client_for(catalogue_manager)
    # when
    created = client.post(
        reverse("catalogue:product_create"),
        {
            "kind": "primary",
            "code": "MAIL-50",
            "name": "Mailbox 50 GB",
            "unit_of_measure": "mailbox",
            "is_taxable": "on",
            "min_quantity": "1",
        },
    )
    product = Product.objects.get(code="MAIL-50")
    planned = client.post(
        reverse("catalogue:plan_create", args=[product.pk]),
        plan_post(price_EUR="4.50", price_USD="4.95", setup_USD="10", cost_EUR="2"),
    )
    # then
    assert created.status_code == 302
    assert created.url == product.get_absolute_url()
    assert planned.status_code == 302
    plan = product.plans.get()
    assert sorted(plan.prices.values_list("currency", "price", "setup_fee", "cost_price")) == [
        ("EUR", D("4.5000"), D("0.0000"), D("2.0000")),
        ("USD", D("4.9500"), D("10.0000"), None),
    ]


def test_a_duplicate_code_comes_back_on_the_code_field(admin_client: Client) -> None:
    make_product("MAIL")

    response = admin_client.post(
        reverse("catalogue:product_create"),
        {
            "kind": "primary",
            "code": "MAIL",
            "name": "Other",
            "unit_of_measure": "unit",
            "min_quantity": "1",
        },
    )

    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert Product.objects.count() == 1


def test_a_clashing_plan_is_shown_on_the_form(admin_client: Client) -> None:
    product = make_product("MAIL")

    response = admin_client.post(
        reverse("catalogue:plan_create", args=[product.pk]),
        plan_post(billing_date_rule="specific_day", billing_day="30", price_EUR="4"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors["billing_day"] == [
        "A specific billing day is between 1 and 28."
    ]
    assert not ProductPlan.objects.exists()


def test_editing_a_plan_changes_and_removes_prices(admin_client: Client) -> None:
    product = make_product("MAIL")
    plan = make_plan(product, {"EUR": "4", "USD": "5"})

    response = admin_client.post(
        reverse("catalogue:plan_edit", args=[plan.pk]),
        plan_post(price_EUR="4.20", exclude_from_proration="on"),
    )

    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.exclude_from_proration is True
    assert list(plan.prices.values_list("currency", "price")) == [("EUR", D("4.2000"))]


def test_product_detail_shows_prices_relations_and_price_lists(
    admin_client: Client, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    suite = make_product("SUITE", "Office Suite")
    make_plan(suite, {"EUR": "12.00", "GBP": "10.50"})
    make_plan(suite, {"EUR": "120.00"}, cycle=BillingCycle.ANNUAL)
    security = make_product("SEC", "Advanced Security")
    services.requirement_add(actor=None, product=security, required_product=suite)
    partners = services.price_list_create(actor=admin_user, name="Partners EUR", currency="EUR")
    services.price_list_add_product(
        actor=None, price_list=partners, product=suite, method="percent", percent=D("-20")
    )
    for cycle in (BillingCycle.TRIENNIAL,):
        make_plan(suite, {"EUR": "300.00", "GBP": "260.00"}, cycle=cycle)
    # when
    with django_assert_max_num_queries(22):
        response = admin_client.get(suite.get_absolute_url())
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "Partners EUR" in body
    assert "Required by" in body
    assert "Advanced Security" in body
    assert response.context["currencies"] == ["EUR", "GBP"]
    prices = [[p.price if p else None for p in row] for _plan, row in response.context["plan_rows"]]
    assert prices == [
        [D("12.0000"), D("10.5000")],
        [D("120.0000"), None],
        [D("300.0000"), D("260.0000")],
    ]


def test_relations_are_added_from_the_detail_page(admin_client: Client) -> None:
    basic = make_product("BASIC", "Suite Basic")
    premium = make_product("PREMIUM", "Suite Premium")

    response = admin_client.post(
        reverse("catalogue:relation_add", args=[basic.pk]),
        {"relation": "upgrades_to", "other": premium.pk},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "Suite Basic and Suite Premium are not of the same product type; upgrade paths stay "
        "within one type."
    ]


def test_retire_from_the_detail_page(admin_client: Client) -> None:
    product = make_product("MAIL")

    response = admin_client.post(reverse("catalogue:product_retire", args=[product.pk]))

    product.refresh_from_db()
    assert response.status_code == 302
    assert product.status == "retired"


# ---------------------------------------------------------------------- other catalogue


def test_deleting_a_used_category_shows_why(admin_client: Client) -> None:
    software = services.category_create(actor=None, name="Software")
    make_product("MAIL", "Mailbox", category=software)

    response = admin_client.post(
        reverse("catalogue:category_delete", args=[software.pk]), follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "The category Software still holds products (Mailbox); move them to another category first."
    ]


def test_create_a_volume_discount_with_tiers(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("catalogue:volume_discount_create"),
        {
            "name": "Seats",
            "mode": "scale",
            "currency": "EUR",
            "tiers-TOTAL_FORMS": "3",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-from_quantity": "1",
            "tiers-0-to_quantity": "20",
            "tiers-0-unit_price": "10",
            "tiers-1-from_quantity": "21",
            "tiers-1-to_quantity": "",
            "tiers-1-unit_price": "8.5",
            "tiers-2-from_quantity": "",
        },
    )

    assert response.status_code == 302
    discount = VolumeDiscount.objects.get()
    assert list(discount.tiers.values_list("from_quantity", "to_quantity", "unit_price")) == [
        (1, 20, D("10.0000")),
        (21, None, D("8.5000")),
    ]


def test_a_gap_in_tiers_is_refused_on_the_form(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("catalogue:volume_discount_create"),
        {
            "name": "Seats",
            "mode": "scale",
            "currency": "EUR",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-from_quantity": "1",
            "tiers-0-to_quantity": "20",
            "tiers-0-unit_price": "10",
            "tiers-1-from_quantity": "25",
            "tiers-1-unit_price": "8.5",
        },
    )

    assert response.status_code == 200
    assert "expected a tier starting at 21, got 25" in response.content.decode()
    assert not VolumeDiscount.objects.exists()


def test_create_a_promotion(admin_client: Client) -> None:
    product = make_product("MAIL")
    make_plan(product, {"EUR": "15"})

    response = admin_client.post(
        reverse("catalogue:promotion_create"),
        {
            "name": "Spring",
            "start_date": "2025-05-01",
            "end_date": "2025-05-31",
            "is_active": "on",
            "kind": "limited_recurring",
            "cycles": "2",
            "discount_type": "percentage",
            "percent": "20",
            "for_monthly": "on",
            "eligibility": "new",
            "products": [product.pk],
        },
    )

    assert response.status_code == 302
    promotion = Promotion.objects.get()
    assert (promotion.cycles, promotion.for_annual, promotion.start_date) == (
        2,
        False,
        date(2025, 5, 1),
    )


@pytest.mark.parametrize(
    "url_name",
    [
        "catalogue:category_list",
        "catalogue:product_type_list",
        "catalogue:group_list",
        "catalogue:volume_discount_list",
        "catalogue:promotion_list",
        "catalogue:category_create",
        "catalogue:product_type_create",
        "catalogue:group_create",
        "catalogue:volume_discount_create",
        "catalogue:promotion_create",
        "catalogue:product_create",
        "catalogue:price_list_create",
    ],
)
def test_every_catalogue_page_renders(admin_client: Client, url_name: str) -> None:
    assert admin_client.get(reverse(url_name)).status_code == 200


# --------------------------------------------------------------------------- permissions


def test_viewers_cannot_write(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("products.view", "price_lists.view"))
    product = make_product("MAIL")

    assert client.get(reverse("catalogue:product_list")).status_code == 200
    assert client.get(product.get_absolute_url()).status_code == 200
    assert client.get(reverse("catalogue:product_create")).status_code == 403
    assert client.post(reverse("catalogue:product_retire", args=[product.pk])).status_code == 403


def test_price_lists_follow_record_visibility(make_user: Any, client_for: Any) -> None:
    # given
    owner = make_user("price_lists.view", "price_lists.edit", "products.view")
    stranger = make_user("price_lists.view", "products.view")
    mine = services.price_list_create(actor=owner, name="Mine", currency="EUR")
    product = make_product("MAIL", "Mailbox")
    make_plan(product, {"EUR": "4"})
    services.price_list_add_product(
        actor=None, price_list=mine, product=product, method="percent", percent=D("-5")
    )
    # when
    owner_list = client_for(owner).get(reverse("catalogue:price_list_list"))
    stranger_list = client_for(stranger).get(reverse("catalogue:price_list_list"))
    stranger_detail = client_for(stranger).get(mine.get_absolute_url())
    stranger_product = client_for(stranger).get(product.get_absolute_url())
    # then
    assert b"Mine" in owner_list.content
    assert b"Mine" not in stranger_list.content
    assert stranger_detail.status_code == 404
    assert stranger_product.context["memberships"] == []


# --------------------------------------------------------------------------- price lists


def test_price_list_list_query_count(
    admin_client: Client, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(25):
        services.price_list_create(actor=admin_user, name=f"List {number}", currency="EUR")

    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("catalogue:price_list_list"))

    assert response.status_code == 200


def test_create_a_price_list_and_add_a_product(admin_client: Client, admin_user: Any) -> None:
    # given
    product = make_product("MAIL", "Mailbox")
    monthly = make_plan(product, {"EUR": "4", "USD": "5"})
    dollars_only = make_plan(make_product("USD-ONLY"), {"USD": "5"})
    # when
    created = admin_client.post(
        reverse("catalogue:price_list_create"),
        {"name": "Resellers EUR", "currency": "EUR", "is_active": "on"},
    )
    price_list = PriceList.objects.get(name="Resellers EUR")
    refused = admin_client.post(
        reverse("catalogue:price_list_item_add", args=[price_list.pk]),
        {"plan": dollars_only.pk, "method": "percent", "percent": "-20", "is_visible": "on"},
    )
    added = admin_client.post(
        reverse("catalogue:price_list_item_add", args=[price_list.pk]),
        {"plan": monthly.pk, "method": "percent", "percent": "-20", "is_visible": "on"},
    )
    detail = admin_client.get(price_list.get_absolute_url())
    # then
    assert created.status_code == 302
    assert price_list.owner == admin_user
    assert "plan" in refused.context["form"].errors
    assert added.status_code == 302
    assert b"Mailbox" in detail.content
    item = PriceListItem.objects.get()
    assert (item.plan, item.percent) == (monthly, D("-20.0000"))


def test_copy_a_price_list_from_its_page(admin_client: Client, admin_user: Any) -> None:
    source = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")

    response = admin_client.post(
        reverse("catalogue:price_list_copy", args=[source.pk]), {"name": "Partners 2026"}
    )

    copy = PriceList.objects.get(name="Partners 2026")
    assert response.url == copy.get_absolute_url()


def test_price_list_detail_query_count_does_not_grow_with_items(
    admin_client: Client, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    price_list = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")
    for number in range(20):
        product = make_product(f"P{number:02d}")
        make_plan(product, {"EUR": "10"})
        services.price_list_add_product(
            actor=None, price_list=price_list, product=product, method="percent", percent=D("-5")
        )

    with django_assert_max_num_queries(9):
        response = admin_client.get(price_list.get_absolute_url())

    assert len(response.context["rows"]) == 20
