"""Billing runs on PostgreSQL: re-runs, failing accounts, dry runs, concurrent runs."""

from __future__ import annotations

import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connections

from accounts.models import Account
from billing import runs
from billing.models import (
    BillingRun,
    BillingRunAccount,
    Charge,
    Invoice,
    InvoiceLine,
)
from bss.core.models import Event
from bss.setup.models import Currency, ExchangeRate
from subscriptions.models import SubscriptionChange
from tests.billing.run_data import RUN_DATE, at, build_accounts, build_catalogue
from tests.conftest import requires_postgres

pytestmark = [requires_postgres]


@pytest.fixture(autouse=True)
def no_pdf_rendering(settings: Any) -> None:
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    settings.BILLING_RUN_CHUNK_SIZE = 4


def counts() -> tuple[int, ...]:
    return (
        Invoice.objects.count(),
        Charge.objects.count(),
        SubscriptionChange.objects.count(),
        InvoiceLine.objects.count(),
    )


def run_now(capture: Any, **options: Any) -> BillingRun:
    with time_machine.travel(at(2026, 4, 1, 6), tick=False), capture(execute=True):
        run = runs.billing_run_start(actor=None, run_date=RUN_DATE, **options)
    run.refresh_from_db()
    return run


def invoices_by_account(accounts: list[Account]) -> dict[str, list[tuple[str, str, Decimal]]]:
    found: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for invoice in Invoice.objects.filter(
        billing_account__in=accounts, invoice_date=RUN_DATE
    ).order_by("billing_account__number", "currency", "kind"):
        found[invoice.billing_account.number].append(
            (invoice.kind, invoice.currency, invoice.gross_total)
        )
    return dict(found)


def preview_by_account(run: BillingRun) -> dict[str, dict[str, str]]:
    return {
        row.account.number: row.amounts
        for row in run.accounts.select_related("account")
        if row.invoices_count or row.credit_invoices_count
    }


def actual_amounts(accounts: list[Account]) -> dict[str, dict[str, str]]:
    amounts: dict[str, dict[str, str]] = {}
    for number, invoices in invoices_by_account(accounts).items():
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for kind, currency, gross in invoices:
            totals[currency] += -gross if kind == "credit" else gross
        amounts[number] = {code: f"{total:.2f}" for code, total in sorted(totals.items())}
    return amounts


def assert_gapless_and_invoiced_once() -> None:
    for kind in ("debit", "credit"):
        numbers = sorted(
            Invoice.objects.filter(kind=kind)
            .exclude(sequence_number=None)
            .values_list("sequence_number", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1)), kind
    charge_ids = list(InvoiceLine.objects.exclude(charge=None).values_list("charge_id", flat=True))
    assert len(charge_ids) == len(set(charge_ids))
    assert not Charge.objects.filter(invoice=None, bill_on__lte=RUN_DATE).exists()


