"""Issues drafts from 8 forked processes at once, for the concurrent-numbering test.

Usage: ``python -m tests.billing.issue_worker <id,id,...> [<id,id,...> ...]``: one
argument per process. Django starts once; the processes are forked from it before any
database connection exists, wait at a barrier so they start together, issue each of
their drafts in its own transaction, then issue one more inside a transaction they roll
back. Every issued number is printed on its own line.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from datetime import date
from typing import Any

import django


def issue_share(invoice_ids: list[int], barrier: Any) -> None:
    from django.db import transaction

    from billing import services
    from billing.models import Invoice

    barrier.wait(timeout=60)
    doomed, *kept = invoice_ids
    for invoice_id in kept:
        invoice = Invoice.objects.get(pk=invoice_id)
        issued = services.invoice_issue(actor=None, invoice=invoice, invoice_date=date(2026, 7, 1))
        # One write per line: writes up to PIPE_BUF bytes never interleave between processes.
        os.write(sys.stdout.fileno(), f"{issued.number}\n".encode())
    try:
        with transaction.atomic():
            invoice = Invoice.objects.get(pk=doomed)
            services.invoice_issue(actor=None, invoice=invoice, invoice_date=date(2026, 7, 1))
            raise RuntimeError("roll back after taking a number")
    except RuntimeError:
        pass


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bss.settings")
    django.setup()
    from django.conf import settings
    from django.db import connections

    # PDFs are not what this test measures.
    settings.BILLING_RENDER_PDF_ON_ISSUE = False
    # A connection opened before the fork would be shared by every child.
    connections.close_all()
    shares = [[int(value) for value in argument.split(",")] for argument in sys.argv[1:]]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(shares))
    processes = [context.Process(target=issue_share, args=(share, barrier)) for share in shares]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    if failed:
        raise SystemExit(f"{len(failed)} issuing processes failed: exit codes {failed}")


if __name__ == "__main__":
    main()
