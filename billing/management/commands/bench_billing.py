"""Build a renewal-day data set in PostgreSQL, bill it, bill it again; print one JSON line."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.benchmark import benchmark
from subscriptions.periods import add_months


class Command(BaseCommand):
    help = (
        "Benchmark the billing run: N accounts with M monthly prepaid subscriptions each, "
        "renewed and invoiced on the run date, then the same date again (a no-op)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=1000)
        parser.add_argument("--subscriptions-per-account", type=int, default=5)
        parser.add_argument(
            "--workers", type=int, default=1, help="Forked processes sharing the chunks."
        )
        parser.add_argument(
            "--run-date",
            type=date.fromisoformat,
            default=None,
            help="A 1st of a month (default: the 1st of next month).",
        )
        parser.add_argument("--pdf-sample", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        from bss.celery import app

        if options["accounts"] < 1 or options["subscriptions_per_account"] < 1:
            raise CommandError("--accounts and --subscriptions-per-account must be at least 1.")
        run_date = options["run_date"] or add_months(timezone.localdate(), 1, 1)
        if run_date.day != 1:
            raise CommandError("--run-date must be the 1st of a month (the accounts' billing day).")
        # Events and PDFs go to the queue as in production; workers are not what we measure.
        app.conf.update(task_always_eager=False)
        result = benchmark(
            accounts=options["accounts"],
            per_account=options["subscriptions_per_account"],
            run_date=run_date,
            workers=options["workers"],
            pdf_sample=options["pdf_sample"],
            owner=_bench_owner(),
        )
        self.stdout.write(json.dumps(result))


def _bench_owner() -> Any:
    from django.contrib.auth import get_user_model

    owner, _created = get_user_model().objects.get_or_create(email="bench@bss.invalid")
    return owner
