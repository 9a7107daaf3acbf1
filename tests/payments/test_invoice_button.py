"""The invoice page links to recording a payment, for open debit invoices and the right users."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_an_open_invoice_offers_record_payment(
    customer: Any, invoice_for: Any, admin_client: Any, make_user: Any, client_for: Any
) -> None:
    invoice = invoice_for(customer, "100.00")
    form = reverse("payments:payment_create")
    viewer = make_user("invoices.view")
    customer.owner = viewer
    customer.save(update_fields=["owner"])

    page = admin_client.get(invoice.get_absolute_url()).content.decode()
    reader = client_for(viewer).get(invoice.get_absolute_url())

    assert f"{form}?account={customer.pk}&amp;invoice={invoice.pk}" in page
    assert form not in reader.content.decode()
