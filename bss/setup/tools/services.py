"""Starting setup tools and running them: the only writer of ToolRun rows."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bss.core.events import emit_event
from bss.core.tools import Tool, get_tool
from bss.core.translation import default_language
from bss.setup.models import ToolRun

logger = logging.getLogger(__name__)

# How often a running tool writes its progress: often enough for a 1 s poll, rarely
# enough that a tool advancing row by row does not write once per row.
PROGRESS_WRITE_SECONDS = 0.5
MAX_RESULT_ROWS = 100_000
# A run that is still "running" this long after it started lost its worker.
STALE_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return str(value)


def _bound_form(tool: Tool, data: Any) -> Any:
    form = tool.form_class(data=data)
    if not form.is_valid():
        raise ValidationError(
            {name: [str(message) for message in messages] for name, messages in form.errors.items()}
        )
    return form


@transaction.atomic
def tool_run_start(*, actor: Any, tool_code: str, data: Any) -> ToolRun:
    """Check the right and the parameters, log the run, and queue it after commit."""
    tool = get_tool(tool_code)
    if tool is None:
        raise ValidationError(_("Unknown tool %(code)s.") % {"code": tool_code})
    if not tool.may_run(actor):
        raise PermissionDenied(f"You may not run the tool {tool_code!r}.")
    form = _bound_form(tool, data)
    parameters = {name: _jsonable(value) for name, value in form.cleaned_data.items()}
    run = ToolRun.objects.create(tool=tool.code, user=actor, parameters=parameters)
    emit_event("tool_run.queued", actor=actor, aggregate=run, payload={"tool": tool.code})

    from bss.setup.tools.tasks import run_tool

    transaction.on_commit(lambda: run_tool.delay(run.pk))
    return run


class RunProgress:
    """The Progress a tool reports to; writes the counters at most twice a second."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.total = 0
        self.done = 0
        self._written_at = 0.0

    def start(self, total: int) -> None:
        self.total = max(0, int(total))
        self.done = 0
        self._write()

    def advance(self, done: int = 1) -> None:
        self.done += done
        if time.monotonic() - self._written_at >= PROGRESS_WRITE_SECONDS:
            self._write()

    def _write(self) -> None:
        self._written_at = time.monotonic()
        ToolRun.objects.filter(pk=self.run_id).update(
            progress_done=min(self.done, self.total) if self.total else self.done,
            progress_total=self.total,
        )


def _claim(run_id: int) -> ToolRun | None:
    """Move the run to running; a conditional update, so two workers never both run it."""
    now = timezone.now()
    claimable = Q(status=ToolRun.Status.QUEUED) | Q(
        status=ToolRun.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    claimed = ToolRun.objects.filter(claimable, pk=run_id).update(
        status=ToolRun.Status.RUNNING, started_at=now, progress_done=0, progress_total=0
    )
    return ToolRun.objects.select_related("user").get(pk=run_id) if claimed else None


@transaction.atomic
def _finish(run: ToolRun, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    ToolRun.objects.filter(pk=run.pk).update(**fields)
    emit_event(
        f"tool_run.{fields['status']}", actor=run.user, aggregate=run, payload={"tool": run.tool}
    )


def tool_run_execute(*, run_id: int) -> str:
    """Run a queued tool (the Celery task's body); safe to call twice for one run."""
    run = _claim(run_id)
    if run is None:
        return "not claimable"
    tool = get_tool(run.tool)
    if tool is None or not tool.may_run(run.user):
        _finish(
            run,
            status=ToolRun.Status.FAILED,
            error=_("The tool is gone or the user lost the right."),
        )
        return ToolRun.Status.FAILED
    progress = RunProgress(run.pk)
    language = run.user.language or default_language()
    try:
        with translation.override(language):
            form = _bound_form(tool, run.parameters)
            columns, rows = tool.run(form.cleaned_data, progress)
            columns = [str(column) for column in columns]
        result_rows = [[_jsonable(value) for value in row] for row in rows[:MAX_RESULT_ROWS]]
    except Exception as error:
        logger.exception("setup tool %s (run %s) failed", run.tool, run.pk)
        _finish(run, status=ToolRun.Status.FAILED, error=str(error)[:2000] or type(error).__name__)
        return ToolRun.Status.FAILED
    total = progress.total or len(result_rows)
    _finish(
        run,
        status=ToolRun.Status.COMPLETED,
        progress_done=total,
        progress_total=total,
        result_columns=columns,
        result_rows=result_rows,
        error=(
            _("Only the first %(rows)s rows were kept.") % {"rows": MAX_RESULT_ROWS}
            if len(rows) > MAX_RESULT_ROWS
            else ""
        ),
    )
    return ToolRun.Status.COMPLETED
