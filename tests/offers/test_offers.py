"""Offers: statuses, totals (S16), copy, share by email and link, the customer's answer, convert."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Contact
from bss.core.models import ConsentRecord, Event
from catalogue.models import BillingCycle
from notifications.models import Message as NotificationMessage
from notifications.models import MessageStatus
from offers import services
from offers.models import Offer, OfferStatus, OfferStatusType
from orders.models import Order

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def s16_offer(customer: Any, make_plan: Any, sales_user: Any) -> Offer:
    monthly = make_plan(EUR="20", name="Cloud Mail")
    annual = make_plan(cycle=BillingCycle.ANNUAL, EUR="100", name="Backup Vault")
    offer = services.offer_create(actor=sales_user, account=customer, name="Mail and backup")
    services.offer_item_add(
        actor=sales_user,
        offer=offer,
        product=monthly.product,
        plan=monthly,
        quantity=5,
        discount_percent=D("10"),
    )
    services.offer_item_add(
        actor=sales_user, offer=offer, product=annual.product, plan=annual, quantity=2
    )
    offer.refresh_from_db()
    return offer


def accepted(name: str = "Accepted") -> OfferStatus:
    return OfferStatus.objects.get(name=name)


def test_the_default_statuses_are_one_of_each_type() -> None:
    assert sorted(OfferStatus.objects.values_list("name", "status_type")) == [
        ("Accepted", "accepted"),
        ("In Progress", "in_progress"),
        ("Lost", "lost"),
    ]


def test_the_last_active_status_of_a_type_stays(sales_user: Any) -> None:
    in_progress = OfferStatus.objects.get(name="In Progress")

    with pytest.raises(ValidationError, match="At least one active status of type In progress"):
        services.offer_status_update(
            actor=None, status=in_progress, is_active=False, is_default=False
        )
    with pytest.raises(ValidationError, match="At least one active status of type In progress"):
        services.offer_status_delete(actor=None, status=in_progress)

    services.offer_status_create(actor=None, name="Negotiation", status_type="in_progress")
    services.offer_status_update(actor=None, status=in_progress, is_active=False, is_default=False)
    assert not OfferStatus.objects.get(name="In Progress").is_active


def test_s16_offer_totals(s16_offer: Offer) -> None:
    assert s16_offer.discount_total == D("10.00")
    assert s16_offer.net_total == D("290.00")
    assert s16_offer.tax_total == D("69.60")
    assert s16_offer.gross_total == D("359.60")
    assert s16_offer.monthly_run_rate == D("106.67")


def test_s16_convert_only_once_and_only_when_accepted(s16_offer: Offer, sales_user: Any) -> None:
    with pytest.raises(ValidationError, match="Only an accepted offer can be converted"):
        services.offer_convert(actor=sales_user, offer=s16_offer)
    assert not Order.objects.exists()

    services.offer_set_status(actor=sales_user, offer=s16_offer, status=accepted())
    order = services.offer_convert(actor=sales_user, offer=s16_offer)

    assert order.source_offer == s16_offer
    assert (order.account, order.billing_account, order.price_list) == (
        s16_offer.account,
        s16_offer.billing_account,
        s16_offer.price_list,
    )
    lines = list(
        order.items.values_list(
            "product_id", "plan_id", "quantity", "unit_price", "discount_percent"
        )
    )
    assert lines == list(
        s16_offer.items.values_list(
            "product_id", "plan_id", "quantity", "unit_price", "discount_percent"
        )
    )
    order.refresh_from_db()
    assert (order.net_total, order.tax_total, order.gross_total, order.monthly_run_rate) == (
        D("290.00"),
        D("69.60"),
        D("359.60"),
        D("106.67"),
    )
    with pytest.raises(ValidationError, match="already converted"):
        services.offer_convert(actor=sales_user, offer=s16_offer)
    assert Order.objects.count() == 1
    with pytest.raises(ValidationError, match="can no longer change"):
        services.offer_update(actor=sales_user, offer=s16_offer, notes="late")


def test_an_overridden_price_converts_exactly(
    customer: Any, make_plan: Any, make_user: Any
) -> None:
    manager = make_user("offers.edit", "orders.override_price")
    plan = make_plan(EUR="20")
    offer = services.offer_create(actor=manager, account=customer)
    services.offer_item_add(
        actor=manager, offer=offer, product=plan.product, plan=plan, unit_price=D("17.5")
    )
    services.offer_set_status(actor=manager, offer=offer, status=accepted())

    order = services.offer_convert(actor=None, offer=offer)

    item = order.items.get()
    assert (item.unit_price, item.list_unit_price, item.is_price_overridden) == (
        D("17.5"),
        D("20"),
        True,
    )
    assert item.price_overridden_by == manager


def test_copy_offer(s16_offer: Offer, sales_user: Any) -> None:
    copy = services.offer_copy(actor=sales_user, offer=s16_offer)

    assert copy.pk != s16_offer.pk
    assert copy.copied_from == s16_offer
    assert copy.name == "Mail and backup (copy)"
    assert copy.gross_total == D("359.60")
    assert copy.items.count() == 2
    assert copy.status.status_type == OfferStatusType.IN_PROGRESS


def test_lost_offers_are_read_only(s16_offer: Offer, sales_user: Any) -> None:
    services.offer_set_status(actor=sales_user, offer=s16_offer, status=accepted("Lost"))

    with pytest.raises(ValidationError, match="lost and can no longer change"):
        services.offer_set_status(actor=sales_user, offer=s16_offer, status=accepted("In Progress"))


# ---------------------------------------------------------------------------- sharing


def test_sharing_moves_a_not_yet_sent_offer_and_emails_the_pdf(
    customer: Any,
    make_plan: Any,
    sales_user: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    draft = services.offer_status_create(
        actor=None, name="Draft", status_type="in_progress", is_draft=True
    )
    contact = Contact.objects.create(
        account=customer, last_name="Papadopoulou", first_name="Eleni", email="eleni@acme.example"
    )
    plan = make_plan(EUR="20", name="Cloud Mail")
    offer = services.offer_create(actor=sales_user, account=customer, name="Mail")
    assert offer.status == draft
    services.offer_item_add(actor=sales_user, offer=offer, product=plan.product, plan=plan)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.offer_share(
            actor=sales_user, offer=offer, contacts=[contact], message="As discussed."
        )

    offer.refresh_from_db()
    assert offer.status.name == "In Progress"
    assert offer.shared_at is not None
    assert Event.objects.filter(name="offer.shared", aggregate_id=str(offer.pk)).count() == 1
    # One email, sent by the notification "offer-shared" and logged once.
    [message] = smtp_server.messages
    assert message["To"] == "eleni@acme.example"
    assert message["Subject"] == f"Offer {offer.number}: Mail"
    parts = list(message.walk())
    body = (
        next(part for part in parts if part.get_content_type() == "text/plain")
        .get_payload(decode=True)
        .decode()
    )
    assert "As discussed." in body
    assert result.link in body
    attachment = next(part for part in parts if part.get_content_type() == "application/pdf")
    assert attachment.get_filename() == f"{offer.number}.pdf"
    assert attachment.get_payload(decode=True).startswith(b"%PDF")
    [logged] = NotificationMessage.objects.all()
    assert (logged.template.code, logged.status, logged.to) == (
        "offer-shared",
        MessageStatus.COMPLETED,
        ["eleni@acme.example"],
    )


def test_a_contact_of_another_account_is_refused(
    s16_offer: Offer, make_customer: Any, sales_user: Any
) -> None:
    other = make_customer(name="Other")
    stranger = Contact.objects.create(account=other, last_name="Stranger", email="s@other.example")

    with pytest.raises(ValidationError, match="is not a contact of Acme Hellas"):
        services.offer_share(actor=sales_user, offer=s16_offer, contacts=[stranger])
    s16_offer.refresh_from_db()
    assert s16_offer.shared_at is None


def public_path(link: str) -> str:
    return link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_customer_accepts_through_the_link(s16_offer: Offer, sales_user: Any) -> None:
    link = services.offer_share(actor=sales_user, offer=s16_offer).link
    browser = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox test")

    page = browser.get(public_path(link))
    assert page.status_code == 200
    assert "Mail and backup" in page.content.decode()

    answer = browser.post(public_path(link), {"name": "Eleni Papadopoulou", "response": "accepted"})

    assert answer.status_code == 302
    s16_offer.refresh_from_db()
    assert s16_offer.status.name == "Accepted"
    assert (s16_offer.response, s16_offer.responder_name, s16_offer.responder_ip) == (
        "accepted",
        "Eleni Papadopoulou",
        "203.0.113.7",
    )
    consent = ConsentRecord.objects.get(reference=s16_offer.number)
    assert consent.kind == ConsentRecord.Kind.OFFER_ACCEPTANCE
    assert (consent.contact_name, consent.ip_address, consent.user_agent) == (
        "Eleni Papadopoulou",
        "203.0.113.7",
        "Firefox test",
    )
    assert consent.accepted_at == s16_offer.responded_at
    assert Event.objects.filter(name="offer.accepted", aggregate_id=str(s16_offer.pk)).exists()
    again = browser.post(public_path(link), {"name": "Someone Else", "response": "declined"})
    assert again.status_code == 400
    assert "already accepted" in again.content.decode()
    s16_offer.refresh_from_db()
    assert s16_offer.response == "accepted"


def test_the_customer_declines(s16_offer: Offer, sales_user: Any) -> None:
    link = services.offer_share(actor=sales_user, offer=s16_offer).link

    Client().post(public_path(link), {"name": "Nikos", "response": "declined"})

    s16_offer.refresh_from_db()
    assert (s16_offer.status.name, s16_offer.response) == ("Lost", "declined")
    assert Event.objects.filter(name="offer.declined", aggregate_id=str(s16_offer.pk)).exists()
    assert not ConsentRecord.objects.exists()


def test_a_response_without_a_name_is_refused(s16_offer: Offer, sales_user: Any) -> None:
    link = services.offer_share(actor=sales_user, offer=s16_offer).link

    page = Client().post(public_path(link), {"name": "", "response": "accepted"})

    assert page.status_code == 400
    s16_offer.refresh_from_db()
    assert s16_offer.response == ""


def test_an_expired_link_says_so(s16_offer: Offer, sales_user: Any) -> None:
    link = services.offer_share(actor=sales_user, offer=s16_offer).link

    with time_machine.travel(s16_offer.valid_until + timedelta(days=1), tick=False):
        page = Client().get(public_path(link))
        answer = Client().post(public_path(link), {"name": "Late", "response": "accepted"})

    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert answer.status_code == 410
    s16_offer.refresh_from_db()
    assert s16_offer.response == ""


def test_a_tampered_or_revoked_link_opens_nothing(s16_offer: Offer, sales_user: Any) -> None:
    link = services.offer_share(actor=sales_user, offer=s16_offer).link
    path = public_path(link)

    assert Client().get(path.replace("/view/", "/view/x")).status_code == 404
    services.offer_revoke_link(actor=sales_user, offer=s16_offer)
    assert Client().get(path).status_code == 404


def test_the_pdf_is_a_document(s16_offer: Offer, sales_user: Any, client_for: Any) -> None:
    response = client_for(sales_user).get(reverse("offers:pdf", args=[s16_offer.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_document_speaks_the_account_language(s16_offer: Offer) -> None:
    from offers.pdf import render_offer_html

    s16_offer.account.language = "el"
    s16_offer.account.save(update_fields=["language"])

    html = render_offer_html(Offer.objects.get(pk=s16_offer.pk))

    # Greek culture of EUR: comma decimals, euro sign after the amount.
    assert "359,60\xa0€" in html
    assert "290,00\xa0€" in html


def test_sharing_through_the_page_emails_the_chosen_contact(
    s16_offer: Offer,
    customer: Any,
    admin_client: Client,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    contact = Contact.objects.create(
        account=customer, last_name="Nikolaou", first_name="Maria", email="maria@acme.example"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("offers:share", args=[s16_offer.pk]),
            {"contacts": [contact.pk], "create_link": "on", "message": "Here it is."},
        )

    assert response.status_code == 302
    [message] = smtp_server.messages
    assert message["To"] == "maria@acme.example"
    assert NotificationMessage.objects.get().status == MessageStatus.COMPLETED
    page = admin_client.get(s16_offer.get_absolute_url())
    assert 'id="share-link"' in page.content.decode()
