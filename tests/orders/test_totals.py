"""Order totals to the cent: discounts, one line per tax rate, JPY, monthly run rate (S16)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalogue.models import BillingCycle
from orders import services

pytestmark = pytest.mark.django_db

D = Decimal


def test_worked_example_s16(customer: Any, make_plan: Any) -> None:
    # given: item 1 = 5 x 20.00 monthly with 10 % off; item 2 = 2 x 100.00 annual; VAT 24 %
    monthly = make_plan(EUR="20")
    annual = make_plan(cycle=BillingCycle.ANNUAL, EUR="100")
    order = services.order_create(actor=None, account=customer)

    # when
    services.order_item_add(
        actor=None,
        order=order,
        product=monthly.product,
        plan=monthly,
        quantity=5,
        discount_percent=D("10"),
    )
    services.order_item_add(
        actor=None, order=order, product=annual.product, plan=annual, quantity=2
    )
    order.refresh_from_db()

    # then
    assert order.discount_total == D("10.00")
    assert order.net_total == D("290.00")
    assert order.tax_total == D("69.60")
    assert order.gross_total == D("359.60")
    assert order.monthly_run_rate == D("106.67")


def test_two_tax_rates_give_two_tax_lines(
    customer: Any, make_plan: Any, reduced_rate_type: Any
) -> None:
    from orders.selectors import items_of
    from orders.totals import compute_totals

    standard = make_plan(EUR="33.33")
    reduced = make_plan(product_type=reduced_rate_type, EUR="12.49")
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(
        actor=None, order=order, product=standard.product, plan=standard, quantity=3
    )
    services.order_item_add(
        actor=None,
        order=order,
        product=reduced.product,
        plan=reduced,
        quantity=7,
        discount_percent=D("12.5"),
    )

    totals = compute_totals(
        list(items_of(order)), currency="EUR", billing_account=order.billing_account
    )

    # 3 x 33.33 = 99.99; 7 x 12.49 = 87.43, 12.5 % = 10.93 (10.92875), net 76.50
    assert [line.net for line in totals.lines] == [D("99.99"), D("76.50")]
    assert [(tax.label, tax.base, tax.amount) for tax in totals.tax_lines] == [
        ("VAT 13 %", D("76.50"), D("9.95")),
        ("VAT 24 %", D("99.99"), D("24.00")),
    ]
    assert totals.discount_total == D("10.93")
    assert totals.net_total == D("176.49")
    assert totals.tax_total == D("33.95")
    assert totals.gross_total == D("210.44")


def test_a_jpy_order_rounds_to_whole_yen(make_customer: Any, make_plan: Any) -> None:
    tokyo = make_customer(currency="JPY", address_country="JP", name="Sakura KK")
    plan = make_plan(JPY="1234.5")
    yearly = make_plan(cycle=BillingCycle.ANNUAL, JPY="9999")
    order = services.order_create(actor=None, account=tokyo)

    services.order_item_add(
        actor=None,
        order=order,
        product=plan.product,
        plan=plan,
        quantity=3,
        discount_percent=D("7"),
    )
    services.order_item_add(actor=None, order=order, product=yearly.product, plan=yearly)
    order.refresh_from_db()

    # 3 x 1234.5 = 3703.5 -> 3704; 7 % = 259.28 -> 259; net 3445; plus 9999 annual
    assert order.currency == "JPY"
    assert order.discount_total == D("259")
    assert order.net_total == D("13444")
    assert order.tax_total == D("0")  # no Japanese tax rule: none applies
    assert order.gross_total == D("13444")
    # 3445 monthly + 9999 / 12 = 833.25 -> 833
    assert order.monthly_run_rate == D("4278")


def test_a_tax_exempt_account_pays_no_tax(make_customer: Any, make_plan: Any) -> None:
    exempt = make_customer(is_taxable=False)
    plan = make_plan(EUR="100")
    order = services.order_create(actor=None, account=exempt)

    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)
    order.refresh_from_db()

    assert (order.net_total, order.tax_total, order.gross_total) == (D("100"), D("0"), D("100"))


def test_one_off_items_add_nothing_to_the_run_rate(customer: Any, make_plan: Any) -> None:
    setup_fee = make_plan(cycle=BillingCycle.ONE_TIME, EUR="150")
    order = services.order_create(actor=None, account=customer)

    services.order_item_add(actor=None, order=order, product=setup_fee.product, plan=setup_fee)
    order.refresh_from_db()

    assert order.net_total == D("150.00")
    assert order.monthly_run_rate == D("0")


def test_overriding_the_price_needs_the_permission_and_is_recorded(
    customer: Any, make_plan: Any, make_user: Any
) -> None:
    from django.core.exceptions import ValidationError

    plan = make_plan(EUR="20")
    order = services.order_create(actor=None, account=customer)
    clerk = make_user("orders.edit")
    manager = make_user("orders.edit", "orders.override_price")

    with pytest.raises(ValidationError, match="Override unit price"):
        services.order_item_add(
            actor=clerk, order=order, product=plan.product, plan=plan, unit_price=D("15")
        )
    assert not order.items.exists()

    item = services.order_item_add(
        actor=manager, order=order, product=plan.product, plan=plan, unit_price=D("15")
    )

    assert (item.unit_price, item.list_unit_price) == (D("15"), D("20"))
    assert item.is_price_overridden
    assert item.price_overridden_by == manager
