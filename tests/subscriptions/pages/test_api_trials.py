"""Trial API: start, extend, upgrade (with its preview) and end a trial, each a POST;
amounts to the cent, refusals as 400 on the field, rights as on the trial pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Charge
from subscriptions.models import ChangeKind, Subscription, SubscriptionChange, SubscriptionStatus
from tests.billing.factories import CustomerFactory, ProductFactory
from tests.subscriptions.pages.conftest import OPERATOR_RIGHTS, at

pytestmark = pytest.mark.django_db

BASE = "/api/v1/subscriptions/"
START = f"{BASE}trials/"


def post(client: Any, subscription: Subscription, operation: str, body: dict, **headers: Any):
    return client.post(f"{BASE}{subscription.pk}/{operation}/", body, format="json", **headers)


def charges(subscription: Subscription) -> list[tuple[str, Decimal]]:
    return list(
        Charge.objects.filter(subscription_id=subscription.pk)
        .order_by("pk")
        .values_list("kind", "amount")
    )


@pytest.fixture
def trial_plan(make_plan: Any) -> Any:
    """12.00 a seat a month, 25.00 setup fee a seat, a 30-day trial of at most 20 seats."""
    return make_plan(
        "12.00", setup_fee="25.00", trial_enabled=True, trial_days=30, trial_max_quantity=20
    )


@pytest.fixture
def clerk(make_user: Any, customer: Any) -> Any:
    """The operator's rights plus starting trials (subscriptions.create), owning the customer."""
    user = make_user(*OPERATOR_RIGHTS, "subscriptions.create")
    customer.owner = user
    customer.save(update_fields=["owner"])
    return user


@pytest.fixture
def clerk_api(clerk: Any, api_client_for: Any) -> Any:
    return api_client_for(clerk)


@pytest.fixture
def trial(clock: Any, clerk_api: Any, customer: Any, trial_plan: Any) -> Subscription:
    """5 seats on trial from 10 March 2026 (the clock) to 8 April, ending (exclusive) 9 April."""
    response = clerk_api.post(
        START, {"account": customer.pk, "plan": trial_plan.pk, "quantity": 5}, format="json"
    )
    assert response.status_code == 201, response.json()
    return Subscription.objects.get(pk=response.json()["id"])


# ------------------------------------------------------------------------------ start


def test_start_a_trial_is_free_and_replayed_by_its_key(
    clock: Any, clerk_api: Any, customer: Any, trial_plan: Any
) -> None:
    body = {
        "account": customer.pk,
        "plan": trial_plan.pk,
        "product": trial_plan.product_id,
        "quantity": 5,
        "friendly_name": "Pilot",
    }
    key = {"HTTP_IDEMPOTENCY_KEY": "trial-pilot"}

    first = clerk_api.post(START, body, format="json", **key)
    again = clerk_api.post(START, body, format="json", **key)

    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    body_of = first.json()
    assert (body_of["status"], body_of["quantity"], body_of["friendly_name"]) == (
        "trial",
        5,
        "Pilot",
    )
    assert (body_of["start_date"], body_of["trial_end"]) == ("2026-03-10", "2026-04-09")
    [subscription] = Subscription.objects.all()
    assert subscription.changes.get().source == "api"
    assert charges(subscription) == []


