"""Reads of the organization profile: the singleton row, its name, its file space."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from bss.setup.models import Organization
from bss.setup.organization.memo import cache_seconds, forget, memoized

ORGANIZATION_CACHE_KEY = "bss:setup:organization"
# A bound on staleness should a reader cache an old row just after a save invalidated it.
ORGANIZATION_CACHE_SECONDS = 300
MEGABYTE = 1024 * 1024


def organization() -> Organization:
    """The organization profile, created on first use with BSS_ORGANIZATION_NAME.

    Every page reads it (header, formats), so it is kept in the shared cache and
    memoized for the request; the service that saves it drops both. A copy enters the
    shared cache only once the transaction that read it has committed, so a rolled-back
    first use never leaves a row there that the database does not have.
    """
    return memoized(ORGANIZATION_CACHE_KEY, _cached_organization)


def _cached_organization() -> Organization:
    cached = cache.get(ORGANIZATION_CACHE_KEY)
    if cached is not None:
        return cached
    found = Organization.objects.select_related("home_currency").filter(pk=1).first()
    if found is None:
        from bss.setup.organization.services import organization_create_default

        found = organization_create_default()
    transaction.on_commit(
        lambda: cache.set(ORGANIZATION_CACHE_KEY, found, cache_seconds(ORGANIZATION_CACHE_SECONDS))
    )
    return found


def forget_cached_organization() -> None:
    cache.delete(ORGANIZATION_CACHE_KEY)
    forget(ORGANIZATION_CACHE_KEY)


def organization_name() -> str:
    return organization().legal_name


def layout_context(request: Any) -> dict[str, Any]:
    """What every page's header and footer show of the organization.

    The logo is served by a login-only view, so signed-out pages get no logo address.
    """
    profile = organization()
    logo_url = ""
    user = getattr(request, "user", None)
    if profile.logo and user is not None and user.is_authenticated:
        logo_url = f"{reverse('setup:organization_logo')}?v={int(profile.updated_at.timestamp())}"
    return {"organization_name": profile.legal_name, "organization_logo_url": logo_url}


def home_currency_code() -> str | None:
    home = organization().home_currency
    return home.code if home is not None else None


# ------------------------------------------------------------------------ file space

FileSpaceSource = Callable[[], int]
_file_space_sources: dict[str, FileSpaceSource] = {}


def register_file_space_source(key: str, bytes_used: FileSpaceSource) -> None:
    """Add (or, under an existing key, replace) a contributor to the space in use.

    Until the documents module registers its own count, ``"media"`` walks MEDIA_ROOT;
    a module storing files there replaces that entry rather than adding to it, so no
    file is counted twice.
    """
    _file_space_sources[key] = bytes_used


def media_root_bytes() -> int:
    root = Path(settings.MEDIA_ROOT)
    total = 0
    for directory, _subdirectories, files in os.walk(root):
        for name in files:
            try:
                total += (Path(directory) / name).stat().st_size
            except OSError:
                continue
    return total


register_file_space_source("media", media_root_bytes)


@dataclass(frozen=True)
class FileSpace:
    used_bytes: int
    allowance_bytes: int

    @property
    def used_mb(self) -> float:
        return round(self.used_bytes / MEGABYTE, 1)

    @property
    def allowance_mb(self) -> int:
        return self.allowance_bytes // MEGABYTE

    @property
    def percent_used(self) -> int:
        if self.allowance_bytes <= 0:
            return 100
        return min(100, round(100 * self.used_bytes / self.allowance_bytes))

    @property
    def is_exceeded(self) -> bool:
        return self.used_bytes > self.allowance_bytes


def file_space() -> FileSpace:
    used = sum(source() for source in _file_space_sources.values())
    return FileSpace(used_bytes=used, allowance_bytes=organization().file_space_mb * MEGABYTE)
