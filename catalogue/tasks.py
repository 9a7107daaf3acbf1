"""Background jobs of the catalogue: a task fetches by id and calls one service."""

from __future__ import annotations

from celery import shared_task

from catalogue.importing import import_run

IMPORT_TIME_LIMIT = 15 * 60


@shared_task(time_limit=IMPORT_TIME_LIMIT, acks_late=True)
def run_product_import(import_id: int) -> str:
    """Safe to deliver twice: only a queued import is claimed and run."""
    return import_run(job_id=import_id).status
