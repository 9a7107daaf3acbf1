"""Structured (JSON) log lines that carry the id of the request that caused them.

A web request sets ``request_id_var`` (``RequestIdMiddleware``); a Celery task sets it to
the id of the request that queued the task, or to its own task id when nothing did
(``bss.celery``), and sets ``task_id_var`` as well. One id thus follows a change from
the click through the worker that finishes it.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

NO_ID = "-"

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_ID)
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default=NO_ID)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs 4xx and 5xx responses after the middleware has returned, outside
        # the context variable, but passes the request along with the record.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_ID),
        }
        status_code = getattr(record, "status_code", None)
        if status_code is not None:
            line["status_code"] = status_code
        task_id = getattr(record, "task_id", NO_ID)
        if task_id != NO_ID:
            line["task_id"] = task_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
