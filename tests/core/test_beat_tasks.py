"""Every task named in the beat schedule exists in the worker's registry."""

from __future__ import annotations

from django.conf import settings

from bss.celery import app


def test_every_scheduled_task_is_registered() -> None:
    app.loader.import_default_modules()
    missing = [
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] not in app.tasks
    ]
    assert missing == []
