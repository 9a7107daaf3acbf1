"""Invoice numbers stay unique and gapless when 8 processes issue at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing.models import Invoice, InvoiceStatus
from tests.billing.factories import CustomerFactory
from tests.billing.helpers import charge, draft_invoice
from tests.conftest import requires_postgres
from tests.core.conftest import database_url_for_subprocesses

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8
PER_WORKER = 7  # the first of each worker's drafts is issued and rolled back


def test_eight_processes_issue_unique_gapless_numbers(eu_vat: None) -> None:
    # given: 56 drafts of 8 customers
    customers = [CustomerFactory() for _ in range(WORKERS)]
    drafts = [
        draft_invoice(customer, charge(customer, "10.00"))
        for _round in range(PER_WORKER)
        for customer in customers
    ]
    shares = [drafts[worker::WORKERS] for worker in range(WORKERS)]
    environment = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocesses(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    environment.pop("CELERY_BROKER_URL", None)

    # when: eight processes issue their share at once
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.billing.issue_worker",
            *[",".join(str(invoice.pk) for invoice in share) for share in shares],
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        timeout=180,
        check=False,
    )

    # then: every process succeeded and the numbers are 1..48 without a hole or a repeat
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    printed = finished.stdout.decode().split()
    issued = Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
    expected_count = WORKERS * (PER_WORKER - 1)
    assert sorted(printed) == sorted(issued.values_list("number", flat=True))
    assert sorted(issued.values_list("sequence_number", flat=True)) == list(
        range(1, expected_count + 1)
    )
    assert sorted(printed) == [f"INV-2026-{value:06d}" for value in range(1, expected_count + 1)]
    # and: the rolled-back issues left their drafts untouched
    assert (
        Invoice.objects.filter(status=InvoiceStatus.DRAFT, number__isnull=True).count() == WORKERS
    )
