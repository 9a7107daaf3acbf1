"""The API's suspend and reprovision with a vendor on loopback that refuses the suspension:
the subscription is suspended at once, its provisioning fails with the vendor's reason, and
reprovision sends the suspension again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account
from catalogue.models import ProductPlan
from subscriptions.models import Subscription
from tests.billing.factories import ProductTypeFactory
from tests.subscriptions.fake_vendor import FakeVendor, vendor_integration
from tests.subscriptions.pages.conftest import NOW, at, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def provisioned(
    clock: Any,
    vendor: FakeVendor,
    customer: Account,
    make_plan: Callable[..., ProductPlan],
    subscribe: Callable[..., Subscription],
    django_capture_on_commit_callbacks: Any,
) -> Subscription:
    integration = vendor_integration(vendor.url)
    plan = make_plan("12.00", product_type=ProductTypeFactory(integration=integration.code))
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe(customer, plan, 10, today(), effective_at=at(*NOW))
    subscription.refresh_from_db()
    return subscription


def test_the_api_suspends_at_once_and_reprovision_resends_the_refused_suspension(
    vendor: FakeVendor,
    provisioned: Subscription,
    admin_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/subscriptions/{provisioned.pk}"
    vendor.answer("failed: Legal hold on 3 mailboxes.")

    with django_capture_on_commit_callbacks(execute=True):
        suspended = admin_api.post(f"{url}/suspend/", {"reason": "Unpaid"}, format="json")
    refused = admin_api.get(f"{url}/").json()
    with django_capture_on_commit_callbacks(execute=True):
        retried = admin_api.post(f"{url}/reprovision/", {}, format="json")
    after = admin_api.get(f"{url}/").json()

    assert suspended.status_code == 200
    assert (refused["status"], refused["provisioning_status"], refused["provisioning_error"]) == (
        "suspended",
        "failed",
        "Legal hold on 3 mailboxes.",
    )
    assert retried.status_code == 200
    assert (after["status"], after["provisioning_status"], after["provisioning_error"]) == (
        "suspended",
        "synced",
        "",
    )
    assert [body["action"] for body in vendor.provisioned] == ["create", "suspend", "suspend"]
    again = admin_api.post(f"{url}/reprovision/", {}, format="json")
    assert (again.status_code, again.json()["errors"]) == (
        400,
        {"status": ["Only a failed subscription can be reprovisioned."]},
    )
