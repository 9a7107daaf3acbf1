"""A real Celery worker killed (SIGKILL) in the middle of a run; running again finishes it.

The result must be what one clean run gives: the dry run before (the same code, rolled
back) says what each account's invoices total, numbers stay gapless and each charge is
on exactly one invoice.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from billing import runs
from billing.models import BillingRun, BillingRunAccount
from tests.billing.run_data import RUN_DATE, build_accounts, build_catalogue
from tests.billing.test_runs import (
    _no_capture,
    actual_amounts,
    assert_gapless_and_invoiced_once,
    preview_by_account,
    run_now,
)
from tests.conftest import requires_postgres
from tests.core.conftest import (
    CeleryProcess,
    RedisServer,
    publish_to,
    redis_server,
    wait_until,
)

__all__ = ["publish_to", "redis_server"]

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def small_chunks(settings: Any) -> None:
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    settings.BILLING_RUN_CHUNK_SIZE = 3


@pytest.fixture
def slow_worker(
    redis_server: RedisServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CeleryProcess]:
    """A solo worker billing one account at a time in chunks of three (slow on purpose)."""
    monkeypatch.setenv("BILLING_RUN_BULK", "false")
    monkeypatch.setenv("BILLING_RUN_CHUNK_SIZE", "3")
    monkeypatch.setenv("BILLING_RENDER_PDF_ON_ISSUE", "false")
    worker = CeleryProcess(
        [
            *("worker", "--pool", "solo", "--hostname", "billing-run-test@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        broker_url=redis_server.url,
        log_path=tmp_path / "worker.log",
    )
    try:
        yield worker
    finally:
        worker.stop()


def test_a_run_whose_worker_is_killed_finishes_exactly_once_when_run_again(
    eu_vat: None,
    redis_server: RedisServer,
    slow_worker: CeleryProcess,
    publish_to: Callable[..., None],
) -> None:
    # given 48 accounts and what a clean run would invoice for each
    catalogue = build_catalogue()
    accounts = []
    for copy in build_accounts(["KA", "KB", "KC", "KD"], catalogue, _no_capture).values():
        accounts += copy
    preview = run_now(_no_capture, dry_run=True)
    # when a run goes to the worker and the worker is killed halfway
    publish_to(redis_server.url)
    run = runs.billing_run_start(actor=None, run_date=RUN_DATE)

    def some_accounts_done() -> bool:
        done = BillingRunAccount.objects.filter(run=run, status="done").count()
        return done >= 6

    wait_until(
        some_accounts_done,
        what="the worker to bill a few accounts",
        timeout=90,
        details=slow_worker.output_tail,
    )
    os.kill(slow_worker.process.pid, signal.SIGKILL)
    slow_worker.process.wait(timeout=10)
    run.refresh_from_db()
    left = BillingRunAccount.objects.filter(run=run, status="pending").count()
    assert run.status == BillingRun.Status.RUNNING
    assert left > 0
    # and the date is run again in this process (the first run is still marked running)
    publish_to(None, eager=True)
    again = run_now(_no_capture, force=True)
    # then the second run billed what was left and the result is one clean run's
    assert again.status == BillingRun.Status.FINISHED
    assert again.accounts_failed == 0
    run.refresh_from_db()
    assert again.invoices_count + run.invoices_count == preview.invoices_count == 36
    assert again.accounts_total == preview.accounts_total - run.accounts_done
    assert actual_amounts(accounts) == preview_by_account(preview)
    assert_gapless_and_invoiced_once()
