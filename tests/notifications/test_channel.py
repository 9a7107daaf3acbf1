"""Email preferences: secrets encrypted and never shown, the test email, Google and Office 365."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from notifications import services
from notifications.crypto import decrypt
from notifications.models import EmailSettings, Message, MessageStatus
from tests.conftest import requires_postgres
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, requires_postgres]


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "protocol": "smtp",
        "sender_email": "noreply@cloudwave.example",
        "sender_name": "Cloudwave",
        "smtp_host": "mail.cloudwave.example",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_username": "mailer",
        "smtp_password": "",
        "client_id": "",
        "tenant_id": "",
        "client_secret": "",
    }
    data.update(overrides)
    return data


def test_a_saved_password_is_encrypted_and_never_shown_again(admin_client: Any) -> None:
    url = reverse("notifications:email_settings")

    saved = admin_client.post(url, form_data(smtp_password="Tr0ub4dor&3"))
    assert saved.status_code == 302

    channel = EmailSettings.objects.get()
    assert "Tr0ub4dor" not in channel.smtp_password_encrypted
    assert decrypt(channel.smtp_password_encrypted) == "Tr0ub4dor&3"
    page = admin_client.get(url).content.decode()
    assert "Tr0ub4dor" not in page
    assert "Saved — leave blank to keep it." in page

    # a blank password keeps the stored one
    admin_client.post(url, form_data(smtp_host="smtp2.cloudwave.example"))
    channel.refresh_from_db()
    assert channel.smtp_host == "smtp2.cloudwave.example"
    assert decrypt(channel.smtp_password_encrypted) == "Tr0ub4dor&3"


def test_missing_settings_are_named_and_nothing_is_saved(admin_client: Any) -> None:
    refused = admin_client.post(
        reverse("notifications:email_settings"), form_data(protocol="office365")
    )
    assert refused.status_code == 400
    assert "Enter the client id of the app." in refused.content.decode()
    assert not EmailSettings.objects.filter(protocol="office365").exists()


def test_the_email_preferences_need_the_manage_right(make_user: Any, client_for: Any) -> None:
    viewer = client_for(make_user("notifications.view"))
    assert viewer.get(reverse("notifications:email_settings")).status_code == 403
    assert viewer.post(reverse("notifications:email_test")).status_code == 403


def test_send_test_email_shows_the_servers_answer(
    smtp_channel: Any, smtp_server: Any, client_for: Any
) -> None:
    admin = UserFactory(is_superuser=True, email="it@cloudwave.example")
    client = client_for(admin)

    page = client.post(reverse("notifications:email_test"), follow=True)

    assert "The server answered: 250 2.0.0 queued as Q1" in page.content.decode()
    [received] = smtp_server.received
    assert received.recipients == ["it@cloudwave.example"]

    smtp_server.stop()
    page = client.post(reverse("notifications:email_test"), follow=True)
    assert "The test email was not sent: ConnectionRefusedError" in page.content.decode()
    assert Message.objects.filter(status=MessageStatus.FAILED).count() == 1


def test_office365_sends_through_graph_with_a_client_credentials_token(
    fake_http: Any, db: None
) -> None:
    # given
    services.email_settings_update(
        actor=None,
        protocol="office365",
        sender_email="billing@cloudwave.example",
        client_id="app-123",
        client_secret="graph-secret",
        tenant_id="tenant-9",
    )
    admin = UserFactory(email="cfo@cloudwave.example")

    # when
    message = services.send_test_email(actor=admin)

    # then
    assert (message.status, message.server_response) == (
        MessageStatus.COMPLETED,
        "HTTP 202 Accepted by Microsoft Graph",
    )
    token_call, send_call = fake_http.requests
    assert token_call["path"] == "/tenant-9/oauth2/v2.0/token"
    assert parse_qs(token_call["body"]) == {
        "client_id": ["app-123"],
        "client_secret": ["graph-secret"],
        "scope": ["https://graph.microsoft.com/.default"],
        "grant_type": ["client_credentials"],
    }
    assert send_call["path"] == "/v1.0/users/billing@cloudwave.example/sendMail"
    assert send_call["authorization"] == "Bearer ms-graph-token"
    sent = json.loads(send_call["body"])
    assert sent["message"]["subject"] == "Test email from Cloudwave S.A."
    assert sent["message"]["toRecipients"] == [
        {"emailAddress": {"address": "cfo@cloudwave.example"}}
    ]
    assert sent["message"]["body"]["contentType"] == "HTML"


def test_graph_errors_are_sorted_into_transient_and_permanent(fake_http: Any, db: None) -> None:
    services.email_settings_update(
        actor=None,
        protocol="office365",
        sender_email="billing@cloudwave.example",
        client_id="app-123",
        client_secret="graph-secret",
        tenant_id="tenant-9",
    )
    message = Message.objects.create(to=["a@x.example"], subject="s", body_html="<p>b</p>")

    fake_http.send_status = 503
    services.deliver_message(message.pk)
    message.refresh_from_db()
    assert (message.status, message.retry_count) == (MessageStatus.WAITING, 1)
    assert "Microsoft Graph answered HTTP 503" in message.error

    fake_http.send_status = 403
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    services.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "Microsoft Graph answered HTTP 403" in message.error


def test_google_authorization_stores_a_refresh_token_and_sends_with_xoauth2(
    fake_http: Any, smtp_server: Any, admin_client: Any, admin_user: Any
) -> None:
    # given: the Google app is saved and the mail server speaks XOAUTH2
    services.email_settings_update(
        actor=None,
        protocol="google",
        sender_email="billing@cloudwave.example",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="starttls",
        client_id="google-client",
        client_secret="google-secret",
    )

    # when: the admin authorizes and Google calls back with a code
    consent = admin_client.post(reverse("notifications:google_authorize"))
    assert consent.status_code == 302
    query = parse_qs(urlparse(consent["Location"]).query)
    assert query["client_id"] == ["google-client"]
    assert query["scope"] == ["https://mail.google.com/"]
    back = admin_client.get(
        reverse("notifications:google_callback"),
        {"state": query["state"][0], "code": "auth-code-1"},
        follow=True,
    )

    # then: the refresh token is stored encrypted
    assert "Google authorized the BSS to send email." in back.content.decode()
    channel = EmailSettings.objects.get()
    assert decrypt(channel.refresh_token_encrypted) == "google-refresh-1"

    # when: a test email goes out
    message = services.send_test_email(actor=admin_user)

    # then: over SMTP with the access token as XOAUTH2
    assert message.status == MessageStatus.COMPLETED, message.error
    [received] = smtp_server.received
    assert received.login == "billing@cloudwave.example"
    refresh = parse_qs(fake_http.requests[-1]["body"])
    assert refresh["grant_type"] == ["refresh_token"]
    assert refresh["refresh_token"] == ["google-refresh-1"]


def test_a_forged_google_callback_is_refused(admin_client: Any, db: None) -> None:
    services.email_settings_update(
        actor=None,
        protocol="google",
        sender_email="b@cloudwave.example",
        client_id="google-client",
        client_secret="google-secret",
    )
    page = admin_client.get(
        reverse("notifications:google_callback"), {"state": "guess", "code": "x"}, follow=True
    )
    assert "does not match the request" in page.content.decode()
    assert EmailSettings.objects.get().refresh_token_encrypted == ""


def test_xoauth2_string_shape() -> None:
    from notifications.transport import _xoauth2

    encoded = base64.b64encode(_xoauth2("a@b.example", "tok").encode()).decode()
    assert base64.b64decode(encoded) == b"user=a@b.example\x01auth=Bearer tok\x01\x01"
