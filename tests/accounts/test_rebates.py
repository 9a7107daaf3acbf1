"""Rebate terms and their arithmetic (worked example S18)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from accounts import services
from accounts.models import RebateTerm
from accounts.rebates import Tier, rebate_amount
from catalogue import services as catalogue
from catalogue.models import ProductKind
from tests.factories import AccountFactory

D = Decimal
S18 = [Tier(D("0"), D("10000"), D("3")), Tier(D("10000"), D("30000"), D("7"))]


@pytest.mark.parametrize(
    ("net", "mode", "rebate"),
    [
        ("25000.00", "scale", "1350.00"),
        ("25000.00", "continuous", "1750.00"),
        ("8000.00", "scale", "240.00"),
        ("8000.00", "continuous", "240.00"),
        ("10000.00", "scale", "300.00"),
        ("10000.00", "continuous", "700.00"),
        ("0", "scale", "0.00"),
        ("-500.00", "continuous", "0.00"),
        ("40000.00", "scale", "2400.00"),
        ("40000.00", "continuous", "2800.00"),
    ],
)
def test_s18_rebate_amounts(net: str, mode: str, rebate: str) -> None:
    assert rebate_amount(D(net), tiers=S18, mode=mode, currency="EUR") == D(rebate)


def test_each_tier_share_is_rounded_then_summed() -> None:
    tiers = [Tier(D("0"), D("100.01"), D("3.33")), Tier(D("100.01"), None, D("5"))]
    # 100.01 x 3.33 % = 3.330333 -> 3.33; 0.99 x 5 % = 0.0495 -> 0.05
    assert rebate_amount(D("101.00"), tiers=tiers, mode="scale", currency="EUR") == D("3.38")
    assert rebate_amount(D("1000"), tiers=tiers, mode="scale", currency="JPY") == D("48")


@given(st.decimals(min_value=0, max_value=10**7, places=2))
def test_scale_never_pays_more_than_continuous_with_rising_tiers(net: Decimal) -> None:
    scale = rebate_amount(net, tiers=S18, mode="scale", currency="EUR")
    continuous = rebate_amount(net, tiers=S18, mode="continuous", currency="EUR")
    assert D(0) <= scale <= continuous + D("0.01")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "A rebate term needs at least one tier."),
        ([Tier(D("5"), None, D("1"))], "The first tier starts at 0."),
        (
            [Tier(D("0"), D("100"), D("1")), Tier(D("150"), None, D("2"))],
            "Tiers must follow on without gaps or overlaps: tier 1 ends at 100, the next starts at 150.",
        ),
        (
            [Tier(D("0"), None, D("1")), Tier(D("100"), None, D("2"))],
            "Only the last tier may be open-ended (no “to”).",
        ),
        ([Tier(D("0"), None, D("101"))], "Tier 1: the percent is between 0 and 100."),
    ],
)
def test_bad_tiers_are_refused(tiers: list[Tier], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        rebate_amount(D("1"), tiers=tiers, mode="scale", currency="EUR")
    assert refused.value.message_dict == {"tiers": [message]}


@pytest.mark.django_db
def test_s18_a_second_term_with_same_scope_and_period_is_refused(admin_user: Any) -> None:
    # given
    account = AccountFactory()
    services.rebate_term_save(
        actor=admin_user, account=account, applies_to="all", period="month", mode="scale", tiers=S18
    )

    # when the same Applies To and For come again
    with pytest.raises(ValidationError) as refused:
        services.rebate_term_save(
            actor=admin_user,
            account=account,
            applies_to="all",
            period="month",
            mode="continuous",
            tiers=S18,
        )

    # then
    assert refused.value.message_dict == {
        "period": [
            "The account already has a rebate term with the same Applies To and For; "
            "several terms must differ in one of them."
        ]
    }
    yearly = services.rebate_term_save(
        actor=admin_user, account=account, applies_to="all", period="year", mode="scale", tiers=S18
    )
    assert RebateTerm.objects.filter(account=account).count() == 2
    assert [
        (t.from_amount, t.to_amount, t.percent) for t in yearly.tiers.order_by("from_amount")
    ] == [
        (D("0.00"), D("10000.00"), D("3.00")),
        (D("10000.00"), D("30000.00"), D("7.00")),
    ]


@pytest.mark.django_db
def test_the_database_refuses_a_duplicate_term() -> None:
    account = AccountFactory()
    RebateTerm.objects.create(account=account, applies_to="all", period="month")
    with pytest.raises(IntegrityError), transaction.atomic():
        RebateTerm.objects.create(account=account, applies_to="all", period="month")


@pytest.mark.django_db
def test_specific_products_need_products(admin_user: Any) -> None:
    account = AccountFactory()
    with pytest.raises(ValidationError) as refused:
        services.rebate_term_save(
            actor=admin_user,
            account=account,
            applies_to="products",
            period="month",
            mode="scale",
            tiers=S18,
        )
    assert refused.value.message_dict == {
        "products": ["Choose the products the rebate applies to."]
    }
    mailbox = catalogue.product_create(
        actor=None, kind=ProductKind.PRIMARY, code="MBX", name="Mailbox"
    )
    term = services.rebate_term_save(
        actor=admin_user,
        account=account,
        applies_to="products",
        period="month",
        mode="scale",
        tiers=S18,
        products=[mailbox],
    )
    assert list(term.products.all()) == [mailbox]


@pytest.mark.django_db
def test_the_rebate_page_saves_tiers_and_names_bad_ones(admin_client: Client) -> None:
    account = AccountFactory()
    data = {
        "applies_to": "all",
        "period": "quarter",
        "mode": "continuous",
        "tiers-TOTAL_FORMS": "4",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-from_amount": "0",
        "tiers-0-to_amount": "10000",
        "tiers-0-percent": "3",
        "tiers-1-from_amount": "12000",
        "tiers-1-to_amount": "",
        "tiers-1-percent": "7",
    }
    refused = admin_client.post(f"/accounts/{account.pk}/rebates/new/", data)
    assert refused.status_code == 400
    assert refused.context["form"].non_field_errors() == [
        "Tiers must follow on without gaps or overlaps: tier 1 ends at 10000, the next starts at 12000."
    ]
    assert not RebateTerm.objects.exists()
    response = admin_client.post(
        f"/accounts/{account.pk}/rebates/new/", {**data, "tiers-1-from_amount": "10000"}
    )
    assert response.status_code == 302
    term = RebateTerm.objects.get()
    assert (term.period, term.mode, term.tiers.count()) == ("quarter", "continuous", 2)
    edit = admin_client.get(f"/accounts/rebates/{term.pk}/edit/")
    assert edit.context["tiers"].initial[1]["percent"] == D("7.00")
