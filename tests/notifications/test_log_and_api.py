"""The notification log (list, detail, resend) and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from notifications.models import Message, MessageStatus, NotificationTemplate
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.postgres, requires_postgres]


def logged(count: int, **fields: Any) -> list[Message]:
    template = NotificationTemplate.objects.get(code="invoice-issued")
    return [
        Message.objects.create(
            template=template,
            entity="invoice",
            record_id=str(number),
            record_label=f"INV-{number}",
            to=[f"ap{number}@acme.example"],
            recipients_text=f"ap{number}@acme.example",
            subject=f"Invoice INV-{number}",
            body_html=f'<p onclick="x">Invoice {number}</p><script>alert(1)</script>',
            **fields,
        )
        for number in range(count)
    ]


def test_the_log_lists_and_filters_with_a_pinned_query_count(
    admin_client: Any, django_assert_max_num_queries: Any
) -> None:
    logged(30, status=MessageStatus.COMPLETED)
    logged(2, status=MessageStatus.FAILED, error="550 no such mailbox")

    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("notifications:message_list"))
    assert page.status_code == 200

    failed = admin_client.get(reverse("notifications:message_list"), {"status": "failed"})
    assert failed.context["paginator"].count == 2
    by_recipient = admin_client.get(
        reverse("notifications:message_list"), {"recipient": "ap1@acme"}
    )
    assert by_recipient.context["paginator"].count == 2  # ap1 of each batch
    by_date = admin_client.get(
        reverse("notifications:message_list"),
        {"created_after": "2000-01-01", "created_before": "2000-01-02"},
    )
    assert by_date.context["paginator"].count == 0


def test_the_detail_shows_the_body_sandboxed_and_resend_queues_a_copy(
    admin_client: Any, smtp_channel: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    [message] = logged(1, status=MessageStatus.FAILED, error="timed out")

    page = admin_client.get(reverse("notifications:message_detail", args=[message.pk]))
    content = page.content.decode()
    assert 'sandbox=""' in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)" not in content

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("notifications:message_resend", args=[message.pk]))

    copy = Message.objects.exclude(pk=message.pk).get()
    assert (copy.resent_from, copy.status) == (message, MessageStatus.COMPLETED)
    [received] = smtp_server.received
    assert received.recipients == ["ap0@acme.example"]


def test_the_api_reads_templates_and_toggles_them(admin_api: Any) -> None:
    listed = admin_api.get("/api/v1/notifications/templates/", {"entity": "invoice"})
    assert listed.status_code == 200
    codes = [row["code"] for row in listed.json()["results"]]
    assert "invoice-issued" in codes

    template = NotificationTemplate.objects.get(code="invoice-issued")
    off = admin_api.post(f"/api/v1/notifications/templates/{template.pk}/deactivate/")
    assert (off.status_code, off.json()["is_active"]) == (200, False)
    on = admin_api.post(f"/api/v1/notifications/templates/{template.pk}/activate/")
    assert (on.status_code, on.json()["is_active"]) == (200, True)
    assert on.json()["texts"][0]["language"] == "en"


def test_the_api_lists_the_log_and_sends_a_test_email(
    admin_api: Any, smtp_channel: Any, smtp_server: Any
) -> None:
    logged(3, status=MessageStatus.COMPLETED)

    answer = admin_api.post("/api/v1/notifications/test-email/")
    assert answer.status_code == 200
    assert answer.json()["server_response"] == "250 2.0.0 queued as Q1"

    listed = admin_api.get("/api/v1/notifications/messages/", {"status": "completed"})
    assert listed.json()["count"] == 4


def test_the_api_needs_the_notification_rights(api_client_for: Any, make_user: Any) -> None:
    reader = api_client_for(make_user("notifications.view"))
    template = NotificationTemplate.objects.get(code="invoice-issued")
    assert reader.get("/api/v1/notifications/templates/").status_code == 200
    assert (
        reader.post(f"/api/v1/notifications/templates/{template.pk}/deactivate/").status_code == 403
    )
    assert reader.post("/api/v1/notifications/test-email/").status_code == 403
