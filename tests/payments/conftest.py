"""Payments fixtures: billing's currencies and seller, a fake gateway on loopback, helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from billing import services as billing_services
from billing.models import Invoice
from tests.billing.conftest import admin_api, api_client_for, currencies, media_root, seller
from tests.billing.factories import BillingAddressFactory, CustomerFactory
from tests.billing.helpers import charge, issued_invoice
from tests.payments.fake_gateway import SECRET_KEY, WEBHOOK_SECRET, FakeGateway, running_gateway

__all__ = ["admin_api", "api_client_for", "currencies", "media_root", "seller"]


@pytest.fixture
def customer(db: None) -> Any:
    """A Greek customer without taxes on its invoices (amounts stay round)."""
    account = CustomerFactory(is_taxable=False, email="pay@customer.example")
    BillingAddressFactory(account=account)
    return account


@pytest.fixture
def invoice_for() -> Callable[..., Invoice]:
    """An issued debit invoice of ``amount`` (no tax) for the account."""

    def make(account: Any, amount: str, *, on: date = date(2026, 7, 1)) -> Invoice:
        return issued_invoice(
            account, charge(account, amount, start=on, end=on + timedelta(days=31)), on=on
        )

    return make


@pytest.fixture
def credit_for() -> Callable[..., Invoice]:
    """An issued credit invoice of ``amount`` crediting the first line of ``debit``."""

    def make(debit: Invoice, amount: str, *, on: date | None = None) -> Invoice:
        line = debit.lines.order_by("position").first()
        credit = billing_services.credit_invoice_create(
            actor=None,
            debit_invoice=debit,
            items=[billing_services.CreditItem(line=line, amount=Decimal(amount))],
        )
        return billing_services.invoice_issue(actor=None, invoice=credit, invoice_date=on)

    return make


@pytest.fixture
def fake_gateway(settings: Any) -> Iterator[FakeGateway]:
    for gateway in running_gateway():
        settings.PAYMENTS_GATEWAY_URL = gateway.url
        settings.PAYMENTS_GATEWAY_SECRET_KEY = SECRET_KEY
        settings.PAYMENTS_GATEWAY_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.PAYMENTS_GATEWAY_TIMEOUT = 1.0
        yield gateway


@pytest.fixture
def finance_user(make_user: Any) -> Any:
    return make_user(
        "payments.view",
        "payments.create",
        "payments.edit",
        "payments.delete",
        "payments.refund",
        "invoices.view",
        "accounts.view",
    )
