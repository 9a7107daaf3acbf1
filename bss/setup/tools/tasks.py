"""Setup tools run on a worker (eagerly in tests and the quickstart)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from bss.setup.tools.services import tool_run_execute


@shared_task(acks_late=True, time_limit=settings.CELERY_TASK_TIME_LIMIT)
def run_tool(run_id: int) -> str:
    return tool_run_execute(run_id=run_id)
