"""Language packs: which languages are on, the shipped catalog, and overrides by language."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from bss.setup.models import LanguageSetting, TranslationOverride
from bss.setup.organization.memo import cache_seconds, forget, memoized
from bss.setup.organization.selectors import organization

LANGUAGES_CACHE_KEY = "bss:setup:languages"
LANGUAGES_CACHE_SECONDS = 300
CONTEXT_SEPARATOR = "\x04"
CATALOG_DOMAIN = "django"


# ------------------------------------------------------------------ enabled, default


def language_states() -> dict[str, bool]:
    """Every shipped language and whether it is enabled (no row means enabled)."""
    stored = memoized(LANGUAGES_CACHE_KEY, _cached_language_rows)
    return {code: stored.get(code, True) for code, _name in settings.LANGUAGES}


def _cached_language_rows() -> dict[str, bool]:
    stored = cache.get(LANGUAGES_CACHE_KEY)
    if stored is None:
        stored = dict(LanguageSetting.objects.values_list("language", "is_enabled"))
        # Cached only after commit: a rolled-back change must not outlive its transaction.
        transaction.on_commit(
            lambda: cache.set(LANGUAGES_CACHE_KEY, stored, cache_seconds(LANGUAGES_CACHE_SECONDS))
        )
    return stored


def forget_cached_languages() -> None:
    cache.delete(LANGUAGES_CACHE_KEY)
    forget(LANGUAGES_CACHE_KEY)


def enabled_language_codes() -> list[str]:
    return [code for code, enabled in language_states().items() if enabled]


def default_language_code() -> str:
    return organization().default_language


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def is_source_language(code: str) -> bool:
    """The language the message ids are written in; its shipped translation is the id."""
    return code == settings.LANGUAGE_CODE


# --------------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class CatalogMessage:
    key: str
    source: str
    context: str
    translations: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def digest(self) -> str:
        return message_digest(self.key)

    def shipped(self, language: str) -> str:
        """The catalog's translation; the source language's is the source itself."""
        if is_source_language(language):
            return self.source
        return self.translations.get(language, "")


def message_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def message_key(source: str, context: str = "") -> str:
    return f"{context}{CONTEXT_SEPARATOR}{source}" if context else source


def catalog_paths() -> list[tuple[str, Path]]:
    root = Path(settings.LOCALE_PATHS[0])
    return [
        (code, root / code / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po")
        for code, _name in settings.LANGUAGES
        if not is_source_language(code)
    ]


def _catalog_stamp() -> tuple[tuple[str, str, float], ...]:
    stamp = []
    for code, path in catalog_paths():
        try:
            stamp.append((code, str(path), path.stat().st_mtime))
        except FileNotFoundError:
            continue
    return tuple(stamp)


@lru_cache(maxsize=2)
def _parse_catalogs(stamp: tuple[tuple[str, str, float], ...]) -> tuple[CatalogMessage, ...]:
    messages: dict[str, CatalogMessage] = {}
    for code, path, _mtime in stamp:
        with open(path, "rb") as po_file:
            catalog = read_po(po_file, locale=code)
        for entry in catalog:
            # Plural messages are keyed by (id, form) in gettext and are not overridable.
            if not entry.id or isinstance(entry.id, tuple) or entry.fuzzy:
                continue
            context = entry.context or ""
            key = message_key(entry.id, context)
            message = messages.setdefault(
                key, CatalogMessage(key=key, source=entry.id, context=context)
            )
            if isinstance(entry.string, str) and entry.string:
                message.translations[code] = entry.string
    return tuple(sorted(messages.values(), key=lambda message: message.source.casefold()))


def catalog_messages() -> tuple[CatalogMessage, ...]:
    """Every single-form message of the shipped catalogs, re-read when a .po file changes."""
    return _parse_catalogs(_catalog_stamp())


def catalog_message_by_key(key: str) -> CatalogMessage | None:
    return {message.key: message for message in catalog_messages()}.get(key)


def catalog_message_by_digest(digest: str) -> CatalogMessage | None:
    for message in catalog_messages():
        if message.digest == digest:
            return message
    return None


# ------------------------------------------------------------------------ overrides


def overrides(language: str) -> dict[str, str]:
    return dict(
        TranslationOverride.objects.filter(language=language).values_list("source", "translation")
    )


def load_override_catalogs() -> dict[str, dict[str, str]]:
    """All overrides by language; the translation layer of bss.core reads them through this."""
    catalogs: dict[str, dict[str, str]] = {}
    for language, source, translation in TranslationOverride.objects.values_list(
        "language", "source", "translation"
    ):
        catalogs.setdefault(language, {})[source] = translation
    return catalogs


@dataclass(frozen=True)
class MessageRow:
    message: CatalogMessage
    shipped: str
    override: str | None

    @property
    def current(self) -> str:
        if self.override is not None:
            return self.override
        return self.shipped or self.message.source


def search_messages(
    language: str, term: str = "", *, overridden_only: bool = False, untranslated_only: bool = False
) -> list[MessageRow]:
    """Catalog messages whose source, translation or override contains ``term``."""
    overridden = overrides(language)
    needle = term.strip().casefold()
    rows = []
    for message in catalog_messages():
        override = overridden.get(message.key)
        shipped = message.shipped(language)
        if overridden_only and override is None:
            continue
        if untranslated_only and (shipped or override is not None):
            continue
        if needle and not any(
            needle in text.casefold() for text in (message.source, shipped, override or "")
        ):
            continue
        rows.append(MessageRow(message=message, shipped=shipped, override=override))
    return rows


def pack_rows(language: str) -> Iterable[tuple[str, str, str]]:
    """(source, context, translation) per message: what the language shows today."""
    overridden = overrides(language)
    for message in catalog_messages():
        translation = overridden.get(message.key, message.shipped(language))
        yield message.source, message.context, translation


@dataclass(frozen=True)
class LanguageSummary:
    code: str
    name: str
    is_enabled: bool
    is_default: bool
    translated: int
    total: int
    overrides: int


def language_summaries() -> list[LanguageSummary]:
    states = language_states()
    default = default_language_code()
    messages = catalog_messages()
    override_counts = dict(
        TranslationOverride.objects.values("language")
        .annotate(count=Count("id"))
        .values_list("language", "count")
    )
    summaries = []
    for code, _name in settings.LANGUAGES:
        translated = sum(1 for message in messages if message.shipped(code))
        summaries.append(
            LanguageSummary(
                code=code,
                name=language_name(code),
                is_enabled=states[code],
                is_default=code == default,
                translated=translated,
                total=len(messages),
                overrides=override_counts.get(code, 0),
            )
        )
    return summaries
