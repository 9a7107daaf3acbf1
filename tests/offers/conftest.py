"""Offers fixtures: the orders' catalogue and customers, and a real SMTP server on loopback
that the organization's email preferences point at (the notifications send the offer)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.orders.conftest import (
    admin_api,
    api_client_for,
    currencies,
    customer,
    make_customer,
    make_plan,
    media_root,
    reduced_rate_type,
    sales_user,
    seller,
)

__all__ = [
    "admin_api",
    "api_client_for",
    "currencies",
    "customer",
    "make_customer",
    "make_plan",
    "media_root",
    "reduced_rate_type",
    "sales_user",
    "seller",
]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any, db: None) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (plain, no login); the email preferences and
    Django's SMTP backend both talk to it, and tasks run at once."""
    from bss.celery import app
    from notifications import services as notification_services

    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    app.conf.task_always_eager = True
    notification_services.email_settings_update(
        actor=None,
        protocol="smtp",
        sender_email="sales@cloudwave.example",
        sender_name="Cloudwave Sales",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
    )
    yield mailbox
    controller.stop()
