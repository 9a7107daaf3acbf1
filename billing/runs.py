"""Billing runs: bill every account with something due on a run date, in chunks.

A run finds the billing accounts with something due (a subscription period that started
or ended and is not charged, an uninvoiced charge due by the run date, a draft held for
VIES), records one ``BillingRunAccount`` row per account in chunks of
``BILLING_RUN_CHUNK_SIZE`` and queues one task per chunk, so several workers share it.

A chunk is billed by the bulk path (``billing.bulk``) in one transaction; the accounts it
hands back, and every account of a chunk whose bulk transaction failed, are billed one by
one with ``bill_account``, each in its own transaction: a failing account is recorded
with its error and the others go on. The next run finds it again, since it still has
something due. Each account's row and the run's counters are updated in the transaction
that billed it, so a worker killed at any moment leaves rows that say exactly what was
committed; the redelivered chunk (or a new run) bills only what is left.

A dry run bills every account with ``bill_account(dry_run=True)``, which rolls back, and
keeps what the invoices would have been on its rows; nothing else is written.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.bulk import BulkAccountResult, bill_accounts_bulk
from billing.engine import AccountBill, bill_account
from billing.models import (
    ACTIVE_RUN_STATUSES,
    BillingRun,
    BillingRunAccount,
    BillingRunAccountStatus,
    BillingRunStatus,
    Charge,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
)
from bss.core.audit import acting_as
from bss.core.bulk_writes import supports_copy
from bss.core.events import emit_event
from bss.core.money import quantize
from subscriptions.models import BILLED_STATUSES, LIVE_STATUSES, BillingMethod, Subscription

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_STALE_SECONDS = 900
ERROR_LENGTH = 2000


def chunk_size() -> int:
    return max(1, int(getattr(settings, "BILLING_RUN_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)))


def uses_bulk_path() -> bool:
    """The bulk path writes with PostgreSQL's COPY; elsewhere accounts bill one by one."""
    return bool(getattr(settings, "BILLING_RUN_BULK", True)) and supports_copy()


# ------------------------------------------------------------------------------ discovery


def accounts_due(run_date: date) -> list[int]:
    """Billing accounts with something to do on ``run_date``, in id order.

    Three index-friendly queries: live subscriptions whose period ended (to roll) or
    started uncharged (prepaid), uninvoiced charges due (partial index), held drafts.
    """
    rolls = Q(current_period_end__lte=run_date) | (
        Q(status__in=BILLED_STATUSES, billing_method=BillingMethod.PREPAID)
        & Q(current_period_start__lte=run_date)
        & (Q(billed_through__isnull=True) | Q(billed_through__lt=F("current_period_end")))
    )
    found: set[int] = set(
        Subscription.objects.filter(rolls, status__in=LIVE_STATUSES)
        .values_list("billing_account_id", flat=True)
        .distinct()
    )
    found.update(
        Charge.objects.filter(invoice__isnull=True, bill_on__lte=run_date)
        .values_list("billing_account_id", flat=True)
        .distinct()
    )
    found.update(
        Invoice.objects.filter(status=InvoiceStatus.DRAFT, hold_reason__gt="")
        .values_list("billing_account_id", flat=True)
        .distinct()
    )
    return sorted(found)


# ---------------------------------------------------------------------------------- start


def _stale_before() -> Any:
    seconds = int(getattr(settings, "BILLING_RUN_STALE_SECONDS", DEFAULT_STALE_SECONDS))
    return timezone.now() - timedelta(seconds=seconds)


def active_run(run_date: date) -> BillingRun | None:
    """A real run of that date that is queued or running and still making progress."""
    return (
        BillingRun.objects.filter(
            run_date=run_date,
            is_dry_run=False,
            status__in=ACTIVE_RUN_STATUSES,
            updated_at__gte=_stale_before(),
        )
        .order_by("pk")
        .first()
    )


