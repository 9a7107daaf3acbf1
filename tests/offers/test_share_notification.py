"""Sharing an offer sends one email: the notification "offer-shared", to the contacts chosen
in the share dialog, with the sender's message, the public link, the validity and the PDF,
through the email preferences (a real SMTP server on loopback) and logged once."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from typing import Any

import pytest
from django.db import transaction

from accounts.models import Contact
from bss.core.events import emit_event
from notifications.models import Message, MessageStatus, NotificationTemplate
from offers import services
from offers.models import Offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(customer: Any, make_plan: Any, sales_user: Any) -> Offer:
    plan = make_plan(EUR="20", name="Cloud Mail")
    offer = services.offer_create(actor=sales_user, account=customer, name="Mail for Acme")
    services.offer_item_add(
        actor=sales_user, offer=offer, product=plan.product, plan=plan, quantity=3
    )
    offer.refresh_from_db()
    return offer


@pytest.fixture
def contacts(customer: Any) -> list[Contact]:
    return [
        Contact.objects.create(
            account=customer,
            first_name="Eleni",
            last_name="Papadopoulou",
            email="eleni@acme.example",
        ),
        Contact.objects.create(
            account=customer, first_name="Maria", last_name="Nikolaou", email="maria@acme.example"
        ),
    ]


def html_of(message: EmailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    return ""


def subject_of(message: EmailMessage) -> str:
    return str(make_header(decode_header(message["Subject"])))


def attachments_of(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [
        (part.get_filename(), part.get_payload(decode=True))
        for part in message.walk()
        if part.get_filename()
    ]


def test_two_contacts_get_exactly_one_email_each_with_message_link_and_pdf(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = services.offer_share(
            actor=sales_user,
            offer=offer,
            contacts=contacts,
            message="As discussed on the phone.\nThree mailboxes.",
            base_url="https://bss.cloudwave.example/",
        )

    # then: one SMTP delivery, each contact named once
    [email] = smtp_server.messages
    [envelope] = smtp_server.envelopes
    assert sorted(envelope) == ["eleni@acme.example", "maria@acme.example"]
    assert email["To"] == "eleni@acme.example, maria@acme.example"
    assert email["From"] == "Cloudwave Sales <sales@cloudwave.example>"
    assert email["Subject"] == f"Offer {offer.number}: Mail for Acme"
    html = html_of(email)
    assert "As discussed on the phone.<br>Three mailboxes." in html
    assert result.link.startswith("https://bss.cloudwave.example/")
    assert f'<a href="{result.link}">{result.link}</a>' in html
    assert f"The offer is valid until {offer.valid_until.isoformat()}." in html
    [(filename, content)] = attachments_of(email)
    assert filename == f"{offer.number}.pdf"
    assert content.startswith(b"%PDF")
    # and: logged once, completed, nothing failed
    [logged] = Message.objects.all()
    assert logged.template.code == "offer-shared"
    assert logged.status == MessageStatus.COMPLETED
    assert logged.to == ["eleni@acme.example", "maria@acme.example"]
    assert logged.error == ""
    assert logged.attachments == [
        {"kind": "offer_pdf", "id": offer.pk, "filename": f"{offer.number}.pdf"}
    ]
    assert logged.record_id == str(offer.pk)


def test_without_a_message_the_email_says_the_offer_is_attached(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.offer_share(actor=sales_user, offer=offer, contacts=contacts[:1])

    [email] = smtp_server.messages
    assert "Please find our offer attached." in html_of(email)
    assert Message.objects.get().status == MessageStatus.COMPLETED


def test_a_share_with_only_a_link_sends_nothing_and_logs_nothing(
    offer: Offer, sales_user: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = services.offer_share(actor=sales_user, offer=offer, create_link=True)

    assert result.link
    assert smtp_server.messages == []
    assert not Message.objects.exists()


def test_a_rolled_back_share_sends_nothing(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    class Abort(Exception):
        pass

    def share_then_fail() -> None:
        with transaction.atomic():
            services.offer_share(actor=sales_user, offer=offer, contacts=contacts)
            raise Abort

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort):
        share_then_fail()

    assert smtp_server.messages == []
    assert not Message.objects.exists()
    offer.refresh_from_db()
    assert offer.shared_at is None


def test_a_greek_customer_gets_the_email_in_greek(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    offer.account.language = "el"
    offer.account.save(update_fields=["language"])

    with django_capture_on_commit_callbacks(execute=True):
        services.offer_share(actor=sales_user, offer=offer, contacts=contacts[:1])

    [email] = smtp_server.messages
    assert subject_of(email) == f"Προσφορά {offer.number}: Mail for Acme"
    valid = f"Η προσφορά ισχύει έως τις {offer.valid_until.isoformat()}."  # noqa: RUF001
    assert valid in html_of(email)
    assert Message.objects.get().language == "el"


def test_an_address_in_the_payload_that_is_no_contact_of_the_account_is_never_mailed(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: an offer.shared event naming a stranger besides a contact (not what the
    # share service writes, but a payload is no authority on who may be mailed)
    with django_capture_on_commit_callbacks(execute=True):
        emit_event(
            "offer.shared",
            actor=sales_user,
            aggregate=offer,
            payload={
                "offer_id": offer.pk,
                "account_id": offer.account_id,
                "recipients": ["stranger@evil.example", "MARIA@acme.example"],
                "message": "",
                "link": "https://bss.cloudwave.example/offers/public/x/",
            },
        )

    [envelope] = smtp_server.envelopes
    assert envelope == ["maria@acme.example"]
    assert Message.objects.get().to == ["maria@acme.example"]


def test_an_edited_template_is_what_the_customer_receives(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = NotificationTemplate.objects.get(code="offer-shared")
    text = template.texts.get(language="en")
    text.subject = "Your quote {{ offer.number }}"
    text.save()

    with django_capture_on_commit_callbacks(execute=True):
        services.offer_share(actor=sales_user, offer=offer, contacts=contacts[:1])

    [email] = smtp_server.messages
    assert email["Subject"] == f"Your quote {offer.number}"


def test_a_deactivated_template_sends_nothing(
    offer: Offer,
    contacts: list[Contact],
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    NotificationTemplate.objects.filter(code="offer-shared").update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        services.offer_share(actor=sales_user, offer=offer, contacts=contacts)

    assert smtp_server.messages == []
