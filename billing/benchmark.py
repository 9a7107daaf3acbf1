"""The billing benchmark: a data set built in bulk, a full run, a no-op re-run, PDFs.

The data set is what a renewal day looks like: accounts prorated to the 1st, each with
monthly prepaid subscriptions already charged for the previous period, so the run date
renews and charges every one of them and issues one invoice per account.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from accounts.models import Account, Address
from billing import runs
from billing.models import BillingRun, BillingRunAccount, Invoice, InvoiceLine
from billing.seed import seed_eu_vat
from catalogue.models import (
    BillingCycle,
    Product,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductType,
)
from subscriptions.models import Subscription
from subscriptions.periods import add_months

PRODUCTS = (("Mail seat", "4.50"), ("Backup 100 GB", "7.90"), ("Office suite", "12.00"))
BATCH = 5000


@dataclass
class DataSet:
    tag: str
    accounts: int
    subscriptions: int


def _catalogue(tag: str) -> list[tuple[Product, ProductPlan, Decimal]]:
    product_type, _created = ProductType.objects.get_or_create(
        code="BENCH", defaults={"name": "Benchmark services"}
    )
    items = []
    for index, (name, price) in enumerate(PRODUCTS):
        product = Product.objects.create(
            code=f"BENCH-{tag}-{index}",
            name=name,
            product_type=product_type,
            kind=ProductKind.PRIMARY,
        )
        plan = ProductPlan.objects.create(
            product=product,
            billing_cycle=BillingCycle.MONTHLY,
            commitment_months=0,
            charge_type="recurring_prepaid",
        )
        ProductPrice.objects.create(plan=plan, currency="EUR", price=Decimal(price))
        items.append((product, plan, Decimal(price)))
    return items


def build(*, accounts: int, per_account: int, run_date: date, owner: Any) -> DataSet:
    """Bulk-insert the accounts, their billing addresses and their subscriptions."""
    tag = timezone.now().strftime("%y%m%d%H%M%S")
    seed_eu_vat()
    catalogue = _catalogue(tag)
    previous = add_months(run_date, -1, 1)
    with transaction.atomic():
        rows = Account.objects.bulk_create(
            [
                Account(
                    number=f"BN{tag}-{index:06d}",
                    name=f"Benchmark customer {index}",
                    currency="EUR",
                    country="GR",
                    language="en",
                    payment_days=30,
                    is_ordering_enabled=True,
                    is_prorated=True,
                    billing_day_rule=Account.BillingDayRule.FIRST,
                    partial_charges=Account.PartialCharges.ORDER_DAY,
                    first_order_date=previous,
                    owner=owner,
                )
                for index in range(accounts)
            ],
            batch_size=BATCH,
        )
        Address.objects.bulk_create(
            [
                Address(
                    account=account,
                    kind="billing",
                    company_name=account.name,
                    street_address="Ermou 12",
                    city="Athens",
                    postal_code="105 63",
                    country_code="GR",
                )
                for account in rows
            ],
            batch_size=BATCH,
        )
    count = 0
    for start in range(0, len(rows), max(1, BATCH // max(1, per_account))):
        batch = []
        for account in rows[start : start + max(1, BATCH // max(1, per_account))]:
            for position in range(per_account):
                product, plan, price = catalogue[(count + position) % len(catalogue)]
                batch.append(
                    Subscription(
                        number=f"BS{tag}-{count + position:07d}",
                        account=account,
                        billing_account=account,
                        product=product,
                        plan=plan,
                        quantity=1 + (count + position) % 5,
                        currency="EUR",
                        unit_price=price,
                        final_unit_price=price,
                        billing_cycle=BillingCycle.MONTHLY,
                        cycle_months=1,
                        term_months=1,
                        billing_method=Subscription.BillingMethod.PREPAID,
                        status=Subscription.Status.ACTIVE,
                        ordered_on=previous,
                        start_date=previous,
                        anchor_day=1,
                        is_aligned=True,
                        cycle_number=2,
                        current_period_start=previous,
                        current_period_end=run_date,
                        term_start=previous,
                        term_end=run_date,
                        billed_through=run_date,
                    )
                )
            count += per_account
        Subscription.objects.bulk_create(batch, batch_size=BATCH)
    return DataSet(tag=tag, accounts=accounts, subscriptions=count)


def _work_chunks(run_id: int, chunks: list[int]) -> None:
    for chunk in chunks:
        runs.billing_run_chunk(run_id, chunk)
    connections.close_all()


def execute(run: BillingRun, *, workers: int = 1) -> BillingRun:
    """Run in this process, or share the chunks among ``workers`` forked processes."""
    if workers <= 1:
        return runs.run_inline(run)
    runs.billing_run_execute(run.pk, dispatch=False)
    chunks = list(
        BillingRunAccount.objects.filter(run=run, status=BillingRunAccount.Status.PENDING)
        .values_list("chunk", flat=True)
        .distinct()
        .order_by("chunk")
    )
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_work_chunks, args=(run.pk, chunks[index::workers]))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    runs.finish_if_complete(run.pk)
    run.refresh_from_db()
    return run


def peak_memory_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def pdf_throughput(run_date: date, tag: str, sample: int) -> float:
    from billing.pdf import render_invoice_pdf

    invoices = list(
        Invoice.objects.filter(
            invoice_date=run_date, billing_account__number__startswith=f"BN{tag}-"
        ).order_by("pk")[:sample]
    )
    if not invoices:
        return 0.0
    started = time.perf_counter()
    for invoice in invoices:
        render_invoice_pdf(invoice)
    return round(len(invoices) / (time.perf_counter() - started), 1)


def benchmark(
    *,
    accounts: int,
    per_account: int,
    run_date: date,
    workers: int,
    pdf_sample: int,
    owner: Any,
) -> dict[str, Any]:
    data = build(accounts=accounts, per_account=per_account, run_date=run_date, owner=owner)
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    started = time.perf_counter()
    run = execute(
        runs.billing_run_start(actor=None, run_date=run_date, force=True), workers=workers
    )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    rerun = execute(
        runs.billing_run_start(actor=None, run_date=run_date, force=True), workers=workers
    )
    rerun_seconds = time.perf_counter() - started
    lines = InvoiceLine.objects.filter(
        invoice__invoice_date=run_date,
        invoice__billing_account__number__startswith=f"BN{data.tag}-",
    ).count()
    return {
        "subscriptions": data.subscriptions,
        "accounts": data.accounts,
        "invoices": run.invoices_count + run.credit_invoices_count,
        "lines": lines,
        "failed_accounts": run.accounts_failed,
        "seconds": round(seconds, 2),
        "subscriptions_per_second": round(data.subscriptions / seconds, 1),
        "peak_memory_mb": peak_memory_mb(),
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_invoices": rerun.invoices_count + rerun.credit_invoices_count,
        "workers": workers,
        "pdf_per_second": pdf_throughput(run_date, data.tag, pdf_sample),
    }
