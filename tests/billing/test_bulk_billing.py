"""The billing run's bulk path writes exactly what bill_account writes, account by account."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import Account
from billing.bulk import NUMBER_PENDING, bill_accounts_bulk
from billing.engine import bill_account
from billing.models import Charge, Invoice
from bss.core.models import Event
from subscriptions.models import Subscription, SubscriptionChange
from tests.billing.run_data import (
    RUN_DATE,
    at,
    build_accounts,
    build_catalogue,
    invoice_snapshot,
    raise_list_prices,
)
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


@pytest.fixture(autouse=True)
def no_pdf_rendering(settings: Any) -> None:
    settings.BILLING_RENDER_PDF_ON_ISSUE = False


SUBSCRIPTION_FIELDS = (
    "status",
    "quantity",
    "current_period_start",
    "current_period_end",
    "cycle_number",
    "billed_through",
    "term_start",
    "term_started_at",
    "term_end",
    "unit_price",
    "final_unit_price",
    "price_protected_until",
    "ended_on",
)


def _strip_ids(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {
            key: _strip_ids(value)
            for key, value in payload.items()
            if not key.endswith("_id") and key not in ("number", "linked_invoice")
        }
    return payload


def _renamed(value: Any, old: str, new: str) -> Any:
    """The copy's customer name appears in addresses; compare it as the original's."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {key: _renamed(item, old, new) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_renamed(item, old, new) for item in value)
    return value


def account_view(account: Account, marks: dict[str, int]) -> dict[str, Any]:
    """What billing wrote for one account after the marks, with its own ids left out."""
    subscriptions = list(
        Subscription.objects.filter(billing_account=account)
        .order_by("pk")
        .values_list("pk", *SUBSCRIPTION_FIELDS)
    )
    position = {row[0]: index for index, row in enumerate(subscriptions)}
    invoices = list(
        Invoice.objects.filter(billing_account=account, pk__gt=marks["invoice"]).order_by("pk")
    )
    invoice_type = ContentType.objects.get_for_model(Invoice)
    return {
        "subscriptions": [row[1:] for row in subscriptions],
        "charges": [
            (
                position.get(charge.subscription_id),
                charge.kind,
                charge.period_start,
                charge.period_end,
                charge.bill_on,
                charge.quantity,
                charge.unit_price,
                charge.amount,
                charge.discount,
                charge.description,
                charge.invoice is not None,
            )
            for charge in Charge.objects.filter(billing_account=account)
            .select_related("invoice")
            .order_by("subscription_id", "period_start", "kind", "pk")
        ],
        "changes": [
            (
                position[change.subscription_id],
                change.kind,
                change.source,
                change.effective_date,
                change.effective_at,
                change.old_quantity,
                change.new_quantity,
                change.old_unit_price,
                change.new_unit_price,
                change.period_start,
                change.period_end,
                change.details,
            )
            for change in SubscriptionChange.objects.filter(
                subscription__billing_account=account, pk__gt=marks["change"]
            ).order_by("subscription_id", "effective_at", "pk")
        ],
        "events": sorted(
            (event.name, repr(_strip_ids(event.payload)))
            for event in Event.objects.filter(pk__gt=marks["event"])
            if event.payload.get("billing_account_id") == account.pk
            or event.payload.get("account_id") == account.pk
            or event.payload.get("subscription_id") in position
        ),
        "invoices": [invoice_snapshot(invoice) for invoice in invoices],
        "audit": [
            [
                (entry.action, _strip_ids(dict(entry.changes)))
                for entry in LogEntry.objects.filter(
                    content_type=invoice_type, object_id=invoice.pk
                ).order_by("pk")
            ]
            for invoice in invoices
        ],
    }


def _marks() -> dict[str, int]:
    def last(model: Any) -> int:
        row = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        return row or 0

    return {
        "invoice": last(Invoice),
        "change": last(SubscriptionChange),
        "event": last(Event),
    }


