"""Templates: the sandbox refuses what reaches outside the merge fields; the editor and preview."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications import services
from notifications.merge_fields import provider_for
from notifications.models import NotificationTemplate, TemplateText
from notifications.sandbox import check_template
from notifications.system import SYSTEM_NOTIFICATIONS
from tests.factories import AccountFactory


def save(body: str, subject: str = "Hello {{ account.name }}", **fields: Any) -> Any:
    return services.template_save(
        actor=None,
        entity=fields.pop("entity", "account"),
        code=fields.pop("code", "welcome"),
        name="Welcome",
        trigger="created",
        recipients={"to": ["role:account_email"]},
        texts=[services.TextInput("en", subject, body)],
        **fields,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ account.delete }}", "{{ account.delete }} is not a merge field of this entity"),
        ("{{ account.owner.password }}", "{{ account.owner.password }} is not a merge field"),
        ("{{ settings.SECRET_KEY }}", "{{ settings.SECRET_KEY }} is not a merge field"),
        ("{% load static %}{% static 'x' %}", "the tag {% load %} is not allowed"),
        ("{% include 'base.html' %}", "the tag {% include %} is not allowed"),
        ("{% extends 'base.html' %}", "the tag {% extends %} is not allowed"),
        ("{% debug %}", "the tag {% debug %} is not allowed"),
        ("{% ssi '/etc/passwd' %}", "the tag {% ssi %} is not allowed"),
        ("{{ account.name|safe }}", "the filter |safe is not allowed"),
        ("{% if account.name %}open", "syntax error: Unclosed tag on line 1: 'if'"),
        ("{{ account.name|nosuchfilter }}", "syntax error: Invalid filter: 'nosuchfilter'"),
    ],
)
def test_a_template_outside_the_sandbox_is_refused_with_the_reason(
    db: None, body: str, reason: str
) -> None:
    before = NotificationTemplate.objects.count()

    with pytest.raises(ValidationError) as refused:
        save(body)

    assert list(refused.value.message_dict) == ["body_en"]
    assert reason in refused.value.message_dict["body_en"][0]
    assert NotificationTemplate.objects.count() == before


def test_a_bad_subject_names_the_subject(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        save("<p>ok</p>", subject="{{ account.name.upper }}")
    assert refused.value.message_dict == {
        "subject_en": [
            "{{ account.name.upper }} is not a merge field of this entity; "
            "use one of the fields listed next to the editor."
        ]
    }


def test_conditions_and_recipients_are_checked(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        save("<p>x</p>", conditions=[{"field": "account.nope", "operator": "equals", "value": "1"}])
    assert refused.value.message_dict == {
        "conditions": ["Condition 1: account.nope is not a merge field of this entity."]
    }
    with pytest.raises(ValidationError) as refused:
        services.template_save(
            actor=None,
            entity="account",
            code="x",
            name="x",
            recipients={"to": ["email:not-an-address"]},
            texts=[services.TextInput("en", "s", "b")],
        )
    assert refused.value.message_dict == {"to": ["not-an-address is not a valid email address."]}


def test_the_render_context_holds_plain_values_only(db: None) -> None:
    account = AccountFactory(name="Acme", custom_data={})
    provider = provider_for("account")
    from notifications.merge_fields import RenderInput

    values = provider.values(RenderInput(entity="account", record=account))

    from datetime import date
    from decimal import Decimal

    assert values["account.name"] == "Acme"
    assert all(
        value is None or isinstance(value, (str, int, bool, Decimal, date))
        for value in values.values()
    )


def test_every_system_notification_is_installed_and_passes_the_sandbox(db: None) -> None:
    installed = NotificationTemplate.objects.filter(is_system=True, is_active=True)
    assert installed.count() == len(SYSTEM_NOTIFICATIONS) == 36
    for text in TemplateText.objects.filter(template__is_system=True).select_related("template"):
        codes = provider_for(text.template.entity).codes()
        check_template(text.subject, codes)
        check_template(text.body_html, codes)
    invoice_issued = installed.get(code="invoice-issued")
    assert (invoice_issued.event_name, invoice_issued.attachment) == (
        "invoice.issued",
        "invoice_pdf",
    )
    assert invoice_issued.recipients["to"] == ["role:bill_to_contacts"]
    assert installed.filter(trigger="plan_only").count() == 3


def test_the_editor_refuses_a_broken_template_and_names_the_problem(admin_client: Any) -> None:
    template = NotificationTemplate.objects.get(code="document-published")
    url = reverse("notifications:template_edit", args=[template.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "{{ document.name }}" in page.content.decode()  # the merge field list

    data = {
        "name": template.name,
        "trigger": "event",
        "event_name": "document.published",
        "when_to_send": "every_time",
        "apply_rule": "all",
        "to_entries": ["role:record_contact"],
        "subject_en": "New document",
        "body_en": "<p>{{ document.uploaded_by.password }}</p>",
        "is_active": "on",
    }
    refused = admin_client.post(url, data)

    assert refused.status_code == 400
    assert "{{ document.uploaded_by.password }} is not a merge field" in refused.content.decode()
    template.refresh_from_db()
    assert template.texts.get().subject == "A new document is available: {{ document.name }}"

    data["body_en"] = "<p>{{ document.name }} for {{ account.name }}</p>"
    saved = admin_client.post(url, data)
    assert saved.status_code == 302
    assert template.texts.get().body_html == "<p>{{ document.name }} for {{ account.name }}</p>"


def test_the_preview_renders_against_a_record(admin_client: Any) -> None:
    account = AccountFactory(name="Preview & Co")
    page = admin_client.post(
        reverse("notifications:template_preview", args=["account"]),
        {
            "subject_en": "Hi {{ account.name }}",
            "body_en": "<p>{{ account.name }} · {{ account.number }}</p>",
            "preview_record": str(account.pk),
        },
    )
    content = page.content.decode()
    assert page.status_code == 200
    assert "Hi Preview &amp; Co" in content
    # the body sits in a sandboxed iframe, escaped once more for the srcdoc attribute
    assert 'srcdoc="&lt;p&gt;Preview &amp;amp; Co · ' + account.number in content

    broken = admin_client.post(
        reverse("notifications:template_preview", args=["account"]),
        {"subject_en": "x", "body_en": "{% include 'x' %}"},
    )
    assert "the tag {% include %} is not allowed" in broken.content.decode()


def test_templates_are_listed_with_a_pinned_query_count(
    admin_client: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("notifications:template_list"))
    assert page.status_code == 200
    assert "New invoice issued" in page.content.decode()


def test_a_system_notification_cannot_be_deleted_but_deactivated(admin_client: Any) -> None:
    template = NotificationTemplate.objects.get(code="case-closed")
    admin_client.post(reverse("notifications:template_delete", args=[template.pk]))
    admin_client.post(reverse("notifications:template_deactivate", args=[template.pk]))

    template.refresh_from_db()
    assert template.is_active is False


def test_a_user_without_the_right_cannot_edit(make_user: Any, client_for: Any) -> None:
    template = NotificationTemplate.objects.get(code="case-closed")
    reader = client_for(make_user("notifications.view"))
    url = reverse("notifications:template_edit", args=[template.pk])
    assert reader.get(url).status_code == 200
    assert reader.post(url, {"name": "x"}).status_code == 403
    assert (
        reader.post(reverse("notifications:template_deactivate", args=[template.pk])).status_code
        == 403
    )
