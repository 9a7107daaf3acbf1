"""The outbox in one process: emit, dispatch after commit, retries, claims and the sweep.

Tasks run eagerly here (no CELERY_BROKER_URL); test_outbox_redis.py runs the same
machinery on a real broker and worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from bss.core.events import (
    ALL_EVENTS,
    EventHandler,
    emit_event,
    handler_name,
    subscribe,
    unsubscribe,
)
from bss.core.models import Event, EventDelivery, NumberSequence
from bss.core.tasks import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    SWEEP_GRACE,
    claim_event,
    dispatch_event,
    sweep_outbox,
)
from tests.core.conftest import free_port
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

received: list[tuple[str, str, int]] = []
flaky_failures_left: list[int] = []


def invoice_mailer(event: Event) -> None:
    received.append(("invoice_mailer", event.name, event.pk))


def webhook_sender(event: Event) -> None:
    received.append(("webhook_sender", event.name, event.pk))


def flaky_ledger(event: Event) -> None:
    """Writes a row, then fails while failures are left: the row must not survive."""
    NumberSequence.objects.create(name=f"ledger:{event.pk}:{len(flaky_failures_left)}")
    if flaky_failures_left:
        flaky_failures_left.pop()
        raise RuntimeError("ledger is locked")
    received.append(("flaky_ledger", event.name, event.pk))


@pytest.fixture(autouse=True)
def _tasks_run_eagerly(publish_to: Callable[..., None]) -> None:
    publish_to(None, eager=True)


@pytest.fixture
def subscribed() -> Iterator[Callable[[str, EventHandler], None]]:
    """Subscribe handlers for one test; they are unsubscribed and their record cleared after."""
    registrations: list[tuple[str, EventHandler]] = []

    def register(event_name: str, handler: EventHandler) -> None:
        subscribe(event_name, handler)
        registrations.append((event_name, handler))

    received.clear()
    flaky_failures_left.clear()
    yield register
    for event_name, handler in registrations:
        unsubscribe(event_name, handler)
    received.clear()


def delivered_handlers(event: Event) -> list[str]:
    return sorted(EventDelivery.objects.filter(event=event).values_list("handler", flat=True))


def test_an_event_is_dispatched_after_commit_to_each_handler_once(
    subscribed: Callable[[str, EventHandler], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    subscribed("sample.issued", invoice_mailer)
    subscribed("sample.issued", webhook_sender)
    actor = UserFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = emit_event(
            "sample.issued", actor=actor, aggregate=actor, payload={"number": "INV-000042"}
        )
        received_before_commit = list(received)

    # then
    assert received_before_commit == []
    assert received == [
        ("invoice_mailer", "sample.issued", event.pk),
        ("webhook_sender", "sample.issued", event.pk),
    ]
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (Event.Status.DISPATCHED, 1, "")
    assert (event.actor, event.aggregate_type, event.aggregate_id) == (
        actor,
        "setup.user",
        str(actor.pk),
    )
    assert event.payload == {"number": "INV-000042"}
    assert delivered_handlers(event) == sorted(
        [handler_name(invoice_mailer), handler_name(webhook_sender)]
    )


@transaction.atomic
def issue_invoice_then_fail() -> None:
    emit_event("sample.issued", payload={"number": "INV-000042"})
    raise ValueError("tax id rejected")


def test_an_event_emitted_in_a_rolled_back_transaction_dispatches_nothing(
    subscribed: Callable[[str, EventHandler], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    subscribed("sample.issued", invoice_mailer)

    # when
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValueError, match="tax id rejected"),
    ):
        issue_invoice_then_fail()

    # then
    assert callbacks == []
    assert received == []
    assert not Event.objects.exists()


def test_a_failing_handler_leaves_the_event_pending_and_only_it_runs_again(
    subscribed: Callable[[str, EventHandler], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the ledger handler fails once
    subscribed("payment.received", invoice_mailer)
    subscribed("payment.received", flaky_ledger)
    flaky_failures_left.append(1)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_event("payment.received", payload={"amount": "120.00"})

    # then: the mailer has it; the ledger's work was rolled back with its delivery row
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.PENDING, 1)
    assert event.last_error == f"{handler_name(flaky_ledger)}: RuntimeError: ledger is locked"
    assert delivered_handlers(event) == [handler_name(invoice_mailer)]
    assert received == [("invoice_mailer", "payment.received", event.pk)]
    assert not NumberSequence.objects.filter(name__startswith=f"ledger:{event.pk}:").exists()

    # when: it is dispatched again
    assert dispatch_event(event.pk) == Event.Status.DISPATCHED

    # then: only the ledger ran
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (Event.Status.DISPATCHED, 2, "")
    assert received == [
        ("invoice_mailer", "payment.received", event.pk),
        ("flaky_ledger", "payment.received", event.pk),
    ]
    assert delivered_handlers(event) == sorted(
        [handler_name(invoice_mailer), handler_name(flaky_ledger)]
    )
    assert NumberSequence.objects.filter(name__startswith=f"ledger:{event.pk}:").count() == 1


def test_an_event_that_keeps_failing_is_given_up_after_the_last_attempt(
    subscribed: Callable[[str, EventHandler], None],
) -> None:
    # given: the message was lost; the event has used all but one attempt
    subscribed("payment.received", flaky_ledger)
    flaky_failures_left.append(1)
    event = emit_event("payment.received")
    Event.objects.filter(pk=event.pk).update(attempts=MAX_ATTEMPTS - 1)

    # when
    outcome = dispatch_event(event.pk)

    # then
    assert outcome == Event.Status.FAILED
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.FAILED, MAX_ATTEMPTS)
    assert sweep_outbox() == 0


def test_dispatching_an_event_twice_delivers_it_once(
    subscribed: Callable[[str, EventHandler], None],
) -> None:
    # given: an event already dispatched
    subscribed("order.completed", invoice_mailer)
    event = emit_event("order.completed")
    assert dispatch_event(event.pk) == Event.Status.DISPATCHED

    # when: the message is redelivered
    outcome = dispatch_event(event.pk)

    # then
    assert outcome == "not claimable"
    assert received == [("invoice_mailer", "order.completed", event.pk)]

    # when: a worker delivered it but died before recording that (the event is pending
    # again after the sweep took the claim over)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.PENDING)
    assert dispatch_event(event.pk) == Event.Status.DISPATCHED

    # then: the handler is not run again
    assert received == [("invoice_mailer", "order.completed", event.pk)]
    assert EventDelivery.objects.filter(event=event).count() == 1


def test_the_sweep_dispatches_a_missed_event_after_the_grace_period(
    subscribed: Callable[[str, EventHandler], None],
) -> None:
    # given: an event whose dispatch message never arrived (on_commit does not run here)
    subscribed("order.completed", invoice_mailer)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        event = emit_event("order.completed")

        # when / then: while its own message may still come, the sweep leaves it
        assert sweep_outbox() == 0
        assert received == []

        # when / then: after the grace period the sweep dispatches it
        clock.shift(SWEEP_GRACE + timedelta(seconds=1))
        assert sweep_outbox() == 1
    event.refresh_from_db()
    assert event.status == Event.Status.DISPATCHED
    assert received == [("invoice_mailer", "order.completed", event.pk)]


def test_a_stale_claim_is_taken_over_by_the_sweep_and_a_fresh_one_is_not(
    subscribed: Callable[[str, EventHandler], None],
) -> None:
    # given: a worker claimed the event and died
    subscribed("order.completed", invoice_mailer)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        event = emit_event("order.completed")
        assert claim_event(event.pk) is not None

        # when / then: a live claim is left to its worker
        clock.shift(SWEEP_GRACE + timedelta(seconds=1))
        assert claim_event(event.pk) is None
        assert sweep_outbox() == 0

        # when / then: a claim older than any dispatch may live is taken over
        clock.shift(CLAIM_TIMEOUT)
        assert sweep_outbox() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.DISPATCHED, 2)
    assert received == [("invoice_mailer", "order.completed", event.pk)]


def handler_outlived_by_its_claim(event: Event) -> None:
    """Runs so long that the sweep hands the event to another worker meanwhile."""
    Event.objects.filter(pk=event.pk).update(claimed_at=event.claimed_at + CLAIM_TIMEOUT)
    received.append(("handler_outlived_by_its_claim", event.name, event.pk))


def test_a_dispatch_that_lost_its_claim_leaves_the_outcome_to_the_new_holder(
    subscribed: Callable[[str, EventHandler], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given
    subscribed("order.completed", handler_outlived_by_its_claim)
    event = emit_event("order.completed")

    # when
    dispatch_event(event.pk)

    # then: the event stays with the worker that holds the claim now
    event.refresh_from_db()
    assert event.status == Event.Status.DISPATCHING
    assert event.dispatched_at is None
    assert f"outbox: event {event.pk} was taken over before this dispatch finished" in [
        record.getMessage() for record in caplog.records
    ]


def test_a_star_subscriber_receives_every_event_once(
    subscribed: Callable[[str, EventHandler], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the webhook sender listens to everything, and to one name explicitly too
    subscribed(ALL_EVENTS, webhook_sender)
    subscribed("account.created", webhook_sender)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        created = emit_event("account.created")
        suspended = emit_event("subscription.suspended")

    # then
    assert received == [
        ("webhook_sender", "account.created", created.pk),
        ("webhook_sender", "subscription.suspended", suspended.pk),
    ]


def test_an_event_without_handlers_is_marked_dispatched(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_event("catalogue.product_renamed")

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.DISPATCHED, 1)
    assert not EventDelivery.objects.filter(event=event).exists()


def make_numbered_handler(number: int) -> EventHandler:
    def handle(event: Event) -> None:
        received.append((f"handler {number}", event.name, event.pk))

    return handle


def test_subscribe_refuses_a_second_handler_under_the_same_name(
    subscribed: Callable[[str, EventHandler], None],
) -> None:
    # given: closures made by one factory share one qualified name
    subscribed("order.completed", make_numbered_handler(1))

    # when / then: the second would share the first one's delivery record and never run
    with pytest.raises(ValueError, match="another handler is already subscribed"):
        subscribe("order.completed", make_numbered_handler(2))


def test_an_unreachable_broker_leaves_the_event_pending_for_the_sweep(
    subscribed: Callable[[str, EventHandler], None],
    publish_to: Callable[..., None],
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: a broker URL where nothing listens
    subscribed("order.completed", invoice_mailer)
    publish_to(f"redis://127.0.0.1:{free_port()}/0")

    # when
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_event("order.completed")
    seconds = time.monotonic() - started

    # then: the commit was not held up, and the event waits
    assert seconds < 5
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.PENDING, 0)
    assert received == []
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        f"outbox: event {event.pk} not queued"
    ]
