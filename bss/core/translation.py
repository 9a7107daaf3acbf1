"""Interface languages: which ones are on, which one a request gets, and browser overrides.

Setup owns the tables (enabled languages, the default, strings overridden in the
browser); ``bss.core`` imports no app, so setup hands its readers in at start-up through
``set_language_policy`` and ``set_override_loader``. Until it does, every language in
``settings.LANGUAGES`` is on and nothing is overridden.

Overrides win over the shipped gettext catalogs: ``install()`` puts a layer in front of
the catalog of every ``DjangoTranslation`` Django builds, so ``gettext`` in Python and
``{% trans %}`` in templates find an override first. The layer reads a snapshot that is
replaced in one assignment, never changed in place, so a thread reading it mid-reload
sees the old strings or the new ones, never a mixture. Which snapshot is current is told
by a version stamp in the shared cache: a save bumps the stamp after commit
(``overrides_changed``), and each process compares its own stamp with the shared one at
the start of every request and task (one cache read) and reloads on a difference. The
local-memory cache (no REDIS_URL) is private to each process, so there the stamp
expires every few seconds and every process reloads that often: other workers then
show a change within ``LOCAL_CACHE_RECHECK_SECONDS``, the one that saved it at once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_started
from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.translation import trans_real

logger = logging.getLogger(__name__)

OVERRIDES_VERSION_KEY = "bss:translation-overrides:version"
LOCAL_CACHE_RECHECK_SECONDS = 10

# language code -> {message id (with "context\x04" prefix when it has one) -> text}
OverrideCatalogs = Mapping[str, Mapping[str, str]]


# ------------------------------------------------------------------ language policy


@dataclass(frozen=True)
class LanguagePolicy:
    enabled: Callable[[], Iterable[str]]
    default: Callable[[], str]


_policy: LanguagePolicy | None = None


def set_language_policy(
    *, enabled: Callable[[], Iterable[str]], default: Callable[[], str]
) -> None:
    """Called once by setup at start-up; both callables must be cheap (they run per request)."""
    global _policy
    _policy = LanguagePolicy(enabled=enabled, default=default)


def enabled_language_codes() -> list[str]:
    supported = [code for code, _name in settings.LANGUAGES]
    if _policy is None:
        return supported
    enabled = set(_policy.enabled())
    return [code for code in supported if code in enabled] or [settings.LANGUAGE_CODE]


def enabled_languages() -> list[tuple[str, Any]]:
    """(code, name) pairs a user may pick, in the order of ``settings.LANGUAGES``."""
    codes = set(enabled_language_codes())
    return [(code, name) for code, name in settings.LANGUAGES if code in codes]


def default_language() -> str:
    if _policy is None:
        return settings.LANGUAGE_CODE
    language = _policy.default()
    return language if language in enabled_language_codes() else enabled_language_codes()[0]


def is_enabled_language(language: str) -> bool:
    return language in enabled_language_codes()


def _supported_variant(language: str) -> str | None:
    if not language:
        return None
    try:
        return trans_real.get_supported_language_variant(language)
    except LookupError:
        return None


def choose_language(request: HttpRequest) -> str:
    """The language a request is served in.

    The user's own choice, then the language cookie the switch sets; an anonymous
    visitor's browser languages come next; the organization's default is the last word.
    Disabled languages are skipped at every step.
    """
    enabled = enabled_language_codes()
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    candidates = []
    if signed_in:
        candidates.append(getattr(user, "language", "") or "")
    candidates.append(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
    if not signed_in:
        header = request.headers.get("Accept-Language", "")
        candidates += [code for code, _quality in trans_real.parse_accept_lang_header(header)]
    for candidate in candidates:
        variant = _supported_variant(candidate)
        if variant in enabled:
            return variant
    return default_language()


# ------------------------------------------------------------------------ overrides

_EMPTY: Mapping[str, str] = {}


class _Snapshot:
    """The overrides one process currently serves, and the shared version they match."""

    def __init__(self, catalogs: OverrideCatalogs, version: str | None) -> None:
        self.catalogs = catalogs
        self.version = version


_snapshot = _Snapshot({}, None)
_reload_lock = threading.Lock()
_loader: Callable[[], OverrideCatalogs] | None = None


def set_override_loader(loader: Callable[[], OverrideCatalogs]) -> None:
    """Setup hands in the function that reads every override from the database."""
    global _loader
    _loader = loader


def overrides_for(language: str) -> Mapping[str, str]:
    return _snapshot.catalogs.get(language, _EMPTY)


class OverrideLayer:
    """Sits first in a ``TranslationCatalog`` and answers with the language's overrides.

    Only the lookups ``TranslationCatalog`` makes are implemented. Plural entries are
    keyed by (message id, form) tuples and are never overridden, so they fall through.
    """

    def __init__(self, language: str) -> None:
        self.language = language

    def get(self, key: Any, default: Any = None) -> Any:
        if not isinstance(key, str):
            return default
        return overrides_for(self.language).get(key, default)

    def __getitem__(self, key: Any) -> str:
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key in overrides_for(self.language)

    def keys(self) -> Iterator[str]:
        return iter(list(overrides_for(self.language)))

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(list(overrides_for(self.language).items()))

    def copy(self) -> dict[str, str]:
        return dict(overrides_for(self.language))


def _attach(translation: Any) -> None:
    catalog = getattr(translation, "_catalog", None)
    if not isinstance(catalog, trans_real.TranslationCatalog):
        logger.warning("translation %r has no TranslationCatalog; overrides skip it", translation)
        return
    if any(isinstance(layer, OverrideLayer) for layer in catalog._catalogs):
        return
    catalog._catalogs.insert(0, OverrideLayer(translation.to_language()))
    catalog._plurals.insert(0, catalog._plurals[0])


class _OverridableTranslation(trans_real.DjangoTranslation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.domain == "django":
            _attach(self)


_installed = False


def install() -> None:
    """Put the override layer in front of every catalog, present and future.

    Django builds translations through ``trans_real.translation``, which instantiates
    the module's ``DjangoTranslation``; replacing that name covers the languages not
    loaded yet, and the loop covers the ones already cached.
    """
    global _installed
    if _installed:
        return
    trans_real.DjangoTranslation = _OverridableTranslation  # type: ignore[misc]
    for translation in list(trans_real._translations.values()):
        _attach(translation)
    request_started.connect(refresh_if_stale, dispatch_uid="bss.translation.refresh")
    from celery.signals import task_prerun

    task_prerun.connect(refresh_if_stale, dispatch_uid="bss.translation.refresh", weak=False)
    _installed = True


def _load(version: str | None) -> None:
    global _snapshot
    if _loader is None:
        _snapshot = _Snapshot({}, version)
        return
    try:
        catalogs = _loader()
    except DatabaseError:
        # Before the first migration the table is not there yet; serve the catalogs.
        logger.warning("translation overrides could not be read", exc_info=True)
        return
    _snapshot = _Snapshot(
        {language: dict(messages) for language, messages in catalogs.items()}, version
    )


def cache_is_process_local() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def _stamp_timeout() -> int | None:
    return LOCAL_CACHE_RECHECK_SECONDS if cache_is_process_local() else None


def refresh_if_stale(**_signal: Any) -> None:
    """Reload the overrides when another process (or this one) changed them."""
    shared = cache.get(OVERRIDES_VERSION_KEY)
    if shared is None:
        # The cache lost the stamp (restart, eviction): no process can tell what it
        # has, so start a new stamp and everybody reloads once.
        cache.add(OVERRIDES_VERSION_KEY, uuid.uuid4().hex, timeout=_stamp_timeout())
        shared = cache.get(OVERRIDES_VERSION_KEY)
    if shared == _snapshot.version:
        return
    with _reload_lock:
        if shared != _snapshot.version:
            _load(shared)


def overrides_changed() -> None:
    """Call after the commit that changed overrides: this process and the others reload."""
    version = uuid.uuid4().hex
    cache.set(OVERRIDES_VERSION_KEY, version, timeout=_stamp_timeout())
    with _reload_lock:
        _load(version)


def forget_overrides() -> None:
    """Serve no overrides and mark that as current, without reading the database.

    For tests: their database starts without overrides, and a stamp left in the cache by
    an earlier test must not make the next one reload (which would add a query).
    """
    global _snapshot
    version = uuid.uuid4().hex
    cache.set(OVERRIDES_VERSION_KEY, version, timeout=_stamp_timeout())
    _snapshot = _Snapshot({}, version)
