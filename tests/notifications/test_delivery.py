"""Real emails to a real SMTP server on loopback: STARTTLS, AUTH, PDF, outages, retries."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Contact
from bss.core.events import emit_event
from notifications import services
from notifications.models import Message, MessageStatus, NotificationTemplate
from notifications.tasks import send_due_messages, send_message
from tests.billing.helpers import charge, issued_invoice
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, UserFactory

pytestmark = [pytest.mark.postgres, requires_postgres]


def customer(**fields: Any) -> Any:
    manager = UserFactory(email="manager@cloudwave.example", first_name="Maria", last_name="Page")
    account = AccountFactory(name="Acme Ltd", account_manager=manager, **fields)
    Contact.objects.create(
        account=account,
        first_name="Nikos",
        last_name="Bill",
        email="ap@acme.example",
        is_bill_to=True,
    )
    Contact.objects.create(
        account=account,
        first_name="Eleni",
        last_name="Prime",
        email="ceo@acme.example",
        is_primary=True,
    )
    return account


def test_an_issued_invoice_reaches_its_bill_to_contact_over_starttls_with_its_pdf(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    account = customer()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(account, charge(account, "100.00"), on=date(2026, 7, 1))

    # then: one email, authenticated, to the bill-to contact, with the invoice PDF
    [received] = smtp_server.received
    assert received.login == "bss-mailer"
    assert received.mail_from == "billing@cloudwave.example"
    assert received.recipients == ["ap@acme.example"]
    assert received.subject == f"Invoice {invoice.number} from Cloudwave S.A."
    html = received.html()
    assert "Dear Eleni Prime," in html
    assert f"invoice {invoice.number} of 1 Jul 2026 for 100,00\xa0€, due on 31 Jul 2026." in html
    [(filename, content)] = received.attachments()
    assert filename == f"{invoice.number}.pdf"
    assert content.startswith(b"%PDF")
    message = Message.objects.get(template__code="invoice-issued")
    assert message.status == MessageStatus.COMPLETED
    assert message.server_response == "250 2.0.0 queued as Q1"
    assert (message.to, message.retry_count, message.error) == (["ap@acme.example"], 0, "")
    assert message.record_id == str(invoice.pk)


def test_messages_wait_while_the_mail_server_is_down_and_are_delivered_once_when_it_returns(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    # given: the mail server is down
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    smtp_server.stop()
    first, second = customer(), AccountFactory(name="Beta SA")
    Contact.objects.create(
        account=second, last_name="Beta", email="ap@beta.example", is_bill_to=True
    )

    # when: two invoices are issued
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(first, charge(first, "10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(second, charge(second, "20.00"))

    # then: both messages wait for a retry, with the reason
    messages = list(Message.objects.order_by("pk"))
    assert [m.status for m in messages] == [MessageStatus.WAITING] * 2
    assert [m.retry_count for m in messages] == [1, 1]
    assert all("ConnectionRefusedError" in m.error for m in messages)
    assert all(m.next_attempt_at > timezone.now() for m in messages)

    # when: the beat task runs before the retry time: nothing is due
    assert send_due_messages() == 0

    # when: a minute later the server is still down
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert send_due_messages() == 2
    # then: the backoff doubles
    messages = list(Message.objects.order_by("pk"))
    assert [m.retry_count for m in messages] == [2, 2]
    assert [m.status for m in messages] == [MessageStatus.WAITING] * 2

    # when: the server is back, the retry time comes, and beat and a redelivered task run
    smtp_server.start()
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert send_due_messages() == 2
        assert send_due_messages() == 0
        for message in messages:
            send_message(message.pk)

    # then: each message was delivered exactly once
    assert sorted(r.recipients[0] for r in smtp_server.received) == [
        "ap@acme.example",
        "ap@beta.example",
    ]
    assert [m.status for m in Message.objects.order_by("pk")] == [MessageStatus.COMPLETED] * 2


def test_a_permanent_refusal_fails_the_message_without_retrying(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    smtp_server.handler.refuse["ap@acme.example"] = "550 5.1.1 no such mailbox"
    account = customer()

    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.retry_count == 0
    assert "550 5.1.1 no such mailbox" in message.error
    assert smtp_server.received == []


def test_a_temporary_refusal_waits_for_a_retry(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    smtp_server.handler.refuse["ap@acme.example"] = "451 4.3.0 try again later"
    account = customer()

    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    message = Message.objects.get()
    assert (message.status, message.retry_count) == (MessageStatus.WAITING, 1)
    assert "451 4.3.0 try again later" in message.error


def test_retries_stop_at_the_limit(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    smtp_server.stop()
    account = customer()
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        send_due_messages()

    message = Message.objects.get()
    assert (message.status, message.retry_count) == (MessageStatus.FAILED, 2)


def test_wrong_credentials_fail_the_message(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.email_settings_update(
        actor=None,
        protocol="smtp",
        sender_email="billing@cloudwave.example",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="starttls",
        smtp_username="bss-mailer",
        smtp_password="wrong",
    )
    account = customer()
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    message = Message.objects.get()
    assert message.error.startswith("535"), message.error
    assert message.status == MessageStatus.FAILED


def test_a_custom_template_with_conditions_is_sent_once_per_record(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: "tell the manager when an account becomes inactive", once per account
    admin = UserFactory(is_superuser=True, email="admin@cloudwave.example")
    services.template_save(
        actor=admin,
        entity="account",
        code="account-inactive",
        name="Account deactivated",
        trigger="updated",
        when_to_send="once",
        conditions=[
            {"field": "account.status", "operator": "equals", "value": "Inactive"},
            {"field": "account.status", "operator": "changed", "value": ""},
        ],
        recipients={"to": ["role:account_manager"], "cc": ["email:audit@cloudwave.example"]},
        texts=[
            services.TextInput(
                "en",
                "{{ account.name }} is {{ account.status|lower }}",
                "<p>{{ user.full_name }} deactivated {{ account.number }}.</p>",
            )
        ],
    )
    account = customer()
    from accounts import services as account_services

    # when: the account is renamed (condition fails), then deactivated twice
    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_update(actor=admin, account=account, name="Acme Holdings")
    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_deactivate(actor=admin, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        emit_event("account.updated", aggregate=account, payload={"fields": ["status"]})

    # then: one email, to the manager with the fixed cc
    [received] = smtp_server.received
    assert received.subject == "Acme Holdings is inactive"
    assert received.recipients == ["manager@cloudwave.example", "audit@cloudwave.example"]
    assert received.message["Cc"] == "audit@cloudwave.example"
    assert f"deactivated {account.number}." in received.html()


def test_a_template_without_reachable_recipients_is_logged_as_a_generation_error(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    account = AccountFactory(name="No Contacts Ltd")
    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    message = Message.objects.get()
    assert message.status == MessageStatus.GENERATION_ERROR
    assert "No recipient" in message.error
    assert smtp_server.received == []


def test_an_inactive_template_sends_nothing(
    smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    template = NotificationTemplate.objects.get(code="invoice-issued")
    services.template_set_active(actor=None, template=template, active=False)
    account = customer()

    with django_capture_on_commit_callbacks(execute=True):
        issued_invoice(account, charge(account, "10.00"))

    assert not Message.objects.exists()
    assert smtp_server.received == []


def test_implicit_tls_and_the_test_email_show_the_servers_answer(
    smtp_server: Any, certificate: Any, db: None
) -> None:
    from aiosmtpd.controller import Controller

    from tests.notifications.conftest import Handler, free_port

    # an SMTPS server (TLS from the first byte) without authentication
    handler = Handler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=smtp_server.context
    )
    controller.start()
    try:
        services.email_settings_update(
            actor=None,
            protocol="smtp",
            sender_email="bss@cloudwave.example",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="tls",
        )
        admin = UserFactory(email="admin@cloudwave.example")

        message = services.send_test_email(actor=admin)
    finally:
        controller.stop()

    assert (message.status, message.server_response) == (
        MessageStatus.COMPLETED,
        "250 2.0.0 queued as Q1",
    )
    [received] = handler.received
    assert received.recipients == ["admin@cloudwave.example"]
    assert received.subject == "Test email from Cloudwave S.A."
