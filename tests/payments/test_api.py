"""Payments API: record, allocate, void, refunds, statement, methods; field-named errors."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Invoice
from payments import services
from payments.models import Payment

pytestmark = pytest.mark.django_db

BASE = "/api/v1/payments/"


def test_record_allocate_and_void_through_the_api(
    admin_api: Any,
    customer: Any,
    invoice_for: Callable[..., Invoice],
    django_assert_max_num_queries: Any,
) -> None:
    older = invoice_for(customer, "30.00")
    newer = invoice_for(customer, "50.00")

    created = admin_api.post(
        BASE,
        {
            "account": customer.pk,
            "payment_type": "bank_transfer",
            "amount": "40.00",
            "reference": "T1",
            "auto_allocate": False,
        },
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["amount"], body["unapplied_amount"], body["allocations"]) == ("40.00", "40.00", [])
    replay = admin_api.post(
        BASE,
        {
            "account": customer.pk,
            "payment_type": "bank_transfer",
            "amount": "40.00",
            "reference": "T1",
            "auto_allocate": False,
        },
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )
    assert replay.json()["id"] == body["id"]
    assert Payment.objects.count() == 1

    allocated = admin_api.post(
        f"{BASE}{body['id']}/allocate/", {"allocations": [{"invoice": newer.pk, "amount": "25.00"}]}
    )
    assert allocated.status_code == 200, allocated.json()
    assert allocated.json()["unapplied_amount"] == "15.00"
    rest = admin_api.post(f"{BASE}{body['id']}/allocate/", {})
    assert rest.json()["unapplied_amount"] == "0.00"
    older.refresh_from_db()
    assert older.balance_due == Decimal("15.00")

    voided = admin_api.post(f"{BASE}{body['id']}/void/", {"reason": "bounced"})
    assert voided.json()["status"] == "void"
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.balance_due, newer.balance_due) == (Decimal("30.00"), Decimal("50.00"))

    with django_assert_max_num_queries(8):
        listed = admin_api.get(BASE)
    assert listed.json()["count"] == 1


def test_bad_input_names_the_field_and_writes_nothing(admin_api: Any, customer: Any) -> None:
    for payload, field in [
        ({"account": customer.pk, "payment_type": "card", "amount": "10"}, "payment_type"),
        ({"account": customer.pk, "payment_type": "cash", "amount": "-1"}, "amount"),
        ({"account": customer.pk, "payment_type": "cash", "amount": "1.001"}, "amount"),
        ({"account": 999999, "payment_type": "cash", "amount": "1"}, "account"),
    ]:
        response = admin_api.post(BASE, payload)
        assert response.status_code == 400
        assert field in response.json()["errors"]
    assert Payment.objects.count() == 0


def test_refunds_statement_and_methods(
    admin_api: Any, customer: Any, invoice_for: Callable[..., Invoice]
) -> None:
    invoice_for(customer, "100.00")
    payment = services.payment_record(
        actor=None, account=customer, payment_type="cash", amount="110.00"
    )

    refund = admin_api.post(
        f"{BASE}refunds/", {"payment": payment.pk, "amount": "10.00", "reason": "overpaid"}
    )
    assert refund.status_code == 201, refund.json()
    assert (refund.json()["status"], refund.json()["amount"]) == ("completed", "10.00")
    too_much = admin_api.post(f"{BASE}refunds/", {"payment": payment.pk, "amount": "500.00"})
    assert "amount" in too_much.json()["errors"]

    statement = admin_api.get(f"{BASE}statement/", {"account": customer.pk})
    assert statement.status_code == 200
    data = statement.json()
    assert (data["closing_balance"], [line["kind"] for line in data["lines"]]) == (
        "0.00",
        ["invoice", "payment", "refund"],
    )
    assert "account" in admin_api.get(f"{BASE}statement/").json()["errors"]

    services.payment_method_save(
        actor=None, number=1, description="Bank transfer", payment_days=30, collection="manual"
    )
    assert [m["description"] for m in admin_api.get(f"{BASE}methods/").json()["results"]] == [
        "Bank transfer"
    ]


def test_the_api_needs_the_payments_right(api_client_for: Any, make_user: Any) -> None:
    assert api_client_for(make_user("invoices.view")).get(BASE).status_code == 403
