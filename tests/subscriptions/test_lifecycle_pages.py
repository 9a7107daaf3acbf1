"""Pages of trials and the request queue, the dashboard panel and the quantity report tool."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Account
from bss.setup.models import ToolRun
from bss.setup.tools.services import tool_run_execute, tool_run_start
from subscriptions import requests, services, trials
from subscriptions.models import (
    CustomerRequest,
    CustomerRequestStatus,
    Subscription,
    SubscriptionStatus,
)
from tests.billing.factories import ProductFactory, ProductTypeFactory

pytestmark = pytest.mark.django_db


def at(*parts: int) -> datetime:
    return timezone.make_aware(datetime(*parts))


def owning(account: Account, user: Any) -> Any:
    """Users without the admin flag see the accounts they own."""
    Account.objects.filter(pk=account.pk).update(owner=user)
    return user


@pytest.fixture
def trial_plan(make_plan: Any) -> Any:
    return make_plan("12.00", trial_enabled=True, trial_days=30)


@pytest.fixture
def running_trial(customer: Account, trial_plan: Any, admin_user: Any) -> Subscription:
    return trials.trial_create(
        actor=admin_user,
        account=customer,
        product=trial_plan.product,
        plan=trial_plan,
        quantity=3,
        start_date=timezone.localdate(),
    )


def test_trial_create_page_starts_a_trial_and_names_bad_fields(
    customer: Account, trial_plan: Any, make_user: Any, client_for: Any
) -> None:
    user = owning(
        customer, make_user("subscriptions.create", "subscriptions.view", "accounts.edit")
    )
    client = client_for(user)
    url = reverse("lifecycle:trial_create")
    page = client.get(url, {"account": customer.pk})
    assert page.status_code == 200
    assert trial_plan.product.name in page.content.decode()
    bad = client.post(
        url,
        {
            "account": customer.pk,
            "plan": trial_plan.pk,
            "quantity": "0",
            "start_date": timezone.localdate().isoformat(),
        },
    )
    assert bad.status_code == 400
    assert "quantity" in bad.context["form"].errors
    past = client.post(
        url,
        {
            "account": customer.pk,
            "plan": trial_plan.pk,
            "quantity": "2",
            "start_date": "2020-01-01",
        },
    )
    assert "start_date" in past.context["form"].errors
    assert not Subscription.objects.exists()
    done = client.post(
        url,
        {
            "account": customer.pk,
            "plan": trial_plan.pk,
            "quantity": "2",
            "start_date": timezone.localdate().isoformat(),
        },
    )
    assert done.status_code == 302
    assert Subscription.objects.get().status == SubscriptionStatus.TRIAL


def test_trial_extend_and_upgrade_pages(
    running_trial: Subscription,
    customer: Account,
    make_user: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = owning(customer, make_user("subscriptions.edit", "subscriptions.view", "accounts.view"))
    client = client_for(user)
    extend_url = reverse("lifecycle:trial_extend", kwargs={"pk": running_trial.pk})
    refused = client.post(extend_url, {"new_end": running_trial.trial_end.isoformat()})
    assert refused.status_code == 400
    assert "new_end" in refused.context["form"].errors
    new_end = running_trial.trial_end + timezone.timedelta(days=10)
    assert client.post(extend_url, {"new_end": new_end.isoformat()}).status_code == 302
    running_trial.refresh_from_db()
    assert running_trial.trial_end == new_end

    upgrade_url = reverse("lifecycle:trial_upgrade", kwargs={"pk": running_trial.pk})
    page = client.get(upgrade_url)
    assert page.status_code == 200
    assert page.context["preview"]["price"] == running_trial.unit_price
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(upgrade_url, {"quantity": "4", "friendly_name": "Team"})
    assert response.status_code == 302
    running_trial.refresh_from_db()
    assert (running_trial.status, running_trial.quantity) == (SubscriptionStatus.ACTIVE, 4)
    # a paid subscription has no trial pages
    assert client.get(upgrade_url).status_code == 404


def test_trial_list_and_account_panel(
    running_trial: Subscription,
    customer: Account,
    admin_client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    with django_assert_max_num_queries(12):
        page = admin_client.get(reverse("lifecycle:trial_list"))
    assert page.status_code == 200
    assert running_trial.number in page.content.decode()
    account_page = admin_client.get(customer.get_absolute_url())
    assert reverse("lifecycle:trial_upgrade", kwargs={"pk": running_trial.pk}) in (
        account_page.content.decode()
    )


@pytest.fixture
def waiting_request(
    customer: Account, make_plan: Any, subscribe: Any, django_capture_on_commit_callbacks: Any
) -> CustomerRequest:
    plan = make_plan("12.00", product_type=ProductTypeFactory())
    when = at(2025, 4, 1, 9)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe(customer, plan, 10, when.date(), effective_at=when)
    return requests.customer_request_submit(
        actor=None, subscription=subscription, kind="cancel", timing="end_of_period"
    )


def test_request_queue_lists_pending_requests(
    waiting_request: CustomerRequest,
    make_user: Any,
    client_for: Any,
    django_assert_max_num_queries: Any,
) -> None:
    url = reverse("lifecycle:request_queue")
    assert client_for(make_user("subscriptions.view")).get(url).status_code == 403
    client = client_for(
        owning(waiting_request.subscription.account, make_user("subscriptions.approve_requests"))
    )
    with django_assert_max_num_queries(12):
        page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert waiting_request.subscription.number in body
    assert reverse("lifecycle:request_decide", kwargs={"pk": waiting_request.pk}) in body
    export = client.get(url, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    assert sheet.cell(row=2, column=3).value == waiting_request.subscription.number


def test_approve_from_the_queue_page(
    waiting_request: CustomerRequest,
    make_user: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(
        owning(waiting_request.subscription.account, make_user("subscriptions.approve_requests"))
    )
    url = reverse("lifecycle:request_decide", kwargs={"pk": waiting_request.pk})
    page = client.get(url)
    assert page.status_code == 200
    assert "refund" not in page.context["form"].fields  # needs subscriptions.custom_refund
    refused = client.post(url, {"decision": "approve", "timing": "specific_date"})
    assert refused.status_code == 400
    assert "cancel_date" in refused.context["form"].errors
    with time_machine.travel(at(2025, 4, 20, 9), tick=False):
        done = client.post(url, {"decision": "approve", "timing": "end_of_period"})
    assert done.status_code == 302
    waiting_request.refresh_from_db()
    assert waiting_request.status == CustomerRequestStatus.APPROVED
    waiting_request.subscription.refresh_from_db()
    assert waiting_request.subscription.status == SubscriptionStatus.PENDING_CANCEL


def test_reject_from_the_queue_page(
    waiting_request: CustomerRequest, make_user: Any, client_for: Any
) -> None:
    client = client_for(
        owning(waiting_request.subscription.account, make_user("subscriptions.approve_requests"))
    )
    url = reverse("lifecycle:request_decide", kwargs={"pk": waiting_request.pk})
    assert client.post(url, {"decision": "reject", "note": "Contract"}).status_code == 302
    waiting_request.refresh_from_db()
    assert waiting_request.status == CustomerRequestStatus.REJECTED


def test_dashboard_shows_pending_requests_to_approvers_only(
    waiting_request: CustomerRequest, make_user: Any, client_for: Any
) -> None:
    approver = client_for(
        owning(waiting_request.subscription.account, make_user("subscriptions.approve_requests"))
    )
    body = approver.get(reverse("core:dashboard")).content.decode()
    assert "Pending subscription cancellation requests" in body
    assert waiting_request.subscription.account.name in body
    other = client_for(make_user("subscriptions.view"))
    assert "Pending subscription cancellation requests" not in (
        other.get(reverse("core:dashboard")).content.decode()
    )


def test_quantity_report_tool(
    customer: Account,
    make_plan: Any,
    subscribe: Any,
    admin_user: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a subscription with an increase, a decrease and an add-on canceled
    plan = make_plan("12.00")
    when = at(2025, 4, 1, 9)
    with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
        main = subscribe(customer, plan, 10, when.date(), effective_at=when)
        addon_plan = make_plan("2.00", product=ProductFactory(kind="addon", max_quantity=None))
        addon = subscribe(customer, addon_plan, 4, when.date(), parent=main, effective_at=when)
    for quantity, day in ((15, 10), (12, 20)):
        moment = at(2025, 4, day, 9)
        with time_machine.travel(moment, tick=False):
            services.subscription_change_quantity(
                actor=None, subscription=main, new_quantity=quantity, effective_at=moment
            )
    with time_machine.travel(at(2025, 4, 25, 9), tick=False):
        services.subscription_cancel(
            actor=None, subscription=addon, timing="immediate", effective_at=at(2025, 4, 25, 9)
        )
    everything = {
        "date_from": "2025-04-01",
        "date_to": "2025-04-30",
        "include_increase": "on",
        "include_decrease": "on",
        "scope": "both",
        "change_scope": "both",
    }

    def report(**changes: Any) -> list[list[Any]]:
        data = {key: value for key, value in {**everything, **changes}.items() if value}
        run = tool_run_start(actor=admin_user, tool_code="subscriptions.quantity_report", data=data)
        tool_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == ToolRun.Status.COMPLETED, run.error
        return run.result_rows

    rows = report()
    assert [row[1:] for row in rows] == [
        [main.number, "Subscription", main.product.name, "2025-04-10", 10, 5, 15, "Increase"],
        [main.number, "Subscription", main.product.name, "2025-04-20", 15, -3, 12, "Decrease"],
        [addon.number, "Add-on", addon.product.name, "2025-04-25", 4, -4, 0, "Cancellation"],
    ]
    assert rows[0][0] == customer.name
    assert [row[8] for row in report(include_decrease="")] == ["Increase"]
    assert [row[8] for row in report(change_scope="cancellation")] == ["Cancellation"]
    assert [row[8] for row in report(change_scope="quantity", include_increase="")] == ["Decrease"]
    assert [row[1] for row in report(scope="addons")] == [addon.number]
    assert report(date_from="2025-04-21", scope="subscriptions") == []
    # the tool page names a bad field and starts nothing
    page = admin_client.post(
        reverse("setup:tool_detail", kwargs={"code": "subscriptions.quantity_report"}),
        {**everything, "date_to": "2025-03-01"},
    )
    assert "date_to" in page.context["form"].errors
    run = ToolRun.objects.order_by("pk").last()
    export = admin_client.get(reverse("setup:tool_run_export", kwargs={"pk": run.pk}))
    content = export.content if hasattr(export, "content") else b"".join(export.streaming_content)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.cell(row=1, column=6).value == "Initial quantity"