def test_bulk_path_bills_exactly_like_bill_account(
    eu_vat: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given two identical copies of a varied data set
    catalogue = build_catalogue()
    copies = build_accounts(["ONE", "BULK"], catalogue, django_capture_on_commit_callbacks)
    one_by_one, in_bulk = copies["ONE"], copies["BULK"]
    raise_list_prices(catalogue)
    marks = _marks()

    # when the first copy is billed account by account and the second in bulk
    with (
        time_machine.travel(at(2026, 4, 1, 6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for account in one_by_one:
            bill_account(actor=None, billing_account_id=account.pk, run_date=RUN_DATE)
        first_bulk_invoice = _marks()["invoice"]
        outcome = bill_accounts_bulk(
            actor=None, billing_account_ids=[a.pk for a in in_bulk], run_date=RUN_DATE
        )
        for account_id in outcome.fallback:
            bill_account(actor=None, billing_account_id=account_id, run_date=RUN_DATE)

    # then the kinds the bulk path does not handle went one by one, in account order
    assert [Account.objects.get(pk=pk).number for pk in outcome.fallback] == [
        "BULK-09",
        "BULK-10",
        "BULK-11",
    ]
    assert len(outcome.done) == 9
    # and every account's subscriptions, charges, changes, events, invoices and audit
    # entries are the same in both copies
    for slow, fast in zip(one_by_one, in_bulk, strict=True):
        fast_view = _renamed(account_view(fast, marks), "BULK customer", "ONE customer")
        assert fast_view == account_view(slow, marks), slow.number
    # and the run's invoices took the same numbers in each series, one copy after the other
    for kind in ("debit", "credit"):
        slow_numbers = list(
            Invoice.objects.filter(kind=kind, pk__gt=marks["invoice"], pk__lte=first_bulk_invoice)
            .order_by("billing_account__number", "currency")
            .values_list("sequence_number", flat=True)
        )
        fast_numbers = list(
            Invoice.objects.filter(kind=kind, pk__gt=first_bulk_invoice)
            .order_by("billing_account__number", "currency")
            .values_list("sequence_number", flat=True)
        )
        assert len(slow_numbers) == len(fast_numbers) >= 1
        offsets = {f - s for s, f in zip(slow_numbers, fast_numbers, strict=True)}
        assert offsets == {len(slow_numbers)}
    # and the bulk path's audit entries (made before the numbers were taken) name them
    invoice_type = ContentType.objects.get_for_model(Invoice)
    for invoice in Invoice.objects.filter(pk__gt=first_bulk_invoice):
        entries = LogEntry.objects.filter(content_type=invoice_type, object_id=invoice.pk)
        [issue] = [entry for entry in entries if "number" in entry.changes]
        assert issue.changes["number"] == ["None", invoice.number]
        assert NUMBER_PENDING not in issue.object_repr
    invoiced = Invoice.objects.filter(pk__gt=marks["invoice"])
    assert invoiced.filter(kind="credit").count() == 2
    assert invoiced.filter(is_reverse_charge=True).count() == 2
    assert invoiced.filter(currency="USD").count() == 2


def test_a_second_bulk_pass_finds_nothing_to_do(
    eu_vat: None, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    accounts = build_accounts(["ONCE"], catalogue, django_capture_on_commit_callbacks)["ONCE"]
    ids = [account.pk for account in accounts]
    # Each pass in its own commit scope: the handlers of the first pass's events (which
    # may emit events of their own) have run before counting.
    with time_machine.travel(at(2026, 4, 1, 6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            first = bill_accounts_bulk(actor=None, billing_account_ids=ids, run_date=RUN_DATE)
            for account_id in first.fallback:
                bill_account(actor=None, billing_account_id=account_id, run_date=RUN_DATE)
        counts = (Invoice.objects.count(), Charge.objects.count(), Event.objects.count())
        with django_capture_on_commit_callbacks(execute=True):
            again = bill_accounts_bulk(actor=None, billing_account_ids=ids, run_date=RUN_DATE)
            for account_id in again.fallback:
                bill_account(actor=None, billing_account_id=account_id, run_date=RUN_DATE)
    assert (Invoice.objects.count(), Charge.objects.count(), Event.objects.count()) == counts
    assert all(not result.invoices for result in again.done.values())
