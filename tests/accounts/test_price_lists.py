"""Price lists assigned to accounts, and the one price resolver for an account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.models import PriceListAssignment
from accounts.selectors import price_lists_for, quote_for_account
from bss.setup.models import Currency
from catalogue import services as catalogue
from catalogue.models import BillingCycle, ChargeType, PriceMethod, ProductKind
from catalogue.pricing import PriceSource
from catalogue.services import PriceInput
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
DAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def currencies(db: None) -> None:
    for code, name in [("EUR", "Euro"), ("USD", "US dollar")]:
        Currency.objects.get_or_create(code=code, defaults={"name": name})


@pytest.fixture
def desk() -> dict[str, Any]:
    product = catalogue.product_create(
        actor=None, kind=ProductKind.PRIMARY, code="DESK", name="Cloud Desk"
    )
    plan = catalogue.plan_create(
        actor=None,
        product=product,
        billing_cycle=BillingCycle.MONTHLY,
        charge_type=ChargeType.RECURRING_PREPAID,
        prices={"EUR": PriceInput(price=D("10.00")), "USD": PriceInput(price=D("11.00"))},
    )
    return {"product": product, "plan": plan}


def price_list(name: str, currency: str = "EUR", **fields: Any) -> Any:
    return catalogue.price_list_create(
        actor=None, owner=UserFactory(), name=name, currency=currency, **fields
    )


def item(price_list_: Any, plan: Any, fixed: str) -> None:
    catalogue.price_list_item_set(
        actor=None,
        price_list=price_list_,
        plan=plan,
        method=PriceMethod.FIXED,
        fixed_price=D(fixed),
    )


def test_the_newest_assignment_wins_then_the_default_list(
    admin_user: Any, desk: dict[str, Any]
) -> None:
    # given
    account = AccountFactory(currency="EUR")
    default = price_list("Default EUR", is_default=True)
    partners = price_list("Partners EUR")
    promo = price_list("Spring promo EUR")
    item(default, desk["plan"], "9.00")
    item(partners, desk["plan"], "8.00")
    item(promo, desk["plan"], "7.00")

    # then without assignments the default list prices
    quote = quote_for_account(account, quantity=3, on_date=DAY, **desk)
    assert (quote.price_list_name, quote.total) == ("Default EUR", D("27.00"))

    # when two lists are assigned, the newer one wins
    with time_machine.travel("2026-03-01 10:00Z"):
        services.price_list_assign(actor=admin_user, account=account, price_list=partners)
    with time_machine.travel("2026-03-02 10:00Z"):
        services.price_list_assign(actor=admin_user, account=account, price_list=promo)
    assert [pl.name for pl in price_lists_for(account, DAY)] == ["Spring promo EUR", "Partners EUR"]
    quote = quote_for_account(account, quantity=3, on_date=DAY, **desk)
    assert (quote.source, quote.price_list_name, quote.total) == (
        PriceSource.PRICE_LIST_FIXED,
        "Spring promo EUR",
        D("21.00"),
    )


def test_lists_out_of_their_validity_or_inactive_are_skipped(
    admin_user: Any, desk: dict[str, Any]
) -> None:
    account = AccountFactory()
    expired = price_list("Old", valid_until=date(2026, 1, 31))
    item(expired, desk["plan"], "5.00")
    services.price_list_assign(actor=admin_user, account=account, price_list=expired)
    assert price_lists_for(account, DAY) == []
    assert [pl.name for pl in price_lists_for(account, date(2026, 1, 15))] == ["Old"]
    quote = quote_for_account(account, quantity=1, on_date=DAY, **desk)
    assert (quote.source, quote.total) == (PriceSource.LIST_PRICE, D("10.00"))


def test_only_lists_of_the_account_currency_are_assignable(admin_user: Any) -> None:
    account = AccountFactory(currency="EUR")
    dollars = price_list("Dollars", currency="USD")
    with pytest.raises(ValidationError) as refused:
        services.price_list_assign(actor=admin_user, account=account, price_list=dollars)
    assert refused.value.message_dict == {
        "price_list": ["Dollars is in USD; the account is billed in EUR."]
    }
    assert not PriceListAssignment.objects.exists()


def test_a_list_is_assigned_once(admin_user: Any) -> None:
    account = AccountFactory()
    partners = price_list("Partners")
    services.price_list_assign(actor=admin_user, account=account, price_list=partners)
    with pytest.raises(ValidationError) as refused:
        services.price_list_assign(actor=admin_user, account=account, price_list=partners)
    assert refused.value.message_dict == {"price_list": ["Partners is already assigned."]}


def test_assign_and_deassign_from_the_billing_tab(admin_client: Client) -> None:
    account = AccountFactory()
    partners = price_list("Partners")
    page = admin_client.get(f"/accounts/{account.pk}/", {"tab": "billing"})
    assert list(page.context["assign_form"].fields["price_list"].queryset) == [partners]
    response = admin_client.post(
        f"/accounts/{account.pk}/price-lists/assign/", {"price_list": partners.pk}
    )
    assert response["Location"] == f"/accounts/{account.pk}/?tab=billing"
    assignment = PriceListAssignment.objects.get()
    assert assignment.price_list == partners
    admin_client.post(f"/accounts/price-lists/{assignment.pk}/deassign/")
    assert not PriceListAssignment.objects.exists()


def test_a_user_cannot_assign_a_list_they_cannot_see(make_user: Any) -> None:
    seller = make_user("accounts.edit")
    account = AccountFactory(owner=seller)
    hidden = price_list("Secret")
    with pytest.raises(ValidationError) as refused:
        services.price_list_assign(actor=seller, account=account, price_list=hidden)
    assert refused.value.message_dict == {"price_list": ["Unknown price list."]}
