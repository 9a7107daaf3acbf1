"""Executing orders: whole, twice, after a crash, in sub-orders, and through the manual queue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from billing.models import Charge, Invoice
from bss.core.models import Event
from catalogue.models import ProductKind
from orders import execution, selectors, services, statuses
from orders.models import DeliveryStatus, Order, OrderStatus
from orders.tasks import execute_order
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.catalogue.factories import ProductFactory, ProductTypeFactory

pytestmark = pytest.mark.django_db

D = Decimal
DAY_1 = date(2026, 4, 16)


@pytest.fixture(autouse=True)
def april_16() -> Any:
    with time_machine.travel(date(2026, 4, 16), tick=False) as traveller:
        yield traveller


@pytest.fixture
def two_item_order(customer: Any, make_plan: Any) -> Order:
    """S15's O-100: item A (5 seats from vendor X), item B (2 seats from vendor Y)."""
    seats = make_plan(EUR="12", name="Vendor X Seats")
    backup = make_plan(EUR="30", name="Vendor Y Backup")
    order = services.order_create(actor=None, account=customer, name="O-100")
    services.order_item_add(actor=None, order=order, product=seats.product, plan=seats, quantity=5)
    services.order_item_add(
        actor=None, order=order, product=backup.product, plan=backup, quantity=2
    )
    return order


def one_set(order: Order) -> tuple[int, int, int]:
    """(subscriptions, charges, invoices) the order made."""
    item_ids = list(order.items.values_list("pk", flat=True)) + list(
        selectors.Order.objects.filter(parent_order=order).values_list("items__pk", flat=True)
    )
    subscriptions = Subscription.objects.filter(origin_order_item_id__in=item_ids)
    charges = Charge.objects.filter(subscription_id__in=subscriptions.values("pk"))
    return (
        subscriptions.count(),
        charges.count(),
        Invoice.objects.filter(billing_account=order.billing_account).count(),
    )


