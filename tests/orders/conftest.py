"""Orders fixtures: a Greek seller with EU VAT, a catalogue with EUR and JPY prices, customers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Account
from billing import services as billing_services
from billing.models import Tax
from billing.seed import seed_eu_vat
from bss.setup.models import Currency
from bss.setup.organization.services import organization_update
from catalogue.models import BillingCycle, ChargeType
from tests.api.conftest import admin_api, api_client_for
from tests.billing.factories import BillingAddressFactory, CustomerFactory
from tests.catalogue.factories import PlanFactory, PriceFactory, ProductFactory, ProductTypeFactory

__all__ = ["admin_api", "api_client_for"]

D = Decimal


@pytest.fixture(autouse=True)
def currencies(db: None) -> dict[str, Currency]:
    rows = {}
    for code, name, culture in [
        ("EUR", "Euro", "el_GR"),
        ("USD", "US dollar", "en_US"),
        ("JPY", "Japanese yen", "ja_JP"),
    ]:
        rows[code], _created = Currency.objects.update_or_create(
            code=code, defaults={"name": name, "culture": culture, "is_active": True}
        )
    return rows


@pytest.fixture(autouse=True)
def seller(currencies: dict[str, Currency]) -> Any:
    seed_eu_vat()
    return organization_update(
        actor=None,
        home_currency=currencies["EUR"],
        legal_name="Cloudwave S.A.",
        address_line1="Leoforos Kifisias 44",
        postal_code="151 25",
        city="Marousi",
        country="GR",
        tax_id="EL094259216",
        email="sales@cloudwave.example",
    )


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture
def make_customer(db: None) -> Callable[..., Account]:
    """An active customer that may order, billed in Greece unless told otherwise."""

    def make(**fields: Any) -> Account:
        country = fields.pop("address_country", "GR")
        fields.setdefault("is_ordering_enabled", True)
        fields.setdefault("is_credit_unlimited", True)
        fields.setdefault("country", country)
        account = CustomerFactory(**fields)
        BillingAddressFactory(account=account, country_code=country)
        return account

    return make


@pytest.fixture
def customer(make_customer: Callable[..., Account]) -> Account:
    return make_customer(name="Acme Hellas")


@pytest.fixture
def make_plan(db: None) -> Callable[..., Any]:
    """A product with one plan priced in the given currencies, e.g. make_plan(EUR="20")."""

    def make(
        *,
        cycle: str = BillingCycle.MONTHLY,
        charge_type: str = ChargeType.RECURRING_PREPAID,
        product: Any = None,
        product_type: Any = None,
        name: str | None = None,
        **prices: str,
    ) -> Any:
        if product is None:
            extra = {"name": name} if name else {}
            product = ProductFactory(product_type=product_type or ProductTypeFactory(), **extra)
        if cycle == BillingCycle.ONE_TIME:
            charge_type = ChargeType.ONE_TIME
        plan = PlanFactory(product=product, billing_cycle=cycle, charge_type=charge_type)
        for currency, price in (prices or {"EUR": "10"}).items():
            PriceFactory(plan=plan, currency=currency, price=D(price))
        return plan

    return make


@pytest.fixture
def sales_user(make_user: Any) -> Any:
    return make_user(
        "orders.view",
        "orders.create",
        "orders.edit",
        "orders.delete",
        "orders.execute",
        "orders.deliver_partial",
        "accounts.view",
        "offers.view",
        "offers.create",
        "offers.edit",
        "offers.delete",
        "offers.convert",
    )


@pytest.fixture
def reduced_rate_type(db: None) -> Any:
    """A product type that bears Greece's reduced 13 % VAT instead of the standard 24 %."""
    product_type = ProductTypeFactory(name="Printed manuals")
    vat = Tax.objects.get(code="VAT-GR")
    billing_services.tax_rule_save(
        actor=None, tax=vat, country="GR", product_type=product_type, rate=D("13")
    )
    return product_type
