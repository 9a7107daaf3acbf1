"""Required, mutually exclusive and upgrade relations, through the one validation function."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from catalogue import services
from catalogue.models import Product, ProductKind, ProductType, ProductUpgrade
from catalogue.relations import downgrade_targets, upgrade_targets, validate_product_selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def suite_type() -> ProductType:
    return services.product_type_create(actor=None, code="SUITE", name="Productivity suite")


def product(code: str, name: str, **fields: Any) -> Product:
    fields.setdefault("kind", ProductKind.PRIMARY)
    return services.product_create(actor=None, code=code, name=name, **fields)


def check(ordered: list[Product], owned: set[int] = frozenset(), **kwargs: Any) -> list[str]:  # type: ignore[assignment]
    return validate_product_selection(products_in_order=ordered, owned_product_ids=owned, **kwargs)


# ---------------------------------------------------------------------- required products


def test_a_required_product_missing_is_named() -> None:
    security = product("SEC", "Advanced Security")
    suite = product("SUITE", "Office Suite")
    services.requirement_add(actor=None, product=security, required_product=suite)

    assert check([security]) == [
        "Advanced Security requires Office Suite: it must be on the account or in the same order."
    ]


def test_a_required_product_in_the_same_order_or_owned_satisfies() -> None:
    security = product("SEC", "Advanced Security")
    suite = product("SUITE", "Office Suite")
    services.requirement_add(actor=None, product=security, required_product=suite)

    assert check([security, suite]) == []
    assert check([security], {suite.pk}) == []


def test_a_product_cannot_require_itself() -> None:
    suite = product("SUITE", "Office Suite")

    with pytest.raises(ValidationError) as refused:
        services.requirement_add(actor=None, product=suite, required_product=suite)

    assert refused.value.message_dict == {
        "required_product": ["Office Suite cannot require itself."]
    }


# ----------------------------------------------------------------------- mutual exclusion


def test_exclusive_products_cannot_share_an_order_either_way_round() -> None:
    basic = product("BASIC", "Suite Basic")
    premium = product("PREMIUM", "Suite Premium")
    services.exclusion_add(actor=None, product=premium, other=basic)

    assert check([basic, premium]) == [
        "Suite Basic and Suite Premium are mutually exclusive: they cannot be in the same order."
    ]
    assert check([premium, basic]) == check([basic, premium])


def test_an_exclusive_product_cannot_join_an_account_that_has_the_other() -> None:
    basic = product("BASIC", "Suite Basic")
    premium = product("PREMIUM", "Suite Premium")
    services.exclusion_add(actor=None, product=basic, other=premium)

    assert check([premium], {basic.pk}) == [
        "Suite Premium cannot be ordered: the account already has Suite Basic, "
        "and the two are mutually exclusive."
    ]
    assert check([basic], {premium.pk}) == [
        "Suite Basic cannot be ordered: the account already has Suite Premium, "
        "and the two are mutually exclusive."
    ]


def test_required_and_exclusive_contradict_each_other() -> None:
    basic = product("BASIC", "Suite Basic")
    premium = product("PREMIUM", "Suite Premium")
    services.requirement_add(actor=None, product=premium, required_product=basic)

    with pytest.raises(ValidationError) as exclusive:
        services.exclusion_add(actor=None, product=basic, other=premium)

    assert "requires the other" in exclusive.value.message_dict["other"][0]


# --------------------------------------------------------------------------- upgrade paths


def test_an_upgrade_creates_its_downgrade(suite_type: ProductType) -> None:
    basic = product("BASIC", "Suite Basic", product_type=suite_type)
    standard = product("STANDARD", "Suite Standard", product_type=suite_type)

    services.upgrade_add(actor=None, source=basic, target=standard)

    assert sorted(
        ProductUpgrade.objects.values_list("source__code", "target__code", "direction")
    ) == [
        ("BASIC", "STANDARD", "upgrade"),
        ("STANDARD", "BASIC", "downgrade"),
    ]
    assert upgrade_targets(basic) == [standard]
    assert downgrade_targets(standard) == [basic]


def test_upgrade_paths_stay_within_one_product_type(suite_type: ProductType) -> None:
    basic = product("BASIC", "Suite Basic", product_type=suite_type)
    backup = product("BACKUP", "Cloud Backup")

    with pytest.raises(ValidationError) as refused:
        services.upgrade_add(actor=None, source=basic, target=backup)

    assert refused.value.message_dict == {
        "target": [
            "Suite Basic and Cloud Backup are not of the same product type; "
            "upgrade paths stay within one type."
        ]
    }
    assert not ProductUpgrade.objects.exists()


def test_linear_and_branched_paths_but_no_loops(suite_type: ProductType) -> None:
    # given: Basic -> Standard -> Premium, and Basic -> Business as a branch
    basic, standard, premium, business = (
        product(code.upper(), f"Suite {code}", product_type=suite_type)
        for code in ("Basic", "Standard", "Premium", "Business")
    )
    services.upgrade_add(actor=None, source=basic, target=standard)
    services.upgrade_add(actor=None, source=standard, target=premium)
    services.upgrade_add(actor=None, source=basic, target=business)
    # when
    with pytest.raises(ValidationError) as loop:
        services.upgrade_add(actor=None, source=premium, target=basic)
    with pytest.raises(ValidationError) as reverse:
        services.upgrade_add(actor=None, source=standard, target=basic)
    # then
    assert loop.value.message_dict == {
        "target": ["Suite Basic already leads up to Suite Premium; this would be a loop."]
    }
    assert reverse.value.message_dict == {
        "target": ["Suite Standard already changes to Suite Basic."]
    }
    assert sorted(p.code for p in upgrade_targets(basic)) == ["BUSINESS", "STANDARD"]


def test_a_plan_change_follows_a_path_and_gives_up_the_source(suite_type: ProductType) -> None:
    # given: editions are exclusive and linked by upgrades
    basic = product("BASIC", "Suite Basic", product_type=suite_type)
    standard = product("STANDARD", "Suite Standard", product_type=suite_type)
    premium = product("PREMIUM", "Suite Premium", product_type=suite_type)
    services.upgrade_add(actor=None, source=basic, target=standard)
    for first, second in [(basic, standard), (basic, premium), (standard, premium)]:
        services.exclusion_add(actor=None, product=first, other=second)
    # when / then
    assert check([], {basic.pk}, plan_changes=[(basic, standard)]) == []
    assert check([], {standard.pk}, plan_changes=[(standard, basic)]) == []
    assert check([], {basic.pk}, plan_changes=[(basic, premium)]) == [
        "Suite Basic cannot be upgraded or downgraded to Suite Premium: there is no such path."
    ]
    assert check([], set(), plan_changes=[(basic, standard)]) == [
        "The account has no Suite Basic to change to Suite Standard."
    ]


def test_removing_an_upgrade_removes_its_downgrade(suite_type: ProductType) -> None:
    basic = product("BASIC", "Suite Basic", product_type=suite_type)
    standard = product("STANDARD", "Suite Standard", product_type=suite_type)
    services.upgrade_add(actor=None, source=basic, target=standard)

    services.upgrade_remove(actor=None, source=standard, target=basic)

    assert not ProductUpgrade.objects.exists()


# ------------------------------------------------------------------------ other refusals


def test_retired_products_cannot_be_ordered() -> None:
    old = product("OLD", "Legacy Mail")
    services.product_retire(actor=None, product=old)
    old.refresh_from_db()

    assert check([old]) == ["Legacy Mail is retired and can no longer be ordered."]


def test_an_addon_needs_one_of_its_primary_products() -> None:
    basic = product("BASIC", "Suite Basic")
    standard = product("STANDARD", "Suite Standard")
    storage = product(
        "STORAGE", "Extra Storage", kind=ProductKind.ADDON, primary_products=[basic, standard]
    )

    assert check([storage]) == [
        "The add-on Extra Storage needs Suite Basic or Suite Standard on the account "
        "or in the same order."
    ]
    assert check([storage], {standard.pk}) == []
    assert check([storage, basic]) == []


def test_quantities_outside_the_product_limits() -> None:
    seats = product("SEATS", "Seats", min_quantity=5, max_quantity=300)

    assert check([seats], quantities={seats.pk: 4}) == [
        "Seats is sold in quantities of at least 5."
    ]
    assert check([seats], quantities={seats.pk: 301}) == [
        "Seats is sold in quantities of at most 300."
    ]
    assert check([seats], quantities={seats.pk: 300}) == []


def test_an_incomplete_bundle_cannot_be_ordered() -> None:
    bundle = product("PACK", "Office Pack", kind=ProductKind.BUNDLE)

    assert check([bundle]) == [
        "The bundle Office Pack is not complete: it has fewer than two components."
    ]


def test_several_problems_are_all_reported() -> None:
    security = product("SEC", "Advanced Security")
    suite = product("SUITE", "Office Suite")
    legacy = product("OLD", "Legacy Mail")
    services.requirement_add(actor=None, product=security, required_product=suite)
    services.exclusion_add(actor=None, product=legacy, other=security)
    services.product_retire(actor=None, product=legacy)
    legacy.refresh_from_db()

    assert check([security, legacy]) == [
        "Legacy Mail is retired and can no longer be ordered.",
        "Advanced Security requires Office Suite: it must be on the account or in the same order.",
        "Advanced Security and Legacy Mail are mutually exclusive: they cannot be in the same order.",
    ]