def billing_run_start(
    *, actor: Any, run_date: date, dry_run: bool = False, force: bool = False
) -> BillingRun:
    """Queue a run for ``run_date``; its work starts once this transaction commits.

    A second real run of a date while one is running is refused unless ``force``: it
    would only wait for the first one's locks. Running both is still safe; ``force``
    is what an operator uses after a crashed worker left a run marked running.
    """
    if not isinstance(run_date, date):
        raise ValidationError({"run_date": _("Enter the run date.")})
    with transaction.atomic(), acting_as(actor):
        if not dry_run and not force:
            running = active_run(run_date)
            if running is not None:
                raise ValidationError(
                    {
                        "run_date": _(
                            "Billing run #%(id)s for %(date)s is still running; wait for it "
                            "to finish."
                        )
                        % {"id": running.pk, "date": run_date.isoformat()}
                    }
                )
        _abandon_stale_runs(run_date)
        run = BillingRun.objects.create(
            run_date=run_date,
            is_dry_run=dry_run,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            chunk_size=chunk_size(),
        )
        run_id = run.pk
        transaction.on_commit(lambda: _enqueue_execute(run_id))
    return run


def _abandon_stale_runs(run_date: date) -> None:
    """Runs of the date that stopped reporting progress (their worker died) are failed."""
    stale = BillingRun.objects.filter(
        run_date=run_date, status__in=ACTIVE_RUN_STATUSES, updated_at__lt=_stale_before()
    )
    for run in stale.select_for_update():
        _finish(run, failed=True, error=_("Abandoned: no progress for too long."))


def _enqueue_execute(run_id: int) -> None:
    from billing.tasks import billing_run_execute

    billing_run_execute.delay(run_id)


# ------------------------------------------------------------------------------ execution


def billing_run_execute(run_id: int, *, dispatch: bool = True) -> str:
    """Claim the run, record its accounts in chunks (once) and queue the chunks left."""
    try:
        with transaction.atomic():
            run = BillingRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None or run.status not in ACTIVE_RUN_STATUSES:
                return "not active"
            if run.status == BillingRunStatus.QUEUED:
                run.status = BillingRunStatus.RUNNING
                run.started_at = timezone.now()
                run.save(update_fields=["status", "started_at", "updated_at"])
            if not run.accounts.exists():
                _record_accounts(run, accounts_due(run.run_date))
    except Exception as error:
        logger.exception("billing: run %s could not start", run_id)
        with transaction.atomic():
            run = BillingRun.objects.select_for_update().filter(pk=run_id).first()
            if run is not None and run.status in ACTIVE_RUN_STATUSES:
                _finish(run, failed=True, error=f"{error.__class__.__name__}: {error}")
        return "failed"
    chunks = list(
        BillingRunAccount.objects.filter(run_id=run_id, status=BillingRunAccountStatus.PENDING)
        .values_list("chunk", flat=True)
        .distinct()
        .order_by("chunk")
    )
    if not chunks:
        finish_if_complete(run_id)
        return "nothing due"
    if dispatch:
        _dispatch_chunks(run_id, chunks)
    return f"{len(chunks)} chunks"


