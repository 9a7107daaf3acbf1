"""Custom fields on products and price lists: defined in setup, checked by one function."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from bss.setup.fields.services import custom_field_create
from catalogue import services
from catalogue.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor_sku() -> Any:
    return custom_field_create(
        actor=None,
        entity="product",
        label="Vendor SKU",
        field_type="text",
        code="vendor_sku",
        is_required=True,
        is_search_criterion=True,
    )


def test_product_custom_data_is_validated(vendor_sku: Any) -> None:
    with pytest.raises(ValidationError) as missing:
        services.product_create(actor=None, kind="primary", code="MAIL", name="Mailbox")
    created = services.product_create(
        actor=None,
        kind="primary",
        code="MAIL",
        name="Mailbox",
        custom_data={"vendor_sku": " CFQ7TTC0LH18 "},
    )

    assert missing.value.message_dict == {"vendor_sku": ["Vendor SKU is required."]}
    assert created.custom_data == {"vendor_sku": "CFQ7TTC0LH18"}


def test_the_product_form_and_detail_page_carry_custom_fields(
    vendor_sku: Any, admin_client: Client
) -> None:
    # when
    response = admin_client.post(
        reverse("catalogue:product_create"),
        {
            "kind": "primary",
            "code": "MAIL",
            "name": "Mailbox",
            "unit_of_measure": "mailbox",
            "min_quantity": "1",
            "cf_vendor_sku": "CFQ7TTC0LH18",
        },
    )
    product = Product.objects.get(code="MAIL")
    detail = admin_client.get(product.get_absolute_url())
    listing = admin_client.get(reverse("catalogue:product_list"), {"q": "CFQ7"})
    # then
    assert response.status_code == 302
    assert product.custom_data == {"vendor_sku": "CFQ7TTC0LH18"}
    assert "Vendor SKU" in detail.content.decode()
    assert b"CFQ7TTC0LH18" in detail.content
    assert b"Mailbox" in listing.content


def test_a_missing_required_custom_field_stays_on_the_form(
    vendor_sku: Any, admin_client: Client
) -> None:
    response = admin_client.post(
        reverse("catalogue:product_create"),
        {
            "kind": "primary",
            "code": "MAIL",
            "name": "Mailbox",
            "unit_of_measure": "x",
            "min_quantity": "1",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["cf_vendor_sku"] == ["Vendor SKU is required."]
    assert not Product.objects.exists()


def test_price_list_custom_fields(admin_user: Any) -> None:
    custom_field_create(
        actor=None, entity="price_list", label="Segment", field_type="text", code="segment"
    )

    price_list = services.price_list_create(
        actor=admin_user, name="SMB", currency="EUR", custom_data={"segment": "SMB"}
    )
    copy = services.price_list_copy(actor=admin_user, price_list=price_list, name="SMB 2")

    assert copy.custom_data == {"segment": "SMB"}
