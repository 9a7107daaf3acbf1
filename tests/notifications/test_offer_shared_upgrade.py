"""The system notification "offer-shared" is the share dialog's email: installed new, and
an installation that still has its first version gets the new recipients and texts, while
what the organization edited stays as it left it (migration 0003)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Contact
from bss.core.models import Event
from notifications import recipients
from notifications.models import NotificationTemplate, TemplateText
from notifications.system import (
    OFFER_SHARED_V1_BODY,
    OFFER_SHARED_V1_SUBJECT,
    update_offer_shared,
)
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def offer_shared() -> NotificationTemplate:
    return NotificationTemplate.objects.get(code="offer-shared")


def make_first_version() -> NotificationTemplate:
    template = offer_shared()
    template.recipients = {"to": ["role:record_contact"], "cc": [], "bcc": []}
    template.save()
    template.texts.all().delete()
    TemplateText.objects.create(
        template=template,
        language="en",
        subject=OFFER_SHARED_V1_SUBJECT,
        body_html=OFFER_SHARED_V1_BODY,
    )
    return template


def test_a_new_installation_sends_to_the_chosen_contacts_in_english_and_greek() -> None:
    template = offer_shared()
    assert template.recipients == {"to": ["role:event_recipients"], "cc": [], "bcc": []}
    assert template.attachment == "offer_pdf"
    texts = {text.language: text for text in template.texts.all()}
    assert sorted(texts) == ["el", "en"]
    assert texts["en"].subject == "Offer {{ offer.number }}: {{ offer.name }}"
    assert "{{ event.message|linebreaksbr }}" in texts["en"].body_html
    assert '<a href="{{ event.link }}">{{ event.link }}</a>' in texts["en"].body_html
    assert texts["el"].subject == "Προσφορά {{ offer.number }}: {{ offer.name }}"


def test_an_untouched_first_version_is_brought_up_to_date() -> None:
    make_first_version()

    assert update_offer_shared(NotificationTemplate, TemplateText) is True

    template = offer_shared()
    assert template.recipients["to"] == ["role:event_recipients"]
    assert sorted(template.texts.values_list("language", flat=True)) == ["el", "en"]
    assert template.texts.get(language="en").subject.startswith("Offer {{ offer.number }}:")
    # and a second run changes nothing
    assert update_offer_shared(NotificationTemplate, TemplateText) is False


def test_what_the_organization_edited_stays() -> None:
    template = make_first_version()
    template.recipients = {"to": ["role:record_contact"], "cc": [], "bcc": ["email:a@b.example"]}
    template.save()
    template.texts.update(subject="Our quote {{ offer.number }}")

    assert update_offer_shared(NotificationTemplate, TemplateText) is False

    template = offer_shared()
    assert template.recipients["bcc"] == ["email:a@b.example"]
    assert template.recipients["to"] == ["role:record_contact"]
    [text] = template.texts.all()
    assert text.subject == "Our quote {{ offer.number }}"


def test_the_event_recipients_role_keeps_only_contacts_of_the_account() -> None:
    account = AccountFactory(name="Acme")
    Contact.objects.create(account=account, last_name="Prime", email="Prime@acme.example")
    Contact.objects.create(account=account, last_name="Other", email="other@acme.example")
    event = Event(
        name="offer.shared",
        payload={"recipients": ["prime@ACME.example", "thief@evil.example", 7]},
    )
    context = recipients.RecipientContext(account=account, contact=None, actor=None, event=event)

    assert recipients.resolve(["role:event_recipients"], context) == ["Prime@acme.example"]
    nobody = recipients.RecipientContext(account=None, contact=None, actor=None, event=event)
    assert recipients.resolve(["role:event_recipients"], nobody) == []
    assert recipients.validate_entry("role:event_recipients") == "role:event_recipients"


def test_the_editor_shows_and_saves_the_new_role_and_fields(admin_client: Any) -> None:
    from django.urls import reverse

    template = offer_shared()
    page = admin_client.get(reverse("notifications:template_edit", args=[template.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "The contacts chosen when the event happened" in html
    assert "event.message" in html
    assert "event.link" in html
