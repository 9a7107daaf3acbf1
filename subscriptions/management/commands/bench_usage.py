"""Time usage ingestion on PostgreSQL: ``manage.py bench_usage --records 1000000``.

Builds (or reuses) a benchmark customer with pay-per-use subscriptions, sends generated
usage records through ``usage_ingest`` in batches the size of an API call, each batch
its own transaction, then sends the first batch again to show it counts as duplicates.
Prints one JSON line. The records are deleted at the end unless ``--keep`` is given;
the small set of customer, product and subscriptions stays for the next run.
"""

from __future__ import annotations

import json
import resource
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_create
from catalogue.models import BillingCycle, ChargeType, Product, ProductPlan
from catalogue.selectors import active_currency_codes
from catalogue.services import PriceInput, plan_create, product_create
from subscriptions.models import BillingMethod, Subscription, UsageRecord
from subscriptions.services import subscription_create
from subscriptions.usage import MAX_BATCH, UsageInput, usage_ingest

BENCH_ACCOUNT = "Usage benchmark customer"
BENCH_PRODUCT = "BENCH-USAGE-GB"
BENCH_OWNER = "usage-benchmark@example.invalid"
# The API takes 10,000 records a call; connectors and this benchmark call the service
# directly and may hand it more at once.
MAX_SERVICE_BATCH = 100_000
METRICS = ("storage_gb", "egress_gb", "api_calls", "vcpu_hours")


def _fixture(subscriptions: int, currency: str) -> list[int]:
    """The benchmark's pay-per-use subscriptions, created once and reused."""
    with transaction.atomic():
        account = Account.objects.filter(name=BENCH_ACCOUNT).first()
        if account is None:
            owner, _created = get_user_model().objects.get_or_create(
                email=BENCH_OWNER, defaults={"is_active": False}
            )
            account = account_create(
                actor=None,
                owner=owner,
                name=BENCH_ACCOUNT,
                currency=currency,
                country="GR",
                is_ordering_enabled=True,
            )
        product = Product.objects.filter(code=BENCH_PRODUCT).first()
        if product is None:
            product = product_create(
                actor=None, code=BENCH_PRODUCT, name="Benchmark metered storage", kind="primary"
            )
        plan = ProductPlan.objects.filter(
            product=product, charge_type=ChargeType.RECURRING_PAY_PER_USE
        ).first()
        if plan is None:
            plan = plan_create(
                actor=None,
                product=product,
                prices={currency: PriceInput(price=Decimal("0.05"))},
                billing_cycle=BillingCycle.MONTHLY,
                charge_type=ChargeType.RECURRING_PAY_PER_USE,
            )
        existing = list(
            Subscription.objects.filter(
                account=account, plan=plan, billing_method=BillingMethod.PAY_PER_USE
            ).values_list("pk", flat=True)
        )
        start = timezone.localdate() - timedelta(days=40)
        for _index in range(len(existing), subscriptions):
            created = subscription_create(
                actor=None,
                account=account,
                product=product,
                plan=plan,
                quantity=1,
                start_date=start,
            )
            existing.append(created.pk)
    return sorted(existing)[:subscriptions]


def _batches(
    total: int, batch: int, subscription_ids: list[int], run: str
) -> Iterator[list[UsageInput]]:
    now = timezone.now()
    count = len(subscription_ids)
    for first in range(0, total, batch):
        yield [
            UsageInput(
                row=index - first,
                subscription=subscription_ids[index % count],
                metric=METRICS[index % len(METRICS)],
                quantity=Decimal(index % 997) / 10,
                unit="GB",
                occurred_at=now - timedelta(minutes=index % 43_200),
                idempotency_key=f"{run}-{index}",
            )
            for index in range(first, min(first + batch, total))
        ]


class Command(BaseCommand):
    help = "Ingest N generated usage records and print records per second as JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--records", type=int, default=1_000_000)
        parser.add_argument("--subscriptions", type=int, default=200)
        parser.add_argument("--batch", type=int, default=MAX_BATCH)
        parser.add_argument("--currency", default="")
        parser.add_argument("--keep", action="store_true", help="Keep the usage records.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The usage benchmark runs on PostgreSQL (set DATABASE_URL).")
        currencies = active_currency_codes()
        currency = (options["currency"] or (currencies[0] if currencies else "")).upper()
        if currency not in currencies:
            raise CommandError("Activate a currency first (or pass --currency with an active one).")
        if options["records"] < 1 or not 1 <= options["batch"] <= MAX_SERVICE_BATCH:
            raise CommandError(
                f"--records is at least 1 and --batch between 1 and {MAX_SERVICE_BATCH}."
            )
        subscription_ids = _fixture(options["subscriptions"], currency)
        run = uuid.uuid4().hex[:12]
        ingest_seconds = 0.0
        accepted = duplicates = refused = 0
        first_batch: list[UsageInput] | None = None
        started = time.perf_counter()
        for batch in _batches(options["records"], options["batch"], subscription_ids, run):
            first_batch = first_batch or batch
            began = time.perf_counter()
            result = usage_ingest(actor=None, records=batch, source="benchmark")
            ingest_seconds += time.perf_counter() - began
            accepted += result.accepted
            duplicates += result.duplicates
            refused += result.refused_count
        wall_seconds = time.perf_counter() - started
        assert first_batch is not None
        replay = usage_ingest(actor=None, records=first_batch, source="benchmark")
        stored = UsageRecord.objects.filter(idempotency_key__startswith=f"{run}-").count()
        if not options["keep"]:
            # No dependents, so Django deletes them in one statement.
            UsageRecord.objects.filter(
                subscription_id__in=subscription_ids, idempotency_key__startswith=f"{run}-"
            ).delete()
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.stdout.write(
            json.dumps(
                {
                    "records": options["records"],
                    "subscriptions": len(subscription_ids),
                    "batch": options["batch"],
                    "accepted": accepted,
                    "duplicates": duplicates,
                    "refused": refused,
                    "stored": stored,
                    "replayed_batch_duplicates": replay.duplicates,
                    "ingest_seconds": round(ingest_seconds, 2),
                    "wall_seconds": round(wall_seconds, 2),
                    "records_per_second": round(options["records"] / ingest_seconds),
                    "wall_records_per_second": round(options["records"] / wall_seconds),
                    "peak_memory_mib": round(peak_kib / 1024),
                }
            )
        )
