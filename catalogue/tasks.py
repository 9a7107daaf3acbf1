"""Background jobs of the catalogue: a task fetches by id and calls one service."""

from __future__ import annotations

from celery import shared_task

from catalogue.gsd import GSD_TIME_LIMIT, gsd_execute
from catalogue.importing import import_run

IMPORT_TIME_LIMIT = 15 * 60


@shared_task(time_limit=IMPORT_TIME_LIMIT, acks_late=True)
def run_product_import(import_id: int) -> str:
    """Safe to deliver twice: only a queued import is claimed and run."""
    return import_run(job_id=import_id).status


@shared_task(time_limit=GSD_TIME_LIMIT, acks_late=True)
def run_gsd(run_id: int) -> str:
    """Safe to deliver twice: only a queued run is claimed and run."""
    return gsd_execute(run_id=run_id).status
