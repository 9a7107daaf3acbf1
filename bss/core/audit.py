"""Audit trail: every change made through a service is recorded with its actor.

django-auditlog writes the rows (who, when, changed values); services wrap their writes
in ``acting_as(actor)`` so that Celery tasks, imports and the API are attributed too,
not only browser requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.db.models import Model, QuerySet

# auditlog's set_actor does not nest: leaving an inner block forgets the outer actor and
# leaves the outer signal receiver connected. So only the outermost block sets it.
_current_actor: ContextVar[Any] = ContextVar("bss_audit_actor", default=None)


@contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        yield
        return
    if _current_actor.get() is not None:
        yield
        return
    token = _current_actor.set(actor)
    try:
        with set_actor(actor):
            yield
    finally:
        _current_actor.reset(token)


def audit_trail(record: Model) -> QuerySet[LogEntry]:
    return LogEntry.objects.get_for_object(record).select_related("actor").order_by("-timestamp")