@pytest.mark.django_db
def test_a_run_bills_every_due_account_and_a_rerun_adds_nothing(
    eu_vat: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    catalogue = build_catalogue()
    accounts = build_accounts(["RUN"], catalogue, django_capture_on_commit_callbacks)["RUN"]
    # when
    first = run_now(django_capture_on_commit_callbacks)
    after_first = counts()
    second = run_now(django_capture_on_commit_callbacks)
    # then
    assert first.status == BillingRun.Status.FINISHED
    assert first.accounts_total == 11  # the client is billed through its payer
    assert first.accounts_done == 11
    assert (first.invoices_count, first.credit_invoices_count) == (9, 1)
    assert first.chunks_total == 3
    assert first.amounts == {"EUR": first.amounts["EUR"], "USD": "69.93"}
    assert Event.objects.filter(name="billing_run.finished", aggregate_id=str(first.pk)).exists()
    assert second.status == BillingRun.Status.FINISHED
    assert second.accounts_total == 0
    assert counts() == after_first
    assert set(invoices_by_account(accounts)) == {
        f"RUN-{index:02d}" for index in (0, 1, 2, 4, 5, 6, 7, 8, 10, 11)
    }
    assert_gapless_and_invoiced_once()


@pytest.mark.django_db
def test_a_failing_account_is_recorded_the_others_go_on_and_the_next_run_retries_it(
    eu_vat: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given an account invoiced in dollars as well, with no exchange rate yet
    catalogue = build_catalogue()
    accounts = build_accounts(["ERR"], catalogue, django_capture_on_commit_callbacks)["ERR"]
    broken = accounts[0]
    Account.objects.filter(pk=broken.pk).update(transaction_currency="USD")
    # when
    run = run_now(django_capture_on_commit_callbacks)
    # then
    assert run.status == BillingRun.Status.FINISHED
    assert (run.accounts_done, run.accounts_failed, run.errors_count) == (10, 1, 1)
    failed = run.accounts.get(status=BillingRunAccount.Status.FAILED)
    assert failed.account_id == broken.pk
    assert "USD" in failed.error
    assert not Invoice.objects.filter(billing_account=broken, invoice_date=RUN_DATE).exists()
    # when the rate exists and the run is repeated
    ExchangeRate.objects.create(
        currency=Currency.objects.get(code="USD"),
        rate=Decimal("0.92"),
        valid_from=RUN_DATE.replace(day=1),
    )
    retry = run_now(django_capture_on_commit_callbacks)
    # then only the failed account is billed now
    assert (retry.accounts_total, retry.accounts_done, retry.accounts_failed) == (1, 1, 0)
    assert Invoice.objects.get(billing_account=broken, invoice_date=RUN_DATE).exchange_rate
    assert_gapless_and_invoiced_once()


@pytest.mark.django_db
def test_a_dry_run_previews_and_writes_nothing_but_the_run(
    eu_vat: None, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue = build_catalogue()
    accounts = build_accounts(["DRY"], catalogue, django_capture_on_commit_callbacks)["DRY"]
    before = counts(), Event.objects.count()
    preview = run_now(django_capture_on_commit_callbacks, dry_run=True)
    assert (counts(), Event.objects.count() - 1) == before  # only billing_run.finished
    assert preview.is_dry_run
    assert (preview.invoices_count, preview.credit_invoices_count) == (9, 1)
    assert not any(row.invoice_ids for row in preview.accounts.all())
    real = run_now(django_capture_on_commit_callbacks)
    assert preview_by_account(preview) == actual_amounts(accounts)
    assert real.amounts == preview.amounts


@pytest.mark.django_db
def test_a_second_run_of_a_running_date_is_refused_unless_forced(
    django_capture_on_commit_callbacks: Any,
) -> None:
    BillingRun.objects.create(run_date=RUN_DATE, status=BillingRun.Status.RUNNING)
    with pytest.raises(ValidationError, match="still running"):
        runs.billing_run_start(actor=None, run_date=RUN_DATE)
    assert runs.billing_run_start(actor=None, run_date=RUN_DATE, force=True).pk


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_bill_like_one(eu_vat: None) -> None:
    # given a data set and what a clean run would invoice (a dry run)
    catalogue = build_catalogue()
    accounts: list[Account] = []
    for copy in build_accounts(["TWO", "TOO"], catalogue, _no_capture).values():
        accounts += copy
    preview = run_now(_no_capture, dry_run=True)
    # when two runs of the date start together
    # (rows made directly: billing_run_start would execute each one at once here)
    started = [BillingRun.objects.create(run_date=RUN_DATE) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(run: BillingRun) -> None:
        try:
            barrier.wait(timeout=30)
            runs.run_inline(run)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(run,)) for run in started]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then both finish and together they invoiced exactly what one run would
    assert errors == []
    for run in started:
        run.refresh_from_db()
        assert run.status == BillingRun.Status.FINISHED
        assert run.accounts_failed == 0
    assert sum(run.invoices_count for run in started) == preview.invoices_count == 18
    assert actual_amounts(accounts) == preview_by_account(preview)
    assert_gapless_and_invoiced_once()


class _NoCapture:
    def __call__(self, execute: bool = True) -> Any:
        import contextlib

        return contextlib.nullcontext()


_no_capture = _NoCapture()
