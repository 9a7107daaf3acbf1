"""Provisioning on the subscription page, in the list and in the API, with a vendor on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Account
from catalogue.models import BundleComponent, ProductKind, ProductPlan
from subscriptions.bundles import bundle_subscribe
from subscriptions.models import Subscription, SubscriptionStatus
from tests.billing.factories import ProductFactory, ProductTypeFactory
from tests.subscriptions.fake_vendor import FakeVendor, vendor_integration
from tests.subscriptions.pages.conftest import NOW, at, today

pytestmark = pytest.mark.django_db

LIST = reverse("subscriptions:list")


@pytest.fixture
def vendor_plan(vendor: FakeVendor, make_plan: Callable[..., ProductPlan]) -> ProductPlan:
    integration = vendor_integration(vendor.url)
    return make_plan("12.00", product_type=ProductTypeFactory(integration=integration.code))


@pytest.fixture
def provision(
    clock: Any,
    customer: Account,
    subscribe: Callable[..., Subscription],
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Subscription]:
    def make(plan: ProductPlan, name: str = "Office seats") -> Subscription:
        with django_capture_on_commit_callbacks(execute=True):
            subscription = subscribe(
                customer, plan, 10, today(), friendly_name=name, effective_at=at(*NOW)
            )
        subscription.refresh_from_db()
        return subscription

    return make


def test_a_failed_subscription_shows_the_reason_and_reprovision(
    vendor: FakeVendor,
    vendor_plan: ProductPlan,
    provision: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor.answer("failed: The tenant acme is suspended at the vendor.")
    subscription = provision(vendor_plan)

    page = admin_client.get(subscription.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("subscriptions:op_reprovision", kwargs={"pk": subscription.pk}), {}
        )
    after = admin_client.get(subscription.get_absolute_url()).content.decode()

    assert "Provisioning failed: The tenant acme is suspended at the vendor." in page
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": subscription.pk}) in page
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.status, subscription.provisioning_error) == ("active", "")
    assert 'id="provisioning-failed"' not in after
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": subscription.pk}) not in after


def test_a_pending_subscription_says_it_is_in_provisioning(
    customer: Account, clock: Any, vendor_plan: ProductPlan, subscribe: Any, admin_client: Any
) -> None:
    subscription = subscribe(customer, vendor_plan, 10, today())  # the vendor is not asked yet

    page = admin_client.get(subscription.get_absolute_url()).content.decode()

    assert "In provisioning: the vendor system is setting this subscription up." in page
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": subscription.pk}) not in page
    assert reverse("subscriptions:op_quantity", kwargs={"pk": subscription.pk}) not in page


def test_the_list_filters_pending_and_failed(
    customer: Account,
    clock: Any,
    vendor: FakeVendor,
    vendor_plan: ProductPlan,
    seats_plan: ProductPlan,
    provision: Any,
    subscribe: Any,
    make_plan: Any,
    admin_client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    vendor.answer(*["failed: No capacity."] * 3)
    failed = [
        provision(make_plan("12.00", product_type=vendor_plan.product.product_type), f"Lost {n}")
        for n in range(3)
    ]
    waiting = subscribe(customer, vendor_plan, 2, today(), friendly_name="Waiting one")
    provision(seats_plan, "Plain seats")

    with django_assert_max_num_queries(9):
        failed_page = admin_client.get(LIST, {"status": "failed"}).content.decode()
    pending_page = admin_client.get(LIST, {"status": "pending"}).content.decode()
    by_provisioning = admin_client.get(LIST, {"provisioning_status": "failed"}).content.decode()

    assert all(s.number in failed_page for s in failed)
    assert waiting.number not in failed_page
    assert "Plain seats" not in failed_page
    assert waiting.number in pending_page
    assert not any(s.number in pending_page for s in failed)
    assert all(s.number in by_provisioning for s in failed)


def test_the_api_reprovisions_and_answers_with_the_new_status(
    vendor: FakeVendor,
    vendor_plan: ProductPlan,
    provision: Any,
    admin_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor.answer("http 500: Internal error.")
    subscription = provision(vendor_plan)
    listed = admin_api.get("/api/v1/subscriptions/", {"status": "failed"}).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(
            f"/api/v1/subscriptions/{subscription.pk}/reprovision/", {}, format="json"
        )

    assert [row["provisioning_error"] for row in listed["results"]] == [
        "The provisioning endpoint answered HTTP 500 Internal Server Error. Internal error."
    ]
    assert response.status_code == 200
    # The answer is read before the after-commit job: it still says pending.
    assert (response.json()["status"], response.json()["provisioning_status"]) == (
        "pending",
        "pending",
    )
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert [body["action"] for body in vendor.provisioned] == ["create", "reprovision"]


def test_a_bundle_page_shows_each_components_provisioning_and_reprovision(
    customer: Account,
    clock: Any,
    vendor: FakeVendor,
    vendor_plan: ProductPlan,
    make_plan: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bundle_product = ProductFactory(kind=ProductKind.BUNDLE)
    bundle_plan = make_plan("15.00", product=bundle_product)
    BundleComponent.objects.create(bundle=bundle_product, component=vendor_plan.product)
    vendor.answer("failed: Seats unavailable.")
    with django_capture_on_commit_callbacks(execute=True):
        bundle = bundle_subscribe(
            actor=None,
            account=customer,
            product=bundle_product,
            plan=bundle_plan,
            quantity=2,
            start_date=today(),
        )

    page = admin_client.get(bundle.get_absolute_url()).content.decode()

    assert "Seats unavailable." in page
    assert reverse("subscriptions:op_reprovision", kwargs={"pk": bundle.pk}) in page
