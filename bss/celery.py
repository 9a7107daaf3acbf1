"""The Celery app: workers and beat run under the same Django settings as the web."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bss.settings")

app = Celery("bss")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