def test_executing_creates_one_subscription_per_item_and_invoices_on_order_day(
    two_item_order: Order, sales_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = execution.order_execute(actor=sales_user, order=two_item_order, start_date=DAY_1)

    two_item_order.refresh_from_db()
    assert two_item_order.status.name == "Executed"
    assert two_item_order.executed_by == sales_user
    subscriptions = Subscription.objects.filter(pk__in=result.subscription_ids).order_by("pk")
    assert [(s.product.name, s.quantity, s.unit_price) for s in subscriptions] == [
        ("Vendor X Seats", 5, D("12")),
        ("Vendor Y Backup", 2, D("30")),
    ]
    assert {s.origin_order_item_id for s in subscriptions} == set(
        two_item_order.items.values_list("pk", flat=True)
    )
    assert set(two_item_order.items.values_list("delivery_status", flat=True)) == {"delivered"}
    # Order day: one invoice for both items, 5 x 12 + 2 x 30 = 120.00 net, 24 % VAT
    [invoice] = Invoice.objects.filter(billing_account=two_item_order.billing_account)
    assert (invoice.net_total, invoice.gross_total) == (D("120.00"), D("148.80"))
    assert (
        Event.objects.filter(name="order.executed", aggregate_id=str(two_item_order.pk)).count()
        == 1
    )


def test_executing_twice_creates_nothing_twice(
    two_item_order: Order, sales_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        execution.order_execute(actor=sales_user, order=two_item_order, start_date=DAY_1)
    first = one_set(two_item_order)

    with django_capture_on_commit_callbacks(execute=True):
        again = execution.order_execute(actor=sales_user, order=two_item_order, start_date=DAY_1)

    assert again.already_executed
    assert one_set(two_item_order) == first == (2, 2, 1)
    assert Event.objects.filter(name="order.executed").count() == 1


def test_a_job_that_crashed_in_the_middle_is_retried_cleanly(
    two_item_order: Order, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given: the worker dies after the first item's subscription and charges were written
    real_create = subscription_services.subscription_create
    calls = []

    def dies_on_the_second_item(**kwargs: Any) -> Any:
        calls.append(kwargs["origin_order_item_id"])
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real_create(**kwargs)

    monkeypatch.setattr(subscription_services, "subscription_create", dies_on_the_second_item)
    with pytest.raises(SystemExit):
        execute_order(two_item_order.pk, None, DAY_1.isoformat())

    # then: nothing of the first item survived the crash
    assert one_set(two_item_order) == (0, 0, 0)
    two_item_order.refresh_from_db()
    assert two_item_order.status.name == "Submitted"

    # when: the broker redelivers the task, twice
    monkeypatch.setattr(subscription_services, "subscription_create", real_create)
    with django_capture_on_commit_callbacks(execute=True):
        assert execute_order(two_item_order.pk, None, DAY_1.isoformat()) == "executed"
    with django_capture_on_commit_callbacks(execute=True):
        assert execute_order(two_item_order.pk, None, DAY_1.isoformat()) == "already executed"

    # then: exactly one set of subscriptions and charges
    assert one_set(two_item_order) == (2, 2, 1)


def test_subscription_create_is_the_second_guard(two_item_order: Order) -> None:
    """Even past the status guard, an item id already executed returns its subscription."""
    execution.order_execute(actor=None, order=two_item_order, start_date=DAY_1)
    item = two_item_order.items.first()

    again = subscription_services.subscription_create(
        actor=None,
        account=two_item_order.account,
        product=item.product,
        plan=item.plan,
        quantity=item.quantity,
        start_date=DAY_1,
        origin_order_item_id=item.pk,
    )

    assert again.pk == item.__class__.objects.get(pk=item.pk).created_subscription_id
    assert Subscription.objects.count() == 2


def test_a_draft_cannot_be_executed_from_the_bss(customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="10")
    order = services.order_create(actor=None, account=customer, status=statuses.mandatory("draft"))
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)

    with pytest.raises(ValidationError, match="draft of an open Storefront checkout"):
        execution.order_execute(actor=None, order=order)
    assert not Subscription.objects.exists()


def test_a_canceled_order_cannot_be_executed(two_item_order: Order) -> None:
    services.order_cancel(actor=None, order=two_item_order)

    with pytest.raises(ValidationError, match="is canceled"):
        execution.order_execute(actor=None, order=two_item_order)
    assert not Subscription.objects.exists()


def test_add_ons_go_under_their_parent_subscription(customer: Any, make_plan: Any) -> None:
    mailbox = make_plan(EUR="5", name="Mailbox")
    archive_product = ProductFactory(name="Archive", kind=ProductKind.ADDON)
    archive_product.primary_products.set([mailbox.product])
    archive = make_plan(product=archive_product, EUR="2")
    order = services.order_create(actor=None, account=customer)
    parent = services.order_item_add(
        actor=None, order=order, product=mailbox.product, plan=mailbox, quantity=10
    )
    services.order_item_add(
        actor=None,
        order=order,
        product=archive_product,
        plan=archive,
        quantity=10,
        parent_item=parent,
    )

    execution.order_execute(actor=None, order=order, start_date=DAY_1)

    addon = Subscription.objects.get(product=archive_product)
    assert addon.parent.product == mailbox.product


def test_change_items_apply_to_their_target(customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="10", name="Seats")
    seats = subscription_services.subscription_create(
        actor=None, account=customer, product=plan.product, plan=plan, quantity=10, start_date=DAY_1
    )
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(
        actor=None,
        order=order,
        product=plan.product,
        plan=plan,
        quantity=15,
        action="change_quantity",
        target_subscription_id=seats.pk,
    )

    execution.order_execute(actor=None, order=order, start_date=DAY_1)

    seats.refresh_from_db()
    assert seats.quantity == 15


# ------------------------------------------------------------------------ sub-orders (S15)


def test_s15_delivering_items_in_sub_orders(
    two_item_order: Order, sales_user: Any, april_16: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item_a, item_b = two_item_order.items.order_by("position")

    with django_capture_on_commit_callbacks(execute=True):
        first = execution.order_deliver_items(
            actor=sales_user, order=two_item_order, items=[item_a], start_date=DAY_1
        )

    sub_a = first.sub_order
    assert sub_a.parent_order == two_item_order
    assert sub_a.status.name == "Executed"
    assert [i.product.name for i in sub_a.items.all()] == ["Vendor X Seats"]
    [subscription_a] = Subscription.objects.all()
    assert (subscription_a.quantity, subscription_a.start_date) == (5, DAY_1)
    item_a.refresh_from_db()
    item_b.refresh_from_db()
    assert (item_a.delivery_status, item_a.delivered_in) == (DeliveryStatus.DELIVERED, sub_a)
    assert item_b.delivery_status == DeliveryStatus.PENDING
    two_item_order.refresh_from_db()
    assert two_item_order.status.name == "Submitted"
    assert Invoice.objects.count() == 1

    april_16.move_to(date(2026, 4, 18))
    with django_capture_on_commit_callbacks(execute=True):
        second = execution.order_deliver_items(
            actor=sales_user, order=two_item_order, items=[item_b], start_date=date(2026, 4, 18)
        )

    assert second.sub_order != sub_a
    assert Subscription.objects.get(product=item_b.product).start_date == date(2026, 4, 18)
    two_item_order.refresh_from_db()
    assert two_item_order.status.name == "Executed"
    assert Subscription.objects.count() == 2
    with pytest.raises(ValidationError, match="is executed"):
        execution.order_deliver_items(actor=sales_user, order=two_item_order, items=[item_b])


def test_delivering_an_item_twice_is_refused(two_item_order: Order) -> None:
    item_a = two_item_order.items.order_by("position").first()
    execution.order_deliver_items(
        actor=None, order=two_item_order, items=[item_a], start_date=DAY_1
    )

    with pytest.raises(ValidationError, match="already delivered"):
        execution.order_deliver_items(
            actor=None, order=two_item_order, items=[item_a], start_date=DAY_1
        )
    assert Subscription.objects.count() == 1


# ---------------------------------------------------------------------- manual provisioning


@pytest.fixture
def managed_backup(make_plan: Any) -> Any:
    """S14: a product type with "non-automatic execution of new orders"."""
    product_type = ProductTypeFactory(name="Managed Backup", non_auto_new_orders=True)
    return make_plan(product_type=product_type, EUR="50", name="Managed Backup 1 TB")


def test_s14_a_manual_item_waits_in_the_in_progress_status(
    customer: Any, managed_backup: Any, sales_user: Any, django_assert_max_num_queries: Any
) -> None:
    waiting = services.order_status_create(
        actor=None,
        name="In provisioning",
        status_type="in_progress",
        storefront_type="viewable",
        is_default=True,
    )
    order = services.order_create(
        actor=None,
        account=customer,
        status=statuses.mandatory("draft"),
        source="storefront",
        owner=sales_user,
    )
    services.order_item_add(
        actor=None, order=order, product=managed_backup.product, plan=managed_backup
    )

    result = execution.order_submit(actor=None, order=order)

    assert result.went_to_manual
    order.refresh_from_db()
    assert order.status == waiting
    assert (order.net_total, order.gross_total) == (D("50.00"), D("62.00"))
    assert not Subscription.objects.exists()
    assert Event.objects.filter(name="order.manual_management").count() == 1
    with django_assert_max_num_queries(4):
        queue = selectors.manual_queue(sales_user)
    assert queue == [order]
    assert order.items.get().delivery_status == "pending"

    execution.order_execute(actor=sales_user, order=order, start_date=DAY_1)

    order.refresh_from_db()
    assert order.status.name == "Executed"
    assert order.items.get().delivery_status == "delivered"
    assert selectors.manual_queue(sales_user) == []


def test_s14_without_an_in_progress_status_the_user_is_told_to_create_one(
    customer: Any, managed_backup: Any
) -> None:
    order = services.order_create(actor=None, account=customer)
    services.order_item_add(
        actor=None, order=order, product=managed_backup.product, plan=managed_backup
    )

    with pytest.raises(ValidationError, match="Create one in Setup > Order statuses"):
        execution.order_submit(actor=None, order=order)
    assert OrderStatus.objects.count() == 4


def test_a_checkout_of_automatic_products_executes_at_once(customer: Any, make_plan: Any) -> None:
    plan = make_plan(EUR="10")
    order = services.order_create(actor=None, account=customer, status=statuses.mandatory("draft"))
    services.order_item_add(actor=None, order=order, product=plan.product, plan=plan)

    result = execution.order_submit(actor=None, order=order, start_date=DAY_1)

    assert not result.went_to_manual
    order.refresh_from_db()
    assert order.status.name == "Executed"
    assert Event.objects.filter(name="order.submitted", aggregate_id=str(order.pk)).count() == 1
    assert Subscription.objects.count() == 1


def test_the_audit_trail_names_who_executed(two_item_order: Order, sales_user: Any) -> None:
    from bss.core.audit import audit_trail

    execution.order_execute(actor=sales_user, order=two_item_order, start_date=DAY_1)

    [status_change] = [
        entry
        for entry in audit_trail(two_item_order)
        if entry.action == entry.Action.UPDATE and "status" in (entry.changes_dict or {})
    ]
    assert status_change.actor == sales_user


def test_the_first_invoice_takes_the_chosen_date(
    two_item_order: Order, sales_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        execution.order_execute(
            actor=sales_user,
            order=two_item_order,
            start_date=DAY_1,
            invoice_date=date(2026, 4, 17),
        )

    [invoice] = Invoice.objects.all()
    assert invoice.invoice_date == date(2026, 4, 17)
    assert invoice.net_total == D("120.00")


def test_an_invoice_date_before_the_start_is_refused(two_item_order: Order) -> None:
    with pytest.raises(ValidationError, match="before the start date"):
        execution.order_execute(
            actor=None, order=two_item_order, start_date=DAY_1, invoice_date=date(2026, 4, 1)
        )
    assert not Subscription.objects.exists()


def test_one_off_items_become_assets_exactly_once(customer: Any, make_plan: Any) -> None:
    from catalogue.models import BillingCycle
    from subscriptions.models import Asset

    onboarding = make_plan(cycle=BillingCycle.ONE_TIME, EUR="450", name="Onboarding")
    order = services.order_create(actor=None, account=customer)
    item = services.order_item_add(
        actor=None, order=order, product=onboarding.product, plan=onboarding
    )

    result = execution.order_execute(actor=None, order=order, start_date=DAY_1)
    execution.order_execute(actor=None, order=order, start_date=DAY_1)

    [asset] = Asset.objects.all()
    assert result.asset_ids == [asset.pk]
    assert (asset.origin_order_item_id, asset.quantity, asset.unit_price) == (item.pk, 1, D("450"))
    assert not Subscription.objects.exists()
