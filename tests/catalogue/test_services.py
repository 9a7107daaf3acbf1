"""Catalogue services: each rule refuses with a message naming the records, and writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bss.core.models import Event
from catalogue import services
from catalogue.models import (
    BillingCycle,
    BillingDateRule,
    Category,
    ChargeType,
    PriceList,
    PriceListItem,
    Product,
    ProductExclusion,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductStatus,
    VolumeMode,
)
from catalogue.services import PriceInput

pytestmark = pytest.mark.django_db

D = Decimal


def product(code: str, kind: str = ProductKind.PRIMARY, **fields: Any) -> Product:
    return services.product_create(
        actor=None, kind=kind, code=code, name=fields.pop("name", code.title()), **fields
    )


def plan(
    item: Product,
    prices: dict[str, str],
    cycle: str = BillingCycle.MONTHLY,
    charge_type: str = ChargeType.RECURRING_PREPAID,
) -> ProductPlan:
    return services.plan_create(
        actor=None,
        product=item,
        billing_cycle=cycle,
        charge_type=charge_type,
        prices={currency: PriceInput(price=D(amount)) for currency, amount in prices.items()},
    )


def errors(refused: pytest.ExceptionInfo[ValidationError]) -> Any:
    error = refused.value
    return error.message_dict if hasattr(error, "error_dict") else error.messages


# ---------------------------------------------------------------------------- categories


def test_deleting_a_category_with_products_is_refused() -> None:
    # given
    software = services.category_create(actor=None, name="Software")
    product("OFFICE", name="Office Suite", category=software)
    # when
    with pytest.raises(ValidationError) as refused:
        services.category_delete(actor=None, category=software)
    # then
    assert errors(refused) == [
        "The category Software still holds products (Office Suite); "
        "move them to another category first."
    ]
    assert Category.objects.filter(pk=software.pk).exists()


def test_deleting_a_category_with_subcategories_is_refused() -> None:
    cloud = services.category_create(actor=None, name="Cloud")
    services.category_create(actor=None, name="Storage", parent=cloud)

    with pytest.raises(ValidationError) as refused:
        services.category_delete(actor=None, category=cloud)

    assert "has subcategories (Storage)" in errors(refused)[0]


def test_an_empty_category_is_deleted() -> None:
    cloud = services.category_create(actor=None, name="Cloud")

    services.category_delete(actor=None, category=cloud)

    assert not Category.objects.exists()


def test_a_category_cannot_move_below_itself() -> None:
    cloud = services.category_create(actor=None, name="Cloud")
    storage = services.category_create(actor=None, name="Storage", parent=cloud)

    with pytest.raises(ValidationError) as refused:
        services.category_update(actor=None, category=cloud, parent=storage)

    assert errors(refused) == {"parent": ["Storage is Cloud itself or one of its subcategories."]}
    cloud.refresh_from_db()
    assert cloud.parent is None


def test_root_category_names_are_unique() -> None:
    services.category_create(actor=None, name="Cloud")

    with pytest.raises(ValidationError):
        services.category_create(actor=None, name="Cloud")


# ------------------------------------------------------------------------------ products


def test_product_create_records_event_and_audit(admin_user: Any) -> None:
    created = services.product_create(
        actor=admin_user, kind=ProductKind.PRIMARY, code="MAIL", name="Mailbox"
    )

    event = Event.objects.get(name="product.created")
    assert event.payload == {"code": "MAIL", "kind": "primary"}
    assert event.actor == admin_user
    entry = LogEntry.objects.get_for_object(created).get()
    assert entry.actor == admin_user


def test_product_codes_are_unique() -> None:
    product("MAIL")

    with pytest.raises(ValidationError) as refused:
        product("MAIL")

    assert list(errors(refused)) == ["code"]
    assert Product.objects.count() == 1


def test_an_addon_names_its_primary_products() -> None:
    suite = product("SUITE", name="Suite")
    storage = product("STORAGE", name="Extra storage")

    with pytest.raises(ValidationError) as missing:
        product("ADDON", kind=ProductKind.ADDON)
    with pytest.raises(ValidationError) as not_primary:
        services.product_create(
            actor=None,
            kind=ProductKind.ADDON,
            code="ADDON2",
            name="Add-on 2",
            primary_products=[
                suite,
                product("ADDON3", kind=ProductKind.ADDON, primary_products=[suite]),
            ],
        )
    addon = services.product_create(
        actor=None, kind=ProductKind.ADDON, code="ADDON", name="Add-on", primary_products=[suite]
    )

    assert errors(missing) == {
        "primary_products": ["An add-on names at least one primary product it attaches to."]
    }
    assert errors(not_primary) == {"primary_products": ["Addon3 is not a primary product."]}
    assert list(addon.primary_products.all()) == [suite]
    assert storage.addons.count() == 0


def test_the_kind_of_a_product_is_fixed() -> None:
    mail = product("MAIL")

    with pytest.raises(ValidationError) as refused:
        services.product_update(actor=None, product=mail, kind=ProductKind.BUNDLE)

    assert list(errors(refused)) == ["kind"]


def test_retire_and_reactivate() -> None:
    mail = product("MAIL")

    services.product_retire(actor=None, product=mail)
    with pytest.raises(ValidationError) as twice:
        services.product_retire(actor=None, product=mail)
    mail.refresh_from_db()
    assert mail.status == ProductStatus.RETIRED
    assert errors(twice) == {"status": ["Mail is already retired."]}

    services.product_reactivate(actor=None, product=mail)
    mail.refresh_from_db()
    assert mail.status == ProductStatus.ACTIVE
    assert list(
        Event.objects.filter(name__startswith="product.r").values_list("name", flat=True)
    ) == [
        "product.retired",
        "product.reactivated",
    ]


# --------------------------------------------------------------------------- plans, prices


def test_a_plan_with_prices_in_two_currencies() -> None:
    mail = product("MAIL")

    monthly = plan(mail, {"EUR": "4.00", "usd": "4.50"})

    assert sorted(monthly.prices.values_list("currency", "price")) == [
        ("EUR", D("4.0000")),
        ("USD", D("4.5000")),
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"billing_cycle": BillingCycle.MONTHLY, "charge_type": ChargeType.ONE_TIME},
            {"billing_cycle": ["A one-time charge uses the one-time cycle, and only it does."]},
        ),
        (
            {
                "billing_cycle": BillingCycle.MONTHLY,
                "charge_type": ChargeType.RECURRING_PREPAID,
                "billing_date_rule": BillingDateRule.SPECIFIC_DAY,
                "billing_day": 29,
            },
            {"billing_day": ["A specific billing day is between 1 and 28."]},
        ),
        (
            {
                "billing_cycle": BillingCycle.ONE_TIME,
                "charge_type": ChargeType.ONE_TIME,
                "trial_enabled": True,
                "trial_days": 14,
            },
            {"trial_enabled": ["One-time charges have no trial."]},
        ),
        (
            {
                "billing_cycle": BillingCycle.MONTHLY,
                "charge_type": ChargeType.RECURRING_PREPAID,
                "trial_enabled": True,
            },
            {"trial_days": ["A trial lasts at least one day."]},
        ),
    ],
)
def test_plan_settings_that_clash_are_refused(fields: dict[str, Any], expected: Any) -> None:
    mail = product("MAIL")

    with pytest.raises(ValidationError) as refused:
        services.plan_create(actor=None, product=mail, **fields)

    assert errors(refused) == expected
    assert not ProductPlan.objects.exists()


def test_a_product_billing_day_is_kept() -> None:
    mail = product("MAIL")

    created = services.plan_create(
        actor=None,
        product=mail,
        billing_cycle=BillingCycle.MONTHLY,
        charge_type=ChargeType.RECURRING_PREPAID,
        billing_date_rule=BillingDateRule.SPECIFIC_DAY,
        billing_day=15,
        exclude_from_proration=True,
    )

    assert (created.billing_day, created.exclude_from_proration) == (15, True)


def test_the_same_plan_twice_is_refused() -> None:
    mail = product("MAIL")
    plan(mail, {"EUR": "4"})

    with pytest.raises(ValidationError) as refused:
        plan(mail, {"EUR": "5"})

    assert errors(refused) == {"billing_cycle": ["Mail already has this billing plan."]}


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("CHF", "CHF is not an active currency of the organization."),
        ("ABC", "'ABC' is not an ISO 4217 currency code."),
    ],
)
def test_prices_only_in_active_currencies(currency: str, message: str) -> None:
    mail = product("MAIL")

    with pytest.raises(ValidationError) as refused:
        plan(mail, {currency: "4"})

    assert errors(refused) == {"currency": [message]}
    assert not ProductPlan.objects.exists()


def test_one_price_per_plan_and_currency_in_the_database() -> None:
    monthly = plan(product("MAIL"), {"EUR": "4"})

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductPrice.objects.create(plan=monthly, currency="EUR", price=D("5"))


def test_price_set_changes_an_existing_price() -> None:
    monthly = plan(product("MAIL"), {"EUR": "4"})

    services.price_set(actor=None, plan=monthly, currency="EUR", price=PriceInput(price=D("4.25")))

    assert monthly.prices.get().price == D("4.2500")
    assert Event.objects.filter(name="product.price_changed").count() == 1


def test_a_plan_in_a_price_list_cannot_be_deleted(admin_user: Any) -> None:
    monthly = plan(product("MAIL", name="Mailbox"), {"EUR": "4"})
    partners = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")
    services.price_list_item_set(
        actor=None, price_list=partners, plan=monthly, method="percent", percent=D("-10")
    )

    with pytest.raises(ValidationError) as refused:
        services.plan_delete(actor=None, plan=monthly)
    with pytest.raises(ValidationError) as price_refused:
        services.price_remove(actor=None, plan=monthly, currency="EUR")

    assert errors(refused) == [
        "The Monthly plan of Mailbox is in the price lists Partners; remove it from them first."
    ]
    assert "used by the price lists Partners" in errors(price_refused)[0]
    assert ProductPrice.objects.count() == 1


# ----------------------------------------------------------------------- volume discounts


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([(1, 10, D("1")), (12, None, D("1"))], "expected a tier starting at 11, got 12"),
        ([(2, 10, D("1"))], "expected a tier starting at 1, got 2"),
        ([(1, None, D("1")), (11, 20, D("1"))], "Only the last tier may be open-ended."),
        ([(1, 10, D("-1"))], "A tier price cannot be negative."),
    ],
)
def test_volume_tiers_are_contiguous_from_one(tiers: Any, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.volume_discount_create(
            actor=None, name="Seats", mode=VolumeMode.SCALE, currency="EUR", tiers=tiers
        )

    assert message in errors(refused)["tiers"][0]


def test_a_volume_discount_in_another_currency_is_refused() -> None:
    seats = services.volume_discount_create(
        actor=None, name="Seats", mode=VolumeMode.SCALE, currency="USD", tiers=[(1, None, D("1"))]
    )
    mail = product("MAIL")

    with pytest.raises(ValidationError) as refused:
        services.plan_create(
            actor=None,
            product=mail,
            billing_cycle=BillingCycle.MONTHLY,
            charge_type=ChargeType.RECURRING_PREPAID,
            prices={"EUR": PriceInput(price=D("1"), volume_discount=seats)},
        )

    assert errors(refused) == {"volume_discount": ["The volume discount Seats is in USD, not EUR."]}


# --------------------------------------------------------------------------- price lists


def test_only_products_priced_in_the_list_currency_can_be_added(admin_user: Any) -> None:
    mail = product("MAIL", name="Mailbox")
    monthly = plan(mail, {"USD": "4"})
    partners = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")

    with pytest.raises(ValidationError) as refused:
        services.price_list_item_set(
            actor=None, price_list=partners, plan=monthly, method="fixed", fixed_price=D("3")
        )
    with pytest.raises(ValidationError) as whole_product:
        services.price_list_add_product(
            actor=None, price_list=partners, product=mail, method="percent", percent=D("-5")
        )

    assert errors(refused) == {
        "plan": [
            "Mailbox has no EUR price for the Monthly plan, so it cannot be added to Partners."
        ]
    }
    assert errors(whole_product) == {
        "product": ["Mailbox has no EUR price, so it cannot be added to Partners."]
    }
    assert not PriceListItem.objects.exists()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "fixed"}, {"fixed_price": ["Enter the fixed price (zero or more)."]}),
        (
            {"method": "percent"},
            {"percent": ["Enter the markup, or a negative discount, in %."]},
        ),
        (
            {"method": "percent", "percent": D("-100")},
            {"percent": ["A discount must stay below 100 %."]},
        ),
    ],
)
def test_price_list_item_pricing_is_complete(
    admin_user: Any, fields: dict[str, Any], expected: Any
) -> None:
    monthly = plan(product("MAIL"), {"EUR": "4"})
    partners = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")

    with pytest.raises(ValidationError) as refused:
        services.price_list_item_set(actor=None, price_list=partners, plan=monthly, **fields)

    assert errors(refused) == expected


def test_one_default_list_per_currency_moves_the_flag(admin_user: Any) -> None:
    first = services.price_list_create(
        actor=admin_user, name="Standard", currency="EUR", is_default=True
    )
    usd = services.price_list_create(
        actor=admin_user, name="Standard USD", currency="USD", is_default=True
    )

    second = services.price_list_create(
        actor=admin_user, name="Standard 2026", currency="EUR", is_default=True
    )

    first.refresh_from_db()
    usd.refresh_from_db()
    assert (first.is_default, second.is_default, usd.is_default) == (False, True, True)
    services.price_list_update(actor=admin_user, price_list=first, is_default=True)
    second.refresh_from_db()
    assert second.is_default is False


def test_one_default_list_per_currency_in_the_database(admin_user: Any) -> None:
    services.price_list_create(actor=admin_user, name="Standard", currency="EUR", is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        PriceList.objects.create(owner=admin_user, name="Other", currency="EUR", is_default=True)


def test_copy_a_price_list(admin_user: Any) -> None:
    # given
    monthly = plan(product("MAIL"), {"EUR": "4"})
    yearly = plan(product("BACKUP"), {"EUR": "40"}, cycle=BillingCycle.ANNUAL)
    source = services.price_list_create(
        actor=admin_user,
        name="Partners",
        currency="EUR",
        is_default=True,
        valid_from=date(2025, 1, 1),
        description="Silver partners",
    )
    services.price_list_item_set(
        actor=None, price_list=source, plan=monthly, method="percent", percent=D("-20")
    )
    services.price_list_item_set(
        actor=None,
        price_list=source,
        plan=yearly,
        method="fixed",
        fixed_price=D("30"),
        cost_price=D("20"),
        is_visible=False,
    )
    # when
    copy = services.price_list_copy(actor=admin_user, price_list=source, name="Gold partners")
    # then
    assert (copy.currency, copy.valid_from, copy.description, copy.is_default) == (
        "EUR",
        date(2025, 1, 1),
        "Silver partners",
        False,
    )
    assert sorted(
        copy.items.values_list(
            "plan_id", "method", "fixed_price", "percent", "cost_price", "is_visible"
        )
    ) == sorted(
        source.items.values_list(
            "plan_id", "method", "fixed_price", "percent", "cost_price", "is_visible"
        )
    )
    assert source.items.count() == 2


def test_the_currency_of_a_list_with_items_is_fixed(admin_user: Any) -> None:
    monthly = plan(product("MAIL"), {"EUR": "4"})
    partners = services.price_list_create(actor=admin_user, name="Partners", currency="EUR")
    services.price_list_item_set(
        actor=None, price_list=partners, plan=monthly, method="fixed", fixed_price=D("3")
    )

    with pytest.raises(ValidationError) as refused:
        services.price_list_update(actor=admin_user, price_list=partners, currency="USD")

    assert errors(refused) == {"currency": ["Partners already has products priced in EUR."]}


# ---------------------------------------------------------------------------- promotions


def test_promotions_apply_to_recurring_products_only() -> None:
    setup = product("SETUP", name="Onboarding")
    plan(setup, {"EUR": "500"}, cycle=BillingCycle.ONE_TIME, charge_type=ChargeType.ONE_TIME)

    with pytest.raises(ValidationError) as refused:
        services.promotion_create(
            actor=None,
            products=[setup],
            name="Half off",
            start_date=date(2025, 1, 1),
            end_date=date(2025, 1, 31),
            kind="recurring",
            discount_type="percentage",
            percent=D("50"),
        )

    assert errors(refused) == {
        "products": ["Promotions apply to recurring products only: Onboarding."]
    }


def test_a_limited_recurring_promotion_needs_its_cycles() -> None:
    mail = product("MAIL")
    plan(mail, {"EUR": "4"})

    with pytest.raises(ValidationError) as refused:
        services.promotion_create(
            actor=None,
            products=[mail],
            name="Two months",
            start_date=date(2025, 1, 1),
            end_date=date(2025, 1, 31),
            kind="limited_recurring",
            discount_type="percentage",
            percent=D("50"),
        )

    assert errors(refused) == {"cycles": ["A limited recurring discount lasts at least 1 cycle."]}


# ------------------------------------------------------------------------------- bundles


@pytest.fixture
def bundle_parts() -> tuple[Product, Product, Product]:
    suite = product("SUITE", name="Suite", publish_to_storefront=True)
    plan(suite, {"EUR": "10", "USD": "11"})
    backup = product("BACKUP", name="Backup")
    plan(backup, {"EUR": "5", "USD": "6"})
    bundle = product("PACK", kind=ProductKind.BUNDLE, name="Office pack")
    plan(bundle, {"EUR": "13", "USD": "15"})
    return bundle, suite, backup


def test_a_bundle_needs_its_plans_before_components() -> None:
    bundle = product("PACK", kind=ProductKind.BUNDLE, name="Office pack")
    suite = product("SUITE", name="Suite")

    with pytest.raises(ValidationError) as refused:
        services.bundle_component_add(actor=None, bundle=bundle, component=suite)

    assert errors(refused) == {
        "bundle": ["Give Office pack its billing plans and currencies before its components."]
    }


def test_a_component_must_sell_every_unit_of_the_bundle(bundle_parts: Any) -> None:
    bundle, _suite, _backup = bundle_parts
    euro_only = product("EURO", name="Euro only")
    plan(euro_only, {"EUR": "1"})
    one_off = product("ONEOFF", name="Setup")
    plan(one_off, {"EUR": "1", "USD": "1"}, cycle="one_time", charge_type="one_time")

    with pytest.raises(ValidationError) as missing_usd:
        services.bundle_component_add(actor=None, bundle=bundle, component=euro_only)
    with pytest.raises(ValidationError) as not_recurring:
        services.bundle_component_add(actor=None, bundle=bundle, component=one_off)

    assert errors(missing_usd) == {
        "component": [
            "Euro only has no recurring price for Monthly in USD, which Office pack sells."
        ]
    }
    assert errors(not_recurring) == {
        "component": ["Setup is not a recurring product; bundles hold only those."]
    }


def test_units_and_currencies_lock_once_a_component_is_added(bundle_parts: Any) -> None:
    # given
    bundle, suite, _backup = bundle_parts
    services.bundle_component_add(actor=None, bundle=bundle, component=suite)
    monthly = bundle.plans.get()
    # when
    with pytest.raises(ValidationError) as new_plan:
        plan(bundle, {"EUR": "130"}, cycle=BillingCycle.ANNUAL)
    with pytest.raises(ValidationError) as new_currency:
        services.price_set(actor=None, plan=monthly, currency="GBP", price=PriceInput(price=D("9")))
    services.price_set(actor=None, plan=monthly, currency="EUR", price=PriceInput(price=D("12")))
    # then
    assert "already has components: its billing plans are locked" in errors(new_plan)[0]
    assert "already has components: its currencies are locked" in errors(new_currency)[0]
    assert sorted(monthly.prices.values_list("currency", "price")) == [
        ("EUR", D("12.0000")),
        ("USD", D("15.0000")),
    ]


def test_a_bundle_is_published_only_when_all_components_are(bundle_parts: Any) -> None:
    # given
    bundle, suite, backup = bundle_parts
    services.bundle_component_add(actor=None, bundle=bundle, component=suite)
    # when
    with pytest.raises(ValidationError) as too_few:
        services.product_update(actor=None, product=bundle, publish_to_storefront=True)
    services.bundle_component_add(actor=None, bundle=bundle, component=backup, quantity=2)
    with pytest.raises(ValidationError) as unpublished:
        services.product_update(actor=None, product=bundle, publish_to_storefront=True)
    services.product_update(actor=None, product=backup, publish_to_storefront=True)
    services.product_update(actor=None, product=bundle, publish_to_storefront=True)
    with pytest.raises(ValidationError) as unpublish_component:
        services.product_update(actor=None, product=suite, publish_to_storefront=False)
    # then
    assert errors(too_few) == {
        "publish_to_storefront": [
            "The bundle Office pack needs at least two components before it can be published."
        ]
    }
    assert errors(unpublished) == {
        "publish_to_storefront": [
            "The bundle Office pack can be published only when all its components are; "
            "not published: Backup."
        ]
    }
    assert errors(unpublish_component) == {
        "publish_to_storefront": [
            "Suite is part of the published bundle Office pack; unpublish the bundle first."
        ]
    }
    bundle.refresh_from_db()
    assert bundle.publish_to_storefront is True
    assert list(bundle.components.values_list("component__code", "quantity")) == [
        ("SUITE", 1),
        ("BACKUP", 2),
    ]


def test_exclusions_are_stored_once_per_pair_in_the_database() -> None:
    first, second = product("A"), product("B")
    services.exclusion_add(actor=None, product=second, other=first)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductExclusion.objects.create(product_a=second, product_b=first)

    assert ProductExclusion.objects.get().product_a == first


# ------------------------------------------------------------------------ record checks


def test_a_maximum_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        product("SEATS", min_quantity=10, max_quantity=5)

    assert errors(refused) == {
        "max_quantity": ["The maximum quantity cannot be below the minimum quantity."]
    }


def test_a_full_refund_longer_than_the_window_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        services.product_type_create(
            actor=None,
            code="SW",
            name="Software",
            cancellation_window_hours=72,
            full_refund_hours=96,
        )
    with pytest.raises(ValidationError) as no_timing:
        services.product_type_create(
            actor=None,
            code="SW",
            name="Software",
            offer_cancel_immediate=False,
            offer_cancel_specific_date=False,
            offer_cancel_end_of_period=False,
        )

    assert errors(refused) == {
        "full_refund_hours": ["The full-refund period must fit inside the cancellation window."]
    }
    assert errors(no_timing) == {
        "offer_cancel_immediate": ["Offer at least one cancellation timing."]
    }


def test_a_price_list_ending_before_it_starts_is_refused(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.price_list_create(
            actor=admin_user,
            name="Backwards",
            currency="EUR",
            valid_from=date(2025, 2, 1),
            valid_until=date(2025, 1, 1),
        )

    assert errors(refused) == {"valid_until": ["The price list ends before it starts."]}
    assert not PriceList.objects.exists()
