"""Notifications in a real browser: edit the "New invoice issued" template, preview it
against a real invoice, issue another invoice and find its email completed in the log."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Contact
from notifications.models import Message, MessageStatus
from tests.billing.helpers import charge, issued_invoice
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, UserFactory
from tests.notifications.conftest import (
    _eager_tasks,
    _system_templates,
    certificate,
    currencies,
    media_root,
    seller,
    smtp_channel,
    smtp_server,
)

__all__ = [
    "_eager_tasks",
    "_system_templates",
    "certificate",
    "currencies",
    "media_root",
    "seller",
    "smtp_channel",
    "smtp_server",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    requires_postgres,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"


def test_edit_preview_trigger_and_find_the_message_in_the_log(
    live_server: Any, page: Any, smtp_channel: Any, smtp_server: Any, screenshot_dir: Path
) -> None:
    # given: a customer with a bill-to contact and an issued invoice
    admin = UserFactory(email="notify@test.example", is_superuser=True, is_staff=True)
    account = AccountFactory(name="Acme Ltd")
    Contact.objects.create(
        account=account,
        first_name="Nikos",
        last_name="Bill",
        email="ap@acme.example",
        is_bill_to=True,
    )
    first = issued_invoice(account, charge(account, "100.00"), on=date(2026, 7, 1))

    page.goto(f"{live_server.url}/auth/login/")
    page.fill("#id_login", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # when: the admin opens the template from the list and changes its subject
    page.goto(f"{live_server.url}/notifications/templates/?q=invoice")
    page.get_by_role("link", name="New invoice issued").click()
    page.fill("#id_subject_en", "Your invoice {{ invoice.number }} for {{ account.name }}")

    # and previews it against the issued invoice
    page.select_option("#preview-record", str(first.pk))
    page.click("#preview-button")
    preview = page.locator("#preview-subject")
    preview.wait_for()
    assert preview.inner_text() == f"Your invoice {first.number} for Acme Ltd"
    page.screenshot(path=str(screenshot_dir / "notifications-template-editor.png"), full_page=True)

    # and saves it
    page.click("#save-template")
    page.wait_for_url("**/notifications/templates/*/")
    assert "New invoice issued saved." in page.content()

    # when: another invoice is issued
    second = issued_invoice(account, charge(account, "50.00"), on=date(2026, 8, 1))

    # then: the log shows its message completed, with the new subject
    page.goto(f"{live_server.url}/notifications/log/?status=completed")
    page.get_by_role("link", name=f"Your invoice {second.number} for Acme Ltd").click()
    assert page.locator("#message-status").inner_text() == "Completed"
    assert page.locator("#message-to").inner_text() == "ap@acme.example"
    assert page.locator("#message-response").inner_text() == "250 2.0.0 queued as Q2"
    page.screenshot(path=str(screenshot_dir / "notifications-log-message.png"), full_page=True)

    assert [r.subject for r in smtp_server.received] == [
        f"Invoice {first.number} from Cloudwave S.A.",
        f"Your invoice {second.number} for Acme Ltd",
    ]
    assert Message.objects.filter(status=MessageStatus.COMPLETED).count() == 2
