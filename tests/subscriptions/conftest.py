"""Subscription fixtures: a seller, currencies, and a way to sell a product in a few words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Account
from catalogue.models import BillingCycle, ChargeType, Product, ProductPlan, ProductPrice
from subscriptions import services
from subscriptions.models import Subscription
from tests.billing.conftest import currencies, media_root, seller
from tests.billing.factories import CustomerFactory, ProductFactory, ProductTypeFactory

__all__ = ["currencies", "media_root", "seller"]


@pytest.fixture
def customer(db: None) -> Account:
    """Spec 19's account A: direct, EUR, tax-exempt, prorated to the 1st, invoiced on order day."""
    return CustomerFactory(
        is_ordering_enabled=True,
        is_taxable=False,
        is_prorated=True,
        partial_charges=Account.PartialCharges.ORDER_DAY,
        billing_day_rule=Account.BillingDayRule.FIRST,
        payment_days=5,
    )


@pytest.fixture
def make_plan(db: None) -> Callable[..., ProductPlan]:
    def make(
        price: str,
        *,
        cycle: str = BillingCycle.MONTHLY,
        commitment: int = 0,
        charge_type: str = ChargeType.RECURRING_PREPAID,
        currency: str = "EUR",
        product: Product | None = None,
        product_type: Any = None,
        setup_fee: str = "0",
        **plan_fields: Any,
    ) -> ProductPlan:
        if product is None:
            product = ProductFactory(
                product_type=product_type or ProductTypeFactory(), max_quantity=None
            )
        plan = ProductPlan.objects.create(
            product=product,
            billing_cycle=cycle,
            commitment_months=commitment,
            charge_type=charge_type,
            **plan_fields,
        )
        ProductPrice.objects.create(
            plan=plan, currency=currency, price=Decimal(price), setup_fee=Decimal(setup_fee)
        )
        return plan

    return make


@pytest.fixture
def subscribe(admin_user: Any) -> Callable[..., Subscription]:
    def make(account: Account, plan: ProductPlan, quantity: int, start: date, **kwargs: Any):
        return services.subscription_create(
            actor=admin_user,
            account=account,
            product=plan.product,
            plan=plan,
            quantity=quantity,
            start_date=start,
            **kwargs,
        )

    return make


@pytest.fixture(autouse=True)
def no_pdf_rendering(settings: Any) -> None:
    """PDFs have their own tests; here they would only slow the numbers down."""
    settings.BILLING_RENDER_PDF_ON_ISSUE = False


@pytest.fixture
def integration(vendor: Any) -> Any:
    """The loopback vendor as an integration product types can name."""
    from tests.subscriptions.fake_vendor import vendor_integration

    return vendor_integration(vendor.url)


@pytest.fixture
def seats_plan(make_plan: Callable[..., ProductPlan], integration: Any) -> ProductPlan:
    """12.00 a seat a month, of a product type the vendor provisions."""
    product_type = ProductTypeFactory(code="M365", integration=integration.code)
    product = ProductFactory(
        product_type=product_type, code="M365-BB", name="Business Basic", max_quantity=None
    )
    return make_plan("12.00", product=product)
