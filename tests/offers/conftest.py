"""Offers fixtures: the orders' catalogue and customers, and a real SMTP server on loopback."""

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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1; Django's SMTP backend talks to it."""
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
    yield mailbox
    controller.stop()
