"""Card payments against the fake gateway on loopback: store a card, charge on issue, a lost
answer resent with the same idempotency key, declines with the retry plan, webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from billing.models import Invoice
from bss.core.models import Event
from payments import cards, services, tasks
from payments.models import (
    AccountPaymentSettings,
    ChargeAttempt,
    GatewayEvent,
    Payment,
    PaymentMethod,
    PaymentTransaction,
    Refund,
)
from tests.payments.fake_gateway import DECLINED_CARD, FakeGateway

pytestmark = pytest.mark.django_db

WEBHOOK_URL = "/api/v1/payments/webhooks/gateway/"


@pytest.fixture
def card_method(db: None) -> PaymentMethod:
    return services.payment_method_save(
        actor=None, number=2, description="Card", payment_days=0, collection="gateway"
    )


@pytest.fixture
def card_customer(customer: Any, card_method: PaymentMethod, fake_gateway: FakeGateway) -> Any:
    """An auto-charge customer with a Visa ending 4242 stored at the gateway."""
    services.payment_settings_update(
        actor=None, account=customer, payment_method=card_method, auto_charge=True
    )
    cards.card_attach(actor=None, account=customer, token=fake_gateway.card())
    return customer


def test_storing_a_card_keeps_only_brand_and_last_four(
    card_customer: Any, fake_gateway: FakeGateway
) -> None:
    row = AccountPaymentSettings.objects.get(account=card_customer)
    assert (row.card_brand, row.card_last4) == ("visa", "4242")
    assert row.gateway_customer_id.startswith("cus_")
    assert row.gateway_payment_method_id.startswith("pm_")
    card_customer.refresh_from_db()
    assert card_customer.payment_days == 0  # the method's payment days became the terms
    logged = " ".join(PaymentTransaction.objects.values_list("message", flat=True))
    assert "4242424242424242" not in logged


def test_an_auto_charge_account_pays_on_issue(
    card_customer: Any,
    fake_gateway: FakeGateway,
    invoice_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for(card_customer, "80.00")

    invoice.refresh_from_db()
    payment = Payment.objects.get(account=card_customer)
    assert (invoice.status, invoice.balance_due) == ("paid", Decimal("0"))
    assert (payment.payment_type, payment.amount, payment.card_last4) == (
        "card",
        Decimal("80.00"),
        "4242",
    )
    [intent] = fake_gateway.intents()
    assert (intent["amount"], intent["currency"]) == (8000, "eur")
    assert fake_gateway.state.requests[-1]["key"] == f"bss-invoice-{invoice.pk}-attempt-1"
    assert Event.objects.filter(name="payment.received", aggregate_id=str(payment.pk)).count() == 1


def test_a_charge_whose_answer_was_lost_is_resent_and_recorded_once(
    card_customer: Any,
    fake_gateway: FakeGateway,
    invoice_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
    client: Client,
) -> None:
    # given: the gateway charges the card but answers after the client gave up
    fake_gateway.answer_late(2.5)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for(card_customer, "80.00")
    attempt = ChargeAttempt.objects.get(invoice=invoice)
    assert attempt.status == "pending"
    assert Payment.objects.count() == 0
    assert PaymentTransaction.objects.filter(outcome="timeout").count() == 1

    # when: the retry task resends the attempt after the resend delay
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert tasks.send_due_charge_attempts() == 1

    # then: same key, one intent at the gateway, one payment here
    keys = [
        request["key"]
        for request in fake_gateway.state.requests
        if request["path"] == "/v1/payment_intents"
    ]
    assert keys == [attempt.idempotency_key, attempt.idempotency_key]
    [intent] = fake_gateway.intents()
    [payment] = Payment.objects.all()
    assert payment.gateway_reference == intent["id"]
    invoice.refresh_from_db()
    assert invoice.status == "paid"

    # when: the gateway's webhook for the same intent arrives, twice
    body, signature = fake_gateway.event("payment_intent.succeeded", intent, event_id="evt_same")
    for _delivery in range(2):
        response = client.post(
            WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 200

    # then: still one payment; the inbox holds both deliveries, one processed
    assert Payment.objects.count() == 1
    assert sorted(GatewayEvent.objects.values_list("status", flat=True)) == [
        "duplicate",
        "processed",
    ]
    assert invoice.payment_allocations.count() == 1


def test_the_same_webhook_twice_records_one_payment(
    customer: Any, fake_gateway: FakeGateway, invoice_for: Callable[..., Invoice], client: Client
) -> None:
    # given: an intent the gateway reports only through its webhook (e.g. a Storefront payment)
    invoice = invoice_for(customer, "45.50")
    intent = {
        "id": "pi_from_storefront",
        "object": "payment_intent",
        "amount": 4550,
        "amount_received": 4550,
        "currency": "eur",
        "status": "succeeded",
        "metadata": {"invoice_id": str(invoice.pk), "account_id": str(customer.pk)},
    }
    body, signature = fake_gateway.event("payment_intent.succeeded", intent)

    # when
    answers = [
        client.post(
            WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        for _delivery in range(2)
    ]

    # then
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["status"] for answer in answers] == ["processed", "duplicate"]
    [payment] = Payment.objects.all()
    assert (payment.amount, payment.gateway_reference) == (Decimal("45.50"), "pi_from_storefront")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_forged_webhook_is_kept_and_refused(
    customer: Any, fake_gateway: FakeGateway, client: Client
) -> None:
    body = json.dumps(
        {"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {}}}
    ).encode()
    response = client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )
    assert response.status_code == 400
    [row] = GatewayEvent.objects.all()
    assert (row.status, row.event_id, row.body) == ("rejected", None, body.decode())
    assert Payment.objects.count() == 0


def test_a_declined_card_records_a_failed_payment_and_retries_by_the_plan(
    card_customer: Any,
    fake_gateway: FakeGateway,
    invoice_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.PAYMENTS_CARD_RETRY_HOURS = [24, 72]
    fake_gateway.decline_next(2)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for(card_customer, "80.00")

    # then: a failed payment with the gateway's message, the invoice still unpaid
    [failed] = Payment.objects.filter(status="failed")
    assert failed.failure_message == "Your card was declined."
    invoice.refresh_from_db()
    assert invoice.status == "unpaid"
    second = ChargeAttempt.objects.get(invoice=invoice, attempt=2)
    assert second.status == "pending"
    assert Event.objects.filter(name="payment.failed").count() == 1

    # when: not yet due, nothing is sent; after 24 h the second attempt declines too
    assert tasks.send_due_charge_attempts() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert tasks.send_due_charge_attempts() == 1
    third = ChargeAttempt.objects.get(invoice=invoice, attempt=3)
    # and after 72 h more the third succeeds; the plan has no fourth
    with time_machine.travel(timezone.now() + timedelta(hours=25 + 73), tick=False):
        assert tasks.send_due_charge_attempts() == 1
    third.refresh_from_db()
    invoice.refresh_from_db()
    assert third.status == "succeeded"
    assert invoice.status == "paid"
    assert Payment.objects.filter(status="failed").count() == 2
    assert Payment.objects.filter(status="completed").count() == 1
    assert (
        len(
            {
                request["key"]
                for request in fake_gateway.state.requests
                if request["path"] == "/v1/payment_intents"
            }
        )
        == 3
    )


def test_a_declined_card_stops_after_the_last_retry(
    card_customer: Any,
    fake_gateway: FakeGateway,
    invoice_for: Callable[..., Invoice],
    settings: Any,
) -> None:
    settings.PAYMENTS_CARD_RETRY_HOURS = []
    cards.card_attach(actor=None, account=card_customer, token=fake_gateway.card(DECLINED_CARD))
    invoice = invoice_for(card_customer, "10.00")
    attempt = cards.charge_attempt_create(invoice=invoice, attempt=1)
    assert attempt is not None
    cards.charge_attempt_send(attempt_id=attempt.pk)
    assert list(ChargeAttempt.objects.filter(invoice=invoice).values_list("attempt", "status")) == [
        (1, "failed")
    ]


def test_a_card_payment_is_refunded_through_the_gateway(
    card_customer: Any,
    fake_gateway: FakeGateway,
    invoice_for: Callable[..., Invoice],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for(card_customer, "80.00")
    payment = Payment.objects.get(status="completed")

    refund = cards.refund_through_gateway(
        actor=None, payment=payment, amount="30.00", reason="goodwill"
    )

    assert refund.status == "completed"
    [gateway_refund] = fake_gateway.state.refunds.values()
    assert (gateway_refund["amount"], refund.gateway_reference) == (3000, gateway_refund["id"])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("partially_paid", Decimal("30.00"))
    assert Refund.objects.get().via_gateway
    assert Event.objects.filter(name="refund.issued").count() == 1