def _record_accounts(run: BillingRun, account_ids: list[int]) -> None:
    size = run.chunk_size or chunk_size()
    BillingRunAccount.objects.bulk_create(
        [
            BillingRunAccount(run=run, account_id=account_id, chunk=index // size)
            for index, account_id in enumerate(account_ids)
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    run.accounts_total = len(account_ids)
    run.chunks_total = (len(account_ids) + size - 1) // size
    run.save(update_fields=["accounts_total", "chunks_total", "updated_at"])


def _dispatch_chunks(run_id: int, chunks: list[int]) -> None:
    from celery import group

    from billing.tasks import billing_run_chunk

    group(billing_run_chunk.si(run_id, chunk) for chunk in chunks).apply_async()


def billing_run_chunk(run_id: int, chunk: int) -> int:
    """Bill the accounts of one chunk still pending; safe to run twice or concurrently."""
    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None or run.status != BillingRunStatus.RUNNING:
        return 0
    pending = list(
        BillingRunAccount.objects.filter(
            run_id=run_id, chunk=chunk, status=BillingRunAccountStatus.PENDING
        )
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    actor = run.requested_by
    one_by_one = pending
    if pending and uses_bulk_path():
        try:
            one_by_one = _bill_in_bulk(run, pending, actor=actor)
        except Exception:
            # The chunk's transaction rolled back as a whole; one by one, each account
            # either bills or is recorded with its own error.
            logger.exception("billing: bulk path failed for run %s chunk %s", run_id, chunk)
            one_by_one = pending
    for account_id in one_by_one:
        _bill_one(run, account_id, actor=actor)
    finish_if_complete(run_id)
    return len(pending)


@dataclass
class _Outcome:
    account_id: int
    charges: int
    invoice_ids: list[int]
    debit: int
    credit: int
    amounts: dict[str, str]
    held: str = ""


def _amounts(rows: Iterable[tuple[str, str, Decimal]]) -> dict[str, str]:
    """Debit minus credit totals per currency, as strings rounded to the currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for kind, currency, gross in rows:
        totals[currency] += -gross if kind == InvoiceKind.CREDIT else gross
    return {currency: str(quantize(total, currency)) for currency, total in sorted(totals.items())}


def _outcome_of_bulk(result: BulkAccountResult, *, dry_run: bool = False) -> _Outcome:
    invoices = result.invoices
    return _Outcome(
        account_id=result.billing_account_id,
        charges=result.charges,
        invoice_ids=[] if dry_run else [invoice.invoice_id for invoice in invoices],
        debit=sum(1 for invoice in invoices if invoice.kind == InvoiceKind.DEBIT),
        credit=sum(1 for invoice in invoices if invoice.kind == InvoiceKind.CREDIT),
        amounts=_amounts((i.kind, i.currency, i.gross_total) for i in invoices),
    )


def _outcome_of_bill(bill: AccountBill, *, dry_run: bool) -> _Outcome:
    invoices = bill.invoices
    return _Outcome(
        account_id=bill.billing_account_id,
        charges=len(bill.charges),
        invoice_ids=[] if dry_run else [invoice.pk for invoice in invoices],
        debit=sum(1 for invoice in invoices if invoice.kind == InvoiceKind.DEBIT),
        credit=sum(1 for invoice in invoices if invoice.kind == InvoiceKind.CREDIT),
        amounts=_amounts((i.kind, i.currency, i.gross_total) for i in invoices),
        held="\n".join(bill.held),
    )


def _bill_in_bulk(run: BillingRun, pending: list[int], *, actor: Any) -> list[int]:
    """Bill a chunk through the bulk path; returns the accounts left to bill one by one.

    A dry run bills in a savepoint that is rolled back: what it would have invoiced is
    recorded on the run, nothing else stays (events and PDFs queued in the savepoint
    are dropped with it).
    """
    with transaction.atomic():
        with transaction.atomic():
            outcome = bill_accounts_bulk(
                actor=actor, billing_account_ids=pending, run_date=run.run_date
            )
            if run.is_dry_run:
                transaction.set_rollback(True)
        _record_done(
            run,
            [_outcome_of_bulk(result, dry_run=run.is_dry_run) for result in outcome.done.values()],
        )
    return sorted(set(outcome.fallback))


def _record_done(run: BillingRun, outcomes: list[_Outcome]) -> None:
    """Mark the rows done (only those still pending) and add them to the run's counters.

    Runs in the transaction that billed the accounts: committed together or not at all.
    """
    if not outcomes:
        return
    if connection.vendor == "postgresql":
        recorded = _mark_done(run, outcomes)
    else:
        recorded = _mark_done_portable(run, outcomes)
    counted = [outcome for outcome in outcomes if outcome.account_id in recorded]
    if not counted:
        return
    BillingRun.objects.filter(pk=run.pk).update(
        accounts_done=F("accounts_done") + len(counted),
        invoices_count=F("invoices_count") + sum(outcome.debit for outcome in counted),
        credit_invoices_count=F("credit_invoices_count") + sum(o.credit for o in counted),
        updated_at=timezone.now(),
    )


def _mark_done(run: BillingRun, outcomes: list[_Outcome]) -> set[int]:
    """One UPDATE for the whole chunk (PostgreSQL); returns the accounts it marked."""
    table = BillingRunAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET status = %s, charges_count = v.charges, "
            "invoices_count = v.debit, credit_invoices_count = v.credit, "
            "invoice_ids = v.invoice_ids::jsonb, amounts = v.amounts::jsonb, held = v.held, "
            "error = '', finished_at = now() "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[], %s::text[], "
            "%s::text[], %s::text[]) AS v(account_id, charges, debit, credit, invoice_ids, "
            "amounts, held) "
            "WHERE r.run_id = %s AND r.account_id = v.account_id AND r.status = %s "
            "RETURNING r.account_id",
            [
                BillingRunAccountStatus.DONE,
                [outcome.account_id for outcome in outcomes],
                [outcome.charges for outcome in outcomes],
                [outcome.debit for outcome in outcomes],
                [outcome.credit for outcome in outcomes],
                [json.dumps(outcome.invoice_ids) for outcome in outcomes],
                [json.dumps(outcome.amounts) for outcome in outcomes],
                [outcome.held for outcome in outcomes],
                run.pk,
                BillingRunAccountStatus.PENDING,
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _mark_done_portable(run: BillingRun, outcomes: list[_Outcome]) -> set[int]:
    """The same, row by row, for SQLite (the quickstart)."""
    recorded = set()
    now = timezone.now()
    for outcome in outcomes:
        marked = BillingRunAccount.objects.filter(
            run_id=run.pk, account_id=outcome.account_id, status=BillingRunAccountStatus.PENDING
        ).update(
            status=BillingRunAccountStatus.DONE,
            charges_count=outcome.charges,
            invoices_count=outcome.debit,
            credit_invoices_count=outcome.credit,
            invoice_ids=outcome.invoice_ids,
            amounts=outcome.amounts,
            held=outcome.held,
            error="",
            finished_at=now,
        )
        if marked:
            recorded.add(outcome.account_id)
    return recorded


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        text = "; ".join(error.messages)
    else:
        text = f"{error.__class__.__name__}: {error}"
    return text[:ERROR_LENGTH]


def _bill_one(run: BillingRun, account_id: int, *, actor: Any) -> None:
    try:
        with transaction.atomic():
            bill = bill_account(
                actor=actor,
                billing_account_id=account_id,
                run_date=run.run_date,
                dry_run=run.is_dry_run,
            )
            _record_done(run, [_outcome_of_bill(bill, dry_run=run.is_dry_run)])
    except Exception as error:
        logger.warning("billing: run %s account %s failed: %s", run.pk, account_id, error)
        with transaction.atomic():
            failed = BillingRunAccount.objects.filter(
                run=run, account_id=account_id, status=BillingRunAccountStatus.PENDING
            ).update(
                status=BillingRunAccountStatus.FAILED,
                error=_error_text(error),
                finished_at=timezone.now(),
            )
            if failed:
                BillingRun.objects.filter(pk=run.pk).update(
                    accounts_failed=F("accounts_failed") + 1,
                    errors_count=F("errors_count") + 1,
                    updated_at=timezone.now(),
                )


# ----------------------------------------------------------------------------- finishing


def run_amounts(run: BillingRun) -> dict[str, str]:
    """The run's amount per currency, summed from its accounts' rows."""
    if connection.vendor != "postgresql":
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for amounts in BillingRunAccount.objects.filter(run_id=run.pk).values_list(
            "amounts", flat=True
        ):
            for code, value in (amounts or {}).items():
                totals[code] += Decimal(value)
        return {code: str(quantize(total, code)) for code, total in sorted(totals.items())}
    table = BillingRunAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT amount.key, SUM(amount.value::numeric) FROM {table} AS r, "
            "jsonb_each_text(r.amounts) AS amount WHERE r.run_id = %s "
            "GROUP BY amount.key ORDER BY amount.key",
            [run.pk],
        )
        return {code: str(quantize(total, code)) for code, total in cursor.fetchall()}


def finish_if_complete(run_id: int) -> bool:
    """The last chunk to end closes the run (a conditional update: exactly one does)."""
    if BillingRunAccount.objects.filter(
        run_id=run_id, status=BillingRunAccountStatus.PENDING
    ).exists():
        return False
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update()
            .filter(pk=run_id, status=BillingRunStatus.RUNNING)
            .first()
        )
        if run is None:
            return False
        everything_failed = run.accounts_total > 0 and run.accounts_failed == run.accounts_total
        _finish(run, failed=everything_failed)
    return True


def _finish(run: BillingRun, *, failed: bool, error: str = "") -> None:
    run.status = BillingRunStatus.FAILED if failed else BillingRunStatus.FINISHED
    run.finished_at = timezone.now()
    run.amounts = run_amounts(run)
    if error:
        run.error = error[:ERROR_LENGTH]
    run.save(update_fields=["status", "finished_at", "amounts", "error", "updated_at"])
    run.refresh_from_db()
    emit_event(
        "billing_run.failed" if failed else "billing_run.finished",
        actor=run.requested_by,
        aggregate=run,
        payload=run_payload(run),
    )


def run_payload(run: BillingRun) -> dict[str, Any]:
    return {
        "billing_run_id": run.pk,
        "number": f"RUN-{run.pk}",
        "account_id": None,
        "run_date": run.run_date.isoformat(),
        "dry_run": run.is_dry_run,
        "status": run.status,
        "accounts_total": run.accounts_total,
        "accounts_done": run.accounts_done,
        "accounts_failed": run.accounts_failed,
        "invoices": run.invoices_count,
        "credit_invoices": run.credit_invoices_count,
        "amounts": run.amounts,
        "errors": run.errors_count,
    }


def billing_run_cancel(*, actor: Any, run: BillingRun) -> BillingRun:
    """Stop a run: chunks not started skip their accounts; billed accounts stay billed."""
    with transaction.atomic(), acting_as(actor):
        run = BillingRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in ACTIVE_RUN_STATUSES:
            raise ValidationError(_("Only a queued or running billing run can be canceled."))
        run.status = BillingRunStatus.CANCELED
        run.finished_at = timezone.now()
        run.amounts = run_amounts(run)
        run.save(update_fields=["status", "finished_at", "amounts", "updated_at"])
    return run


def run_inline(run: BillingRun) -> BillingRun:
    """Execute a queued run in this process, chunk after chunk (tests, the benchmark)."""
    billing_run_execute(run.pk, dispatch=False)
    for chunk in (
        BillingRunAccount.objects.filter(run=run, status=BillingRunAccountStatus.PENDING)
        .values_list("chunk", flat=True)
        .distinct()
        .order_by("chunk")
    ):
        billing_run_chunk(run.pk, chunk)
    run.refresh_from_db()
    return run


# ------------------------------------------------------------------ generate on demand


@dataclass(frozen=True)
class PlannedCharge:
    """A period not charged yet, with the day it is planned to be invoiced."""

    subscription: Subscription
    description: str
    period_start: date
    period_end: date
    amount: Decimal
    bill_on: date


def uncharged_periods(billing_account_id: int) -> list[PlannedCharge]:
    """Each live subscription's current period that is not charged yet (nothing written)."""
    from billing.customers import profile_for
    from billing.subscription_charges import _current_period, _is_billed, period_charge

    planned = []
    subscriptions = (
        Subscription.objects.filter(billing_account_id=billing_account_id, status__in=LIVE_STATUSES)
        .select_related("account__billing_account", "product__product_type", "plan", "promotion")
        .order_by("pk")
    )
    for subscription in subscriptions:
        period = _current_period(subscription)
        charged = subscription.billed_through
        if not _is_billed(subscription) or (charged is not None and charged >= period.end):
            continue
        if subscription.billing_method == BillingMethod.PAY_PER_USE:
            continue
        charge = period_charge(
            subscription,
            period,
            profile_for(subscription.account),
            first=subscription.cycle_number == 1,
        )
        planned.append(
            PlannedCharge(
                subscription=subscription,
                description=charge.description,
                period_start=charge.period_start,
                period_end=charge.period_end,
                amount=charge.amount - charge.discount,
                bill_on=charge.bill_on or charge.period_start,
            )
        )
    return planned


def invoices_generate(
    *,
    actor: Any,
    billing_account_id: int,
    up_to: date,
    subscription_ids: list[int] | None = None,
) -> AccountBill:
    """Generate the account's invoices now for what is due by ``up_to`` (picked subscriptions)."""
    if subscription_ids is not None and not subscription_ids:
        raise ValidationError({"subscriptions": _("Pick at least one subscription.")})
    if subscription_ids is not None:
        known = set(
            Subscription.objects.filter(
                billing_account_id=billing_account_id, pk__in=subscription_ids
            ).values_list("pk", flat=True)
        )
        unknown = sorted(set(subscription_ids) - known)
        if unknown:
            raise ValidationError(
                {
                    "subscriptions": _("Not subscriptions billed to this account: %s.")
                    % ", ".join(str(pk) for pk in unknown)
                }
            )
    return bill_account(
        actor=actor,
        billing_account_id=billing_account_id,
        run_date=up_to,
        subscription_ids=subscription_ids,
    )
