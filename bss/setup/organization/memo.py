"""A per-request memo for the settings every page reads (organization, languages).

The shared cache spares the database, but the header, the middleware and the page may
each ask for the same settings within one request; the memo answers the repeats. It
lives only between ``request_started`` and ``request_finished``: outside a request
(a Celery task, a shell) nothing is memoized, so a long-lived process never keeps a
stale copy.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.signals import request_finished, request_started

from bss.core.translation import LOCAL_CACHE_RECHECK_SECONDS, cache_is_process_local

T = TypeVar("T")

_memo: ContextVar[dict[str, Any] | None] = ContextVar("bss_request_memo", default=None)


def _begin(**_signal: Any) -> None:
    _memo.set({})


def _end(**_signal: Any) -> None:
    _memo.set(None)


def cache_seconds(shared: int) -> int:
    """How long a settings copy may stay cached: short when each process has its own cache.

    A save clears the copy of the process that made it; other processes, which a private
    cache does not reach, pick the change up when their copy expires.
    """
    return LOCAL_CACHE_RECHECK_SECONDS if cache_is_process_local() else shared


def connect() -> None:
    request_started.connect(_begin, dispatch_uid="bss.setup.memo.begin")
    request_finished.connect(_end, dispatch_uid="bss.setup.memo.end")


def memoized(key: str, compute: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(key: str) -> None:
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)
