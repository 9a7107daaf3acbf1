"""The price resolver to the cent: list price, price lists, volume tiers, promotions, JPY."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from catalogue import services
from catalogue.models import (
    BillingCycle,
    ChargeType,
    DiscountType,
    Eligibility,
    PriceMethod,
    Product,
    ProductKind,
    ProductPlan,
    PromotionKind,
    VolumeMode,
)
from catalogue.pricing import PriceSource, Tier, quote_price, tier_lines
from catalogue.services import PriceInput

pytestmark = pytest.mark.django_db

D = Decimal
DAY = date(2025, 5, 10)
S17_TIERS = [(1, 20, D("10.00")), (21, 30, D("8.50")), (31, 40, D("7.00"))]


def make_product(code: str = "M", **fields: Any) -> Product:
    return services.product_create(
        actor=None, kind=ProductKind.PRIMARY, code=code, name=f"Product {code}", **fields
    )


def make_plan(
    product: Product,
    prices: dict[str, str],
    cycle: str = BillingCycle.MONTHLY,
    charge_type: str = ChargeType.RECURRING_PREPAID,
    volume_discount: Any = None,
    cost: str | None = None,
) -> ProductPlan:
    return services.plan_create(
        actor=None,
        product=product,
        billing_cycle=cycle,
        charge_type=charge_type,
        prices={
            currency: PriceInput(
                price=D(amount),
                volume_discount=volume_discount,
                cost_price=D(cost) if cost else None,
            )
            for currency, amount in prices.items()
        },
    )


def quote(product: Product, plan: ProductPlan, currency: str, quantity: int, **kwargs: Any) -> Any:
    kwargs.setdefault("on_date", DAY)
    return quote_price(product=product, plan=plan, currency=currency, quantity=quantity, **kwargs)


# ----------------------------------------------------------------------------- list price


def test_it_prices_at_the_list_price_without_price_lists() -> None:
    # given
    product = make_product()
    plan = make_plan(product, {"EUR": "12.50", "JPY": "1234"}, cost="7.25")
    # when
    eur = quote(product, plan, "EUR", 3)
    jpy = quote(product, plan, "JPY", 2)
    # then
    assert eur.source == PriceSource.LIST_PRICE
    assert (eur.unit_price, eur.subtotal, eur.total) == (D("12.5000"), D("37.50"), D("37.50"))
    assert eur.cost_price == D("7.2500")
    assert eur.price_list_id is None
    assert (jpy.unit_price, jpy.total) == (D("1234.0000"), D("2468"))
    assert str(jpy.total) == "2468"


def test_it_refuses_a_currency_the_plan_has_no_price_in() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "12.50"})

    with pytest.raises(ValidationError) as refused:
        quote(product, plan, "USD", 1)

    assert refused.value.message_dict == {
        "currency": ["Product M has no USD price for the Monthly plan."]
    }


def test_it_refuses_a_plan_of_another_product() -> None:
    product = make_product()
    other = make_product("N")
    plan = make_plan(other, {"EUR": "1"})

    with pytest.raises(ValidationError) as refused:
        quote(product, plan, "EUR", 1)

    assert refused.value.message_dict == {"plan": ["The plan Monthly is not a plan of Product M."]}


# -------------------------------------------------------------------------- volume tiers


@pytest.mark.parametrize(
    ("mode", "quantity", "total"),
    [
        (VolumeMode.SCALE, 33, "306.00"),
        (VolumeMode.CONTINUOUS, 33, "231.00"),
        (VolumeMode.SCALE, 21, "208.50"),
        (VolumeMode.CONTINUOUS, 21, "178.50"),
        (VolumeMode.SCALE, 20, "200.00"),
        (VolumeMode.CONTINUOUS, 20, "200.00"),
    ],
)
def test_volume_tiers_match_worked_example_s17(mode: str, quantity: int, total: str) -> None:
    # given
    discount = services.volume_discount_create(
        actor=None, name="Seats", mode=mode, currency="EUR", tiers=S17_TIERS
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"}, volume_discount=discount)
    # when
    result = quote(product, plan, "EUR", quantity)
    # then
    assert result.total == D(total)
    assert result.volume_mode == mode


def test_scale_mode_lists_each_tier_of_the_line() -> None:
    tiers = [Tier(a, b, price) for a, b, price in S17_TIERS]

    lines = tier_lines(tiers, D(33), VolumeMode.SCALE)

    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (D(20), D("10.00"), D("200.00")),
        (D(10), D("8.50"), D("85.00")),
        (D(3), D("7.00"), D("21.00")),
    ]


def test_scale_mode_reports_the_average_unit_price() -> None:
    discount = services.volume_discount_create(
        actor=None, name="Seats", mode=VolumeMode.SCALE, currency="EUR", tiers=S17_TIERS
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"}, volume_discount=discount)

    result = quote(product, plan, "EUR", 33)

    # 306.00 / 33 = 9.27272... kept at 4 decimals
    assert result.unit_price == D("9.2727")
    assert len(result.tiers) == 3


def test_a_quantity_above_the_highest_tier_is_refused() -> None:
    discount = services.volume_discount_create(
        actor=None, name="Seats", mode=VolumeMode.SCALE, currency="EUR", tiers=S17_TIERS
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"}, volume_discount=discount)

    with pytest.raises(ValidationError) as refused:
        quote(product, plan, "EUR", 41)

    assert refused.value.message_dict == {"quantity": ["41 units is above the highest tier (40)."]}


def test_an_open_ended_last_tier_takes_any_quantity() -> None:
    discount = services.volume_discount_create(
        actor=None,
        name="Open",
        mode=VolumeMode.SCALE,
        currency="EUR",
        tiers=[(1, 10, D("5.00")), (11, None, D("4.00"))],
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "5.00"}, volume_discount=discount)

    assert quote(product, plan, "EUR", 1000).total == D("4010.00")


# ---------------------------------------------------------------------------- price lists


def make_list(name: str, currency: str = "EUR", **fields: Any) -> Any:
    return services.price_list_create(actor=None, name=name, currency=currency, **fields)


def test_a_fixed_price_item_sets_the_unit_price(admin_user: Any) -> None:
    # given
    product = make_product()
    plan = make_plan(product, {"EUR": "15.00"})
    partners = make_list("Partners", owner=admin_user)
    services.price_list_item_set(
        actor=None,
        price_list=partners,
        plan=plan,
        method=PriceMethod.FIXED,
        fixed_price=D("12.3456"),
        cost_price=D("9.00"),
    )
    # when
    result = quote(product, plan, "EUR", 3, price_lists=[partners])
    # then: 3 x 12.3456 = 37.0368, rounded once at the line
    assert result.source == PriceSource.PRICE_LIST_FIXED
    assert (result.price_list_id, result.price_list_name) == (partners.pk, "Partners")
    assert (result.list_unit_price, result.unit_price) == (D("15.0000"), D("12.3456"))
    assert (result.list_amount, result.total) == (D("45.00"), D("37.04"))
    assert result.cost_price == D("9.0000")


@pytest.mark.parametrize(
    ("percent", "unit_price", "total"),
    [("10", "16.5000", "49.50"), ("-20", "12.0000", "36.00"), ("-12.5", "13.1250", "39.38")],
)
def test_a_percent_item_moves_the_list_price(
    admin_user: Any, percent: str, unit_price: str, total: str
) -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "15.00"})
    resellers = make_list("Resellers", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=resellers, plan=plan, method=PriceMethod.PERCENT, percent=D(percent)
    )

    result = quote(product, plan, "EUR", 3, price_lists=[resellers])

    assert result.source == PriceSource.PRICE_LIST_PERCENT
    assert (result.unit_price, result.total) == (D(unit_price), D(total))


def test_jpy_discount_rounds_to_whole_yen(admin_user: Any) -> None:
    # given: 1,234 with 7.5 % off = 1,141.45 per unit
    product = make_product()
    plan = make_plan(product, {"JPY": "1234"})
    yen = make_list("Yen partners", currency="JPY", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=yen, plan=plan, method=PriceMethod.PERCENT, percent=D("-7.5")
    )
    # when
    one = quote(product, plan, "JPY", 1, price_lists=[yen])
    three = quote(product, plan, "JPY", 3, price_lists=[yen])
    # then: the unit price keeps 4 decimals, the line is rounded half-up to 0 places
    assert one.unit_price == D("1141.4500")
    assert str(one.total) == "1141"
    assert str(three.total) == "3424"  # 3 x 1141.45 = 3424.35


def test_jpy_fixed_price(admin_user: Any) -> None:
    product = make_product()
    plan = make_plan(product, {"JPY": "1234"})
    yen = make_list("Yen fixed", currency="JPY", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=yen, plan=plan, method=PriceMethod.FIXED, fixed_price=D("999.5")
    )

    assert str(quote(product, plan, "JPY", 1, price_lists=[yen]).total) == "1000"


def test_a_percent_item_moves_every_tier(admin_user: Any) -> None:
    discount = services.volume_discount_create(
        actor=None, name="Seats", mode=VolumeMode.SCALE, currency="EUR", tiers=S17_TIERS
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"}, volume_discount=discount)
    resellers = make_list("Resellers", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=resellers, plan=plan, method=PriceMethod.PERCENT, percent=D("-10")
    )

    result = quote(product, plan, "EUR", 33, price_lists=[resellers])

    # 20 x 9.00 + 10 x 7.65 + 3 x 6.30
    assert result.total == D("275.40")
    assert result.list_amount == D("306.00")


def test_a_fixed_item_replaces_the_tiers(admin_user: Any) -> None:
    discount = services.volume_discount_create(
        actor=None, name="Seats", mode=VolumeMode.SCALE, currency="EUR", tiers=S17_TIERS
    )
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"}, volume_discount=discount)
    flat = make_list("Flat", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=flat, plan=plan, method=PriceMethod.FIXED, fixed_price=D("6.00")
    )

    result = quote(product, plan, "EUR", 33, price_lists=[flat])

    assert (result.total, result.tiers, result.volume_mode) == (D("198.00"), (), "")


def test_the_first_usable_list_wins_then_the_default_then_the_list_price(admin_user: Any) -> None:
    # given
    product = make_product()
    plan = make_plan(product, {"EUR": "20.00", "USD": "22.00"})
    expired = make_list("Expired", owner=admin_user, valid_until=date(2025, 5, 9))
    inactive = make_list("Inactive", owner=admin_user, is_active=False)
    dollars = make_list("Dollars", currency="USD", owner=admin_user)
    newest = make_list("Newest", owner=admin_user)
    older = make_list("Older", owner=admin_user)
    default = make_list("Default EUR", owner=admin_user, is_default=True)
    for price_list, price in [
        (expired, "1"),
        (inactive, "2"),
        (newest, "15"),
        (older, "16"),
        (default, "18"),
    ]:
        services.price_list_item_set(
            actor=None, price_list=price_list, plan=plan, method="fixed", fixed_price=D(price)
        )
    services.price_list_item_set(
        actor=None, price_list=dollars, plan=plan, method="fixed", fixed_price=D("3")
    )
    # when / then
    chain = [expired, inactive, dollars, newest, older]
    assert quote(product, plan, "EUR", 1, price_lists=chain).price_list_name == "Newest"
    assert quote(product, plan, "EUR", 1, price_lists=[older, newest]).total == D("16.00")
    assert quote(product, plan, "EUR", 1, price_lists=[expired]).price_list_name == "Default EUR"
    assert quote(product, plan, "EUR", 1).total == D("18.00")
    assert quote(product, plan, "USD", 1).source == PriceSource.LIST_PRICE
    assert quote(product, plan, "USD", 1, price_lists=chain).total == D("3.00")


def test_a_list_without_the_plan_falls_through(admin_user: Any) -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "20.00"})
    other_plan = make_plan(product, {"EUR": "200.00"}, cycle=BillingCycle.ANNUAL)
    annual_only = make_list("Annual deals", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=annual_only, plan=other_plan, method="percent", percent=D("-50")
    )

    assert quote(product, plan, "EUR", 1, price_lists=[annual_only]).total == D("20.00")
    assert quote(product, other_plan, "EUR", 1, price_lists=[annual_only]).total == D("100.00")


# ----------------------------------------------------------------------------- promotions


@pytest.fixture
def s19() -> tuple[Product, ProductPlan, ProductPlan]:
    """Worked example S19: 20 % off the first two monthly cycles, new customers, May 2025."""
    product = make_product()
    monthly = make_plan(product, {"EUR": "15.00"})
    yearly = make_plan(product, {"EUR": "150.00"}, cycle=BillingCycle.ANNUAL)
    services.promotion_create(
        actor=None,
        products=[product],
        name="Spring welcome",
        start_date=date(2025, 5, 1),
        end_date=date(2025, 5, 31),
        kind=PromotionKind.LIMITED_RECURRING,
        cycles=2,
        discount_type=DiscountType.PERCENTAGE,
        percent=D("20"),
        for_monthly=True,
        for_annual=False,
        for_triennial=False,
        eligibility=Eligibility.NEW_CUSTOMERS,
    )
    return product, monthly, yearly


def test_promotion_worked_example_s19(s19: Any) -> None:
    product, monthly, _yearly = s19
    ordered = date(2025, 5, 10)

    cycles = [
        quote(
            product,
            monthly,
            "EUR",
            4,
            on_date=billed_on,
            ordered_on=ordered,
            cycle_number=number,
            is_new_customer=True,
        )
        for number, billed_on in [(1, ordered), (2, date(2025, 6, 10)), (3, date(2025, 7, 10))]
    ]

    assert [c.total for c in cycles] == [D("48.00"), D("48.00"), D("60.00")]
    assert [c.discount_amount for c in cycles] == [D("12.00"), D("12.00"), D("0")]
    assert cycles[0].promotion_name == "Spring welcome"
    assert cycles[0].final_unit_price == D("12.0000")
    assert cycles[2].promotion_id is None


def test_s19_existing_customer_pays_full_price(s19: Any) -> None:
    product, monthly, _yearly = s19

    assert quote(product, monthly, "EUR", 4, is_new_customer=False).total == D("60.00")


def test_s19_yearly_cycle_gets_no_discount(s19: Any) -> None:
    product, _monthly, yearly = s19

    assert quote(product, yearly, "EUR", 4, is_new_customer=True).total == D("600.00")


def test_s19_outside_the_dates_no_discount(s19: Any) -> None:
    product, monthly, _yearly = s19

    after = quote(product, monthly, "EUR", 4, on_date=date(2025, 6, 2), is_new_customer=True)
    before = quote(product, monthly, "EUR", 4, on_date=date(2025, 4, 30), is_new_customer=True)
    last_day = quote(product, monthly, "EUR", 4, on_date=date(2025, 5, 31), is_new_customer=True)

    assert (after.total, before.total, last_day.total) == (D("60.00"), D("60.00"), D("48.00"))


def promotion(products: list[Product], **fields: Any) -> Any:
    values = {
        "name": "Promo",
        "start_date": date(2025, 1, 1),
        "end_date": date(2025, 12, 31),
        "kind": PromotionKind.RECURRING,
        "discount_type": DiscountType.PERCENTAGE,
        "percent": D("10"),
    }
    values.update(fields)
    return services.promotion_create(actor=None, products=products, **values)


def test_a_monetary_promotion_takes_an_amount_off_each_unit_in_its_currency() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "15.00", "USD": "16.00"})
    promotion(
        [product],
        discount_type=DiscountType.MONETARY,
        percent=None,
        amount=D("5.00"),
        currency="EUR",
    )

    eur = quote(product, plan, "EUR", 4)
    usd = quote(product, plan, "USD", 4)

    assert (eur.discount_amount, eur.total) == (D("20.00"), D("40.00"))
    assert (usd.discount_amount, usd.total) == (D("0"), D("64.00"))


def test_a_monetary_promotion_never_makes_a_line_negative() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "3.00"})
    promotion(
        [product],
        discount_type=DiscountType.MONETARY,
        percent=None,
        amount=D("5.00"),
        currency="EUR",
    )

    assert quote(product, plan, "EUR", 2).total == D("0.00")


def test_a_one_time_promotion_discounts_the_first_cycle_only() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"})
    promotion([product], kind=PromotionKind.ONE_TIME, percent=D("50"))

    assert quote(product, plan, "EUR", 1, cycle_number=1).total == D("5.00")
    assert quote(product, plan, "EUR", 1, cycle_number=2).total == D("10.00")


def test_a_recurring_promotion_discounts_every_cycle() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"})
    promotion([product], kind=PromotionKind.RECURRING, percent=D("25"))

    assert quote(product, plan, "EUR", 1, cycle_number=40).total == D("7.50")


def test_prerequisite_products_must_be_owned() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"})
    suite = make_product("SUITE")
    make_plan(suite, {"EUR": "1.00"})
    promotion([product], prerequisite_products=[suite], percent=D("50"))

    assert quote(product, plan, "EUR", 1).total == D("10.00")
    assert quote(product, plan, "EUR", 1, owned_product_ids={suite.pk}).total == D("5.00")


def test_the_largest_discount_wins() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"})
    promotion([product], name="Small", percent=D("10"))
    promotion([product], name="Big", percent=D("30"))
    promotion([product], name="Inactive", percent=D("90"), is_active=False)

    result = quote(product, plan, "EUR", 2)

    assert (result.promotion_name, result.total) == ("Big", D("14.00"))


def test_a_promotion_applies_after_the_price_list(admin_user: Any) -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "15.00"})
    resellers = make_list("Resellers", owner=admin_user)
    services.price_list_item_set(
        actor=None, price_list=resellers, plan=plan, method="percent", percent=D("-20")
    )
    promotion([product], percent=D("10"))

    result = quote(product, plan, "EUR", 4, price_lists=[resellers])

    # 4 x 12.00 = 48.00, then 10 % off = 4.80
    assert (result.subtotal, result.discount_amount, result.total) == (
        D("48.00"),
        D("4.80"),
        D("43.20"),
    )


def test_the_quote_serializes_to_plain_data() -> None:
    product = make_product()
    plan = make_plan(product, {"EUR": "10.00"})

    data = quote(product, plan, "EUR", 2).as_dict()

    assert data["source"] == "list_price"
    assert data["total"] == D("20.00")
    assert data["tiers"] == []
