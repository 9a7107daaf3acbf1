"""The Celery app: workers and beat run under the same Django settings as the web.

Start them with ``celery -A bss worker`` and ``celery -A bss beat``; beat's schedule is
``CELERY_BEAT_SCHEDULE``, which django-celery-beat's DatabaseScheduler copies into its
tables on start.
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery, Task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from bss.core.logging import NO_ID, request_id_var, task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bss.settings")

app = Celery("bss")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "bss_request_id"


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Keep the JSON lines of settings.LOGGING instead of Celery's own text format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect
def pass_request_id(headers: dict[str, Any], **kwargs: Any) -> None:
    request_id = request_id_var.get()
    if request_id != NO_ID:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def bind_task_ids(task_id: str, task: Task, **kwargs: Any) -> None:
    if task.request.is_eager:
        return  # runs inside its caller, whose request id the lines should keep
    request_id_var.set(task.request.get(REQUEST_ID_HEADER) or task_id)
    task_id_var.set(task_id)


@task_postrun.connect
def unbind_task_ids(task: Task, **kwargs: Any) -> None:
    if task.request.is_eager:
        return
    request_id_var.set(NO_ID)
    task_id_var.set(NO_ID)
