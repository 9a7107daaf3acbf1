"""Contacts: unique emails, one primary per account, opt-in in the consent log, moves, list."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from accounts import services
from accounts.models import Contact
from bss.core.models import ConsentRecord, Event
from tests.accounts.factories import ContactFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_it_creates_a_contact_with_every_field(admin_user: Any, value_lists: None) -> None:
    account = AccountFactory()
    contact = services.contact_create(
        actor=admin_user,
        account=account,
        first_name="Eleni",
        last_name="Papadaki",
        company_role="billing",
        email="Eleni@Example.COM",
        phone="+30 210 1234567",
        mobile="+30 690 0000000",
        fax="+30 210 7654321",
        is_primary=True,
        is_bill_to=True,
        has_storefront_access=True,
        storefront_role="billing_agent",
    )
    assert contact.email == "eleni@example.com"
    assert (contact.is_primary, contact.is_bill_to, contact.storefront_role) == (
        True,
        True,
        "billing_agent",
    )
    assert Event.objects.filter(name="contact.created", aggregate_id=str(contact.pk)).exists()


def test_emails_are_unique_across_contacts_whatever_the_case(admin_user: Any) -> None:
    ContactFactory(email="ops@acme.example")
    with pytest.raises(ValidationError) as refused:
        services.contact_create(
            actor=admin_user, account=AccountFactory(), last_name="Twin", email="OPS@acme.example"
        )
    assert refused.value.message_dict == {
        "email": ["ops@acme.example is already the email of another contact; emails are unique."]
    }
    assert Contact.objects.count() == 1


def test_the_database_backs_email_uniqueness_and_one_primary() -> None:
    account = AccountFactory()
    ContactFactory(account=account, email="a@x.example", is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="A@X.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(account=account, is_primary=True)


def test_a_new_primary_contact_takes_the_flag(admin_user: Any) -> None:
    account = AccountFactory()
    first = services.contact_create(
        actor=admin_user, account=account, last_name="One", email="one@x.example", is_primary=True
    )
    second = services.contact_create(
        actor=admin_user, account=account, last_name="Two", email="two@x.example", is_primary=True
    )
    first.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)
    services.contact_update(actor=admin_user, contact=first, is_primary=True)
    second.refresh_from_db()
    assert list(account.contacts.filter(is_primary=True)) == [first]


def test_opting_in_and_out_is_written_to_the_consent_log(admin_user: Any) -> None:
    # given
    account = AccountFactory(name="Consenting Co")
    contact = services.contact_create(
        actor=admin_user,
        account=account,
        first_name="Ann",
        last_name="Lee",
        email="ann@consent.example",
        has_opted_in=True,
        consent_source="Storefront registration",
        consent_origin={"ip_address": "203.0.113.9", "user_agent": "Firefox"},
    )

    # when
    services.contact_update(actor=admin_user, contact=contact, has_opted_in=False)

    # then
    contact.refresh_from_db()
    assert contact.opted_in_at is None
    records = list(ConsentRecord.objects.order_by("pk"))
    assert [
        (
            r.kind,
            r.subject,
            r.account_name,
            r.contact_id,
            r.contact_name,
            r.contact_email,
            r.source,
        )
        for r in records
    ] == [
        (
            "personal_data",
            "Use of personal data (contact opt-in)",
            "Consenting Co",
            contact.pk,
            "Ann Lee",
            "ann@consent.example",
            "Storefront registration",
        ),
        (
            "personal_data_withdrawn",
            "Use of personal data (contact opt-in)",
            "Consenting Co",
            contact.pk,
            "Ann Lee",
            "ann@consent.example",
            "BSS contact form",
        ),
    ]
    assert str(records[0].ip_address) == "203.0.113.9"
    assert records[0].accepted_at is not None


def test_saving_without_changing_the_opt_in_logs_nothing(admin_user: Any) -> None:
    contact = ContactFactory(has_opted_in=True)
    services.contact_update(actor=admin_user, contact=contact, has_opted_in=True, phone="1")
    assert ConsentRecord.objects.count() == 0


def test_storefront_role_follows_the_access_flag(admin_user: Any) -> None:
    contact = services.contact_create(
        actor=admin_user,
        account=AccountFactory(),
        last_name="Shop",
        email="shop@x.example",
        has_storefront_access=True,
    )
    assert contact.storefront_role == "admin"
    services.contact_update(actor=admin_user, contact=contact, has_storefront_access=False)
    assert contact.storefront_role == ""
    with pytest.raises(ValidationError) as refused:
        services.contact_update(
            actor=admin_user, contact=contact, has_storefront_access=True, storefront_role="boss"
        )
    assert refused.value.message_dict == {"storefront_role": ["“boss” is not a Storefront role."]}


def test_a_contact_moves_to_another_account(admin_user: Any) -> None:
    source = AccountFactory(name="Old Co")
    target = AccountFactory(name="New Co")
    ContactFactory(account=target, is_primary=True, email="boss@new.example")
    contact = ContactFactory(account=source, is_primary=True)

    services.contact_update(actor=admin_user, contact=contact, account=target)

    contact.refresh_from_db()
    assert (contact.account, contact.is_primary) == (target, False)
    event = Event.objects.get(name="contact.moved")
    assert event.payload["from_account_id"] == source.pk


def test_moving_needs_edit_access_to_the_target(make_user: Any) -> None:
    seller = make_user("contacts.edit")
    own = AccountFactory(owner=seller)
    foreign = AccountFactory()
    contact = ContactFactory(account=own)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.contact_update(actor=seller, contact=contact, account=foreign)
    contact.refresh_from_db()
    assert contact.account == own


def test_the_form_moves_by_account_number_and_names_bad_fields(
    admin_client: Client, admin_user: Any
) -> None:
    source = AccountFactory()
    target = AccountFactory(number="ACC-424242")
    contact = ContactFactory(account=source, last_name="Mover", email="mover@x.example")
    response = admin_client.post(
        f"/accounts/contacts/{contact.pk}/edit/",
        {"account_number": "ACC-999999", "last_name": "Mover", "email": "mover@x.example"},
    )
    assert response.context["form"].errors == {
        "account_number": ["No account ACC-999999 that you may edit."]
    }
    response = admin_client.post(
        f"/accounts/contacts/{contact.pk}/edit/",
        {"account_number": "acc-424242", "last_name": "Mover", "email": "mover@x.example"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.account == target


def test_adding_a_contact_from_the_account_page(admin_client: Client) -> None:
    account = AccountFactory()
    response = admin_client.post(
        f"/accounts/{account.pk}/contacts/new/",
        {
            "first_name": "Nikos",
            "last_name": "Georgiou",
            "email": "nikos@x.example",
            "has_opted_in": "on",
        },
    )
    assert response.status_code == 302
    contact = account.contacts.get()
    assert contact.full_name == "Nikos Georgiou"
    consent = ConsentRecord.objects.get()
    assert consent.source.startswith("BSS contact form (")
    assert consent.ip_address == "127.0.0.1"


def test_a_missing_email_is_named_and_nothing_saved(admin_client: Client) -> None:
    account = AccountFactory()
    response = admin_client.post(f"/accounts/{account.pk}/contacts/new/", {"last_name": "X"})
    assert response.context["form"].errors == {"email": ["This field is required."]}
    assert Contact.objects.count() == 0


def test_contact_list_is_pinned_and_filters(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for index in range(40):
        ContactFactory(is_bill_to=index % 2 == 0)
    admin_client.get("/accounts/contacts/")
    with django_assert_max_num_queries(7):
        response = admin_client.get("/accounts/contacts/", {"is_bill_to": "true"})
    assert response.context["paginator"].count == 20
    assert all(record.is_bill_to for record, _values in response.context["rows"])


def test_contact_detail_and_delete(admin_client: Client) -> None:
    contact = ContactFactory(first_name="Del", last_name="Me")
    assert "Del Me" in admin_client.get(f"/accounts/contacts/{contact.pk}/").content.decode()
    response = admin_client.post(f"/accounts/contacts/{contact.pk}/delete/")
    assert response["Location"] == contact.account.get_absolute_url()
    assert not Contact.objects.exists()


def test_contact_custom_fields_on_the_form_detail_list_and_api(
    admin_client: Client, admin_api: Any
) -> None:
    from bss.setup.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(
        entity="contact",
        code="linkedin",
        label="LinkedIn",
        field_type="url",
        is_search_criterion=True,
    )
    account = AccountFactory()
    response = admin_client.post(
        f"/accounts/{account.pk}/contacts/new/",
        {
            "last_name": "Social",
            "email": "s@x.example",
            "cf_linkedin": "https://linkedin.example/s",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.custom_data == {"linkedin": "https://linkedin.example/s"}
    detail = admin_client.get(f"/accounts/contacts/{contact.pk}/").content.decode()
    assert "<dt>LinkedIn</dt><dd>https://linkedin.example/s</dd>" in detail
    listed = admin_client.get("/accounts/contacts/", {"cf_linkedin": "linkedin.example"})
    assert [record.pk for record, _values in listed.context["rows"]] == [contact.pk]
    api = admin_api.get("/api/v1/contacts/", {"cf_linkedin": "nowhere"}).json()
    assert api["count"] == 0
    bad = admin_client.post(
        f"/accounts/{account.pk}/contacts/new/",
        {"last_name": "Bad", "email": "b@x.example", "cf_linkedin": "not a url"},
    )
    assert list(bad.context["form"].errors) == ["cf_linkedin"]