def test_a_second_trial_of_the_product_is_refused(
    trial: Subscription, clerk_api: Any, customer: Any, trial_plan: Any
) -> None:
    response = clerk_api.post(
        START, {"account": customer.pk, "plan": trial_plan.pk, "quantity": 1}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["product"]
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 21}, "quantity"),
        ({"plan": "no-plan"}, "plan"),
        ({"start_date": "2026-03-09"}, "start_date"),
        ({"start_date": "10 March"}, "start_date"),
        ({"product": -1}, "plan"),
        ({"account": None}, "account"),
    ],
)
def test_start_refusals_name_the_field_and_write_nothing(
    clock: Any, clerk_api: Any, customer: Any, trial_plan: Any, change: dict, field: str
) -> None:
    body = {"account": customer.pk, "plan": trial_plan.pk, "quantity": 5, **change}

    response = clerk_api.post(START, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Subscription.objects.exists()


def test_start_refuses_a_plan_without_trial_and_an_account_the_user_may_not_edit(
    clock: Any, clerk_api: Any, customer: Any, make_plan: Any, trial_plan: Any
) -> None:
    no_trial = make_plan("12.00")
    stranger = CustomerFactory(is_ordering_enabled=True)

    without = clerk_api.post(
        START, {"account": customer.pk, "plan": no_trial.pk, "quantity": 1}, format="json"
    )
    foreign = clerk_api.post(
        START, {"account": stranger.pk, "plan": trial_plan.pk, "quantity": 1}, format="json"
    )

    assert (without.status_code, list(without.json()["errors"])) == (400, ["plan"])
    assert "has no trial" in without.json()["errors"]["plan"][0]
    assert (foreign.status_code, list(foreign.json()["errors"])) == (400, ["account"])
    assert not Subscription.objects.exists()


def test_starting_a_trial_needs_the_create_right(
    clock: Any, operator: Any, api_client_for: Any, customer: Any, trial_plan: Any
) -> None:
    response = api_client_for(operator).post(
        START, {"account": customer.pk, "plan": trial_plan.pk, "quantity": 5}, format="json"
    )

    assert response.status_code == 403
    assert not Subscription.objects.exists()


def test_an_add_on_trial_on_a_trial(
    trial: Subscription, clerk_api: Any, customer: Any, make_plan: Any
) -> None:
    addon_plan = make_plan(
        "2.00",
        product=ProductFactory(kind="addon", max_quantity=None),
        trial_enabled=True,
        trial_days=14,
    )

    response = clerk_api.post(
        START,
        {"account": customer.pk, "plan": addon_plan.pk, "quantity": 2, "parent": trial.pk},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["parent"], response.json()["trial_end"]) == (trial.pk, "2026-03-24")


# ----------------------------------------------------------------------------- extend


def test_extend_by_days_or_to_a_date(trial: Subscription, clerk_api: Any) -> None:
    by_days = post(clerk_api, trial, "extend-trial", {"days": 5})
    to_date = post(clerk_api, trial, "extend-trial", {"new_end": "2026-04-30"})

    assert by_days.status_code == 200
    assert by_days.json()["trial_end"] == "2026-04-14"
    assert to_date.json()["trial_end"] == "2026-04-30"
    assert [
        change.details
        for change in trial.changes.filter(kind=ChangeKind.TRIAL_EXTENDED).order_by("pk")
    ] == [
        {"old_end": "2026-04-09", "new_end": "2026-04-14"},
        {"old_end": "2026-04-14", "new_end": "2026-04-30"},
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "new_end"),
        ({"days": 3, "new_end": "2026-04-30"}, "new_end"),
        ({"days": 0}, "days"),
        ({"new_end": "2026-04-01"}, "new_end"),
    ],
)
def test_extend_refusals_name_the_field(
    trial: Subscription, clerk_api: Any, body: dict, field: str
) -> None:
    response = post(clerk_api, trial, "extend-trial", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    trial.refresh_from_db()
    assert trial.trial_end == date(2026, 4, 9)


def test_extending_needs_the_edit_right(
    trial: Subscription, make_user: Any, api_client_for: Any
) -> None:
    reader = make_user("subscriptions.view")
    trial.account.owner = reader
    trial.account.save(update_fields=["owner"])

    response = post(api_client_for(reader), trial, "extend-trial", {"days": 5})

    assert response.status_code == 403
    trial.refresh_from_db()
    assert trial.trial_end == date(2026, 4, 9)


# ---------------------------------------------------------------------------- upgrade


def test_upgrade_preview_then_upgrade_charges_the_first_period_and_the_setup_fee(
    trial: Subscription, clerk_api: Any, clock: Any
) -> None:
    # given the trial is upgraded to 10 seats on 20 March, billing day the 1st
    clock.move_to(at(2026, 3, 20, 10))
    # when the preview is asked
    preview = post(clerk_api, trial, "upgrade-trial-preview", {"quantity": 10})
    # then 10 x 12.00 x 12/31 = 46.45 for [20 Mar, 1 Apr) and 10 x 25.00 = 250.00 set-up
    assert preview.status_code == 200
    assert preview.json() == {
        "quantity": 10,
        "plan": trial.plan_id,
        "currency": "EUR",
        "unit_price": "12.0000",
        "period_start": "2026-03-20",
        "period_end": "2026-04-01",
        "first_period_amount": "46.45",
        "first_period_discount": "0.00",
        "first_period_net": "46.45",
        "setup_fee": "25.0000",
        "setup_fee_total": "250.00",
        "total": "296.45",
        "term_end": "2026-04-01",
    }
    # and nothing was written
    trial.refresh_from_db()
    assert (trial.status, trial.quantity) == (SubscriptionStatus.TRIAL, 5)
    assert charges(trial) == []
    assert not trial.changes.filter(kind=ChangeKind.TRIAL_CONVERTED).exists()
    # when it is upgraded, twice with the same key
    key = {"HTTP_IDEMPOTENCY_KEY": "upgrade-trial-once"}
    done = post(clerk_api, trial, "upgrade-trial", {"quantity": 10}, **key)
    again = post(clerk_api, trial, "upgrade-trial", {"quantity": 10}, **key)
    # then it is active from 20 March and charged exactly what the preview said, once
    assert done.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert (done.json()["status"], done.json()["quantity"]) == ("active", 10)
    assert (done.json()["current_period_start"], done.json()["current_period_end"]) == (
        "2026-03-20",
        "2026-04-01",
    )
    assert charges(trial) == [
        ("prorated_charge", Decimal("46.45")),
        ("setup_fee", Decimal("250.00")),
    ]
    assert trial.changes.get(kind=ChangeKind.TRIAL_CONVERTED).source == "api"
    # and a second upgrade without the key is refused on the status
    refused = post(clerk_api, trial, "upgrade-trial", {"quantity": 10})
    assert (refused.status_code, list(refused.json()["errors"])) == (400, ["status"])
    assert len(charges(trial)) == 2


def test_upgrade_keeps_the_trial_quantity_when_none_is_given(
    trial: Subscription, clerk_api: Any
) -> None:
    # upgraded on 10 March itself: 5 x 12.00 x 22/31 = 42.58, and 5 x 25.00
    response = post(clerk_api, trial, "upgrade-trial", {})

    assert response.json()["quantity"] == 5
    assert charges(trial) == [
        ("prorated_charge", Decimal("42.58")),
        ("setup_fee", Decimal("125.00")),
    ]


@pytest.mark.parametrize("operation", ["upgrade-trial", "upgrade-trial-preview"])
def test_upgrade_refusals_name_the_field_and_write_nothing(
    trial: Subscription, clerk_api: Any, make_plan: Any, operation: str
) -> None:
    other_product = make_plan("9.00")

    zero = post(clerk_api, trial, operation, {"quantity": 0})
    foreign_plan = post(clerk_api, trial, operation, {"plan": other_product.pk})
    unknown_plan = post(clerk_api, trial, operation, {"plan": 999999})

    assert [
        (response.status_code, list(response.json()["errors"]))
        for response in (zero, foreign_plan, unknown_plan)
    ] == [(400, ["quantity"]), (400, ["plan"]), (400, ["plan"])]
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.TRIAL
    assert charges(trial) == []


def test_an_ended_trial_cannot_be_upgraded(trial: Subscription, clerk_api: Any, clock: Any) -> None:
    clock.move_to(at(2026, 4, 9, 10))

    preview = post(clerk_api, trial, "upgrade-trial-preview", {})
    upgrade = post(clerk_api, trial, "upgrade-trial", {})

    assert (preview.status_code, list(preview.json()["errors"])) == (400, ["status"])
    assert "ended on 2026-04-08" in upgrade.json()["errors"]["status"][0]
    assert charges(trial) == []


def test_a_paid_subscription_has_no_trial_operations(
    live_subscription: Subscription, clerk_api: Any
) -> None:
    responses = [
        post(clerk_api, live_subscription, operation, body)
        for operation, body in [
            ("extend-trial", {"days": 5}),
            ("upgrade-trial", {"quantity": 3}),
            ("upgrade-trial-preview", {"quantity": 3}),
            ("end-trial", {}),
        ]
    ]

    assert [(r.status_code, list(r.json()["errors"])) for r in responses] == [(400, ["status"])] * 4
    live_subscription.refresh_from_db()
    assert (live_subscription.status, live_subscription.quantity) == ("active", 10)


# -------------------------------------------------------------------------------- end


def test_end_a_trial_now_with_its_add_on_trial(
    trial: Subscription, clerk_api: Any, customer: Any, make_plan: Any, clock: Any
) -> None:
    addon_plan = make_plan(
        "2.00",
        product=ProductFactory(kind="addon", max_quantity=None),
        trial_enabled=True,
        trial_days=60,
    )
    addon = clerk_api.post(
        START,
        {"account": customer.pk, "plan": addon_plan.pk, "quantity": 2, "parent": trial.pk},
        format="json",
    ).json()
    clock.move_to(at(2026, 3, 15, 10))

    response = post(clerk_api, trial, "end-trial", {"reason": "Chose another product"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["ended_on"]) == ("canceled", "2026-03-15")
    assert response.json()["end_reason"] == "Chose another product"
    ended_addon = Subscription.objects.get(pk=addon["id"])
    assert (ended_addon.status, ended_addon.ended_on) == ("canceled", date(2026, 3, 15))
    assert not Charge.objects.exists()
    again = post(clerk_api, trial, "end-trial", {})
    assert (again.status_code, list(again.json()["errors"])) == (400, ["status"])


def test_ending_a_trial_needs_the_cancel_right(
    trial: Subscription, make_user: Any, api_client_for: Any
) -> None:
    rights = [right for right in OPERATOR_RIGHTS if right != "subscriptions.cancel"]
    user = make_user(*rights)
    trial.account.owner = user
    trial.account.save(update_fields=["owner"])

    response = post(api_client_for(user), trial, "end-trial", {})

    assert response.status_code == 403
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.TRIAL
    assert not SubscriptionChange.objects.filter(kind=ChangeKind.CANCEL).exists()
