"""Every write to languages and UI-string overrides goes through here."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zipfile import BadZipFile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.translation import overrides_changed
from bss.setup.languages.selectors import (
    CatalogMessage,
    catalog_messages,
    default_language_code,
    forget_cached_languages,
    language_states,
    message_key,
)
from bss.setup.models import LanguageSetting, TranslationOverride

# %(name)s and %s style placeholders: gettext fills them, so a translation needs the same set.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]")
# Markup is kept as the source has it: block translations are rendered unescaped.
TAG = re.compile(r"<[^>]*>")
PACK_MAX_BYTES = 5 * 1024 * 1024
PACK_MAX_ROWS = 20_000
MAX_REPORTED_ERRORS = 50


def _supported(language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(
            {"language": _("%(code)s is not a shipped language.") % {"code": language}}
        )
    return language


@transaction.atomic
def language_set_enabled(*, actor: Any, language: str, is_enabled: bool) -> LanguageSetting:
    _supported(language)
    if not is_enabled and language == default_language_code():
        raise ValidationError(
            {"language": _("The default language cannot be disabled; pick another default first.")}
        )
    with acting_as(actor):
        setting, _created = LanguageSetting.objects.select_for_update().get_or_create(
            language=language, defaults={"is_enabled": is_enabled}
        )
        if setting.is_enabled != is_enabled:
            setting.is_enabled = is_enabled
            setting.save(update_fields=["is_enabled"])
    emit_event(
        "language.updated",
        actor=actor,
        aggregate=setting,
        payload={"language": language, "is_enabled": is_enabled},
    )
    forget_cached_languages()
    transaction.on_commit(forget_cached_languages)
    return setting


@transaction.atomic
def language_set_default(*, actor: Any, language: str) -> None:
    """The organization's default language; it must be enabled."""
    from bss.setup.organization.services import organization_update

    _supported(language)
    if not language_states()[language]:
        raise ValidationError({"language": _("Enable the language before making it the default.")})
    organization_update(actor=actor, default_language=language)


def _message_errors(message: CatalogMessage, translation: str) -> list[str]:
    errors = []
    if sorted(PLACEHOLDER.findall(translation)) != sorted(PLACEHOLDER.findall(message.source)):
        expected = ", ".join(sorted(set(PLACEHOLDER.findall(message.source)))) or _("none")
        errors.append(
            _("the translation must keep the placeholders of the source (%(expected)s)")
            % {"expected": expected}
        )
    extra_tags = set(TAG.findall(translation)) - set(TAG.findall(message.source))
    if extra_tags:
        errors.append(
            _("markup not in the source: %(tags)s") % {"tags": ", ".join(sorted(extra_tags))}
        )
    return errors


def _known_message(key: str) -> CatalogMessage:
    for message in catalog_messages():
        if message.key == key:
            return message
    raise ValidationError({"source": _("This text is not a message of the shipped catalog.")})


def _after_change(actor: Any, language: str, event: str, payload: dict[str, Any]) -> None:
    emit_event(event, actor=actor, payload={"language": language, **payload})
    transaction.on_commit(overrides_changed)


@transaction.atomic
def translation_override_set(
    *, actor: Any, language: str, source: str, translation: str
) -> TranslationOverride | None:
    """Show ``translation`` for the catalog message ``source`` (its lookup key) in ``language``.

    Setting the shipped translation again removes the override. Returns the override,
    or None when none is needed.
    """
    _supported(language)
    message = _known_message(source)
    if not translation.strip():
        raise ValidationError({"translation": _("Enter the text to show, or reset the string.")})
    problems = _message_errors(message, translation)
    if problems:
        raise ValidationError({"translation": "; ".join(problems).capitalize() + "."})
    if translation == (message.shipped(language) or message.source):
        translation_override_reset(actor=actor, language=language, source=source)
        return None
    with acting_as(actor):
        override, _created = TranslationOverride.objects.update_or_create(
            language=language, source=message.key, defaults={"translation": translation}
        )
    _after_change(actor, language, "translation_override.set", {"source": message.key})
    return override


@transaction.atomic
def translation_override_reset(*, actor: Any, language: str, source: str) -> None:
    _supported(language)
    with acting_as(actor):
        for override in TranslationOverride.objects.filter(language=language, source=source):
            override.delete()
    _after_change(actor, language, "translation_override.reset", {"source": source})


@dataclass(frozen=True)
class PackImportResult:
    language: str
    overridden: int
    reset: int
    unchanged: int


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _read_pack(upload: File) -> tuple[str, list[tuple[int, str, str, str]]]:
    """(language, [(row number, source, context, translation)]) or a ValidationError."""
    if upload.size is not None and upload.size > PACK_MAX_BYTES:
        raise ValidationError({"file": _("The file may be at most 5 MB.")})
    try:
        workbook = load_workbook(upload, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as error:
        raise ValidationError({"file": _("The file is not an Excel workbook (.xlsx).")}) from error
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_cell_text(value).strip() for value in next(rows, ())]
        columns: dict[str, int] = {}
        errors = []
        languages = dict(settings.LANGUAGES)
        for position, title in enumerate(header):
            letter = get_column_letter(position + 1)
            if not title:
                continue
            if title in ("source", "context"):
                columns[title] = position
            elif title in languages:
                if "language" in columns:
                    errors.append(
                        _("Row 1, column %(column)s: only one language column per file.")
                        % {"column": letter}
                    )
                columns["language"] = position
                columns[f"language:{title}"] = position
            else:
                errors.append(
                    _(
                        "Row 1, column %(column)s: %(title)s is not a column of a language "
                        "pack (source, context, or one of %(languages)s)."
                    )
                    % {"column": letter, "title": title, "languages": ", ".join(languages)}
                )
        if "source" not in columns:
            errors.append(_("Row 1: the header needs a source column."))
        if "language" not in columns:
            errors.append(_("Row 1: the header needs a language column, e.g. el."))
        if errors:
            raise ValidationError({"file": errors})
        language = next(key.split(":", 1)[1] for key in columns if key.startswith("language:"))
        records = []
        for number, values in enumerate(rows, start=2):
            if number - 1 > PACK_MAX_ROWS:
                raise ValidationError(
                    {"file": _("A pack may have at most %(rows)s rows.") % {"rows": PACK_MAX_ROWS}}
                )
            cells = list(values) + [None] * (len(header) - len(values))
            if all(value is None or _cell_text(value).strip() == "" for value in cells):
                continue
            context = _cell_text(cells[columns["context"]]) if "context" in columns else ""
            records.append(
                (
                    number,
                    _cell_text(cells[columns["source"]]),
                    context,
                    _cell_text(cells[columns["language"]]),
                )
            )
    finally:
        workbook.close()
    return language, records


@transaction.atomic
def language_pack_import(*, actor: Any, upload: File) -> PackImportResult:
    """Apply a pack exported from this page (or edited from one): all rows or none.

    Each row's text becomes an override, unless it equals the shipped translation or is
    empty, which resets the string.
    """
    language, records = _read_pack(upload)
    known = {message.key: message for message in catalog_messages()}
    current = dict(
        TranslationOverride.objects.filter(language=language).values_list("source", "translation")
    )
    errors: list[str] = []
    seen: Counter[str] = Counter()
    planned: dict[str, str | None] = {}
    for number, source, context, translation in records:
        if not source.strip():
            errors.append(
                _("Row %(row)s, column source: the source text is empty.") % {"row": number}
            )
            continue
        key = message_key(source, context)
        message = known.get(key)
        if message is None:
            errors.append(
                _("Row %(row)s, column source: not a message of the shipped catalog.")
                % {"row": number}
            )
            continue
        seen[key] += 1
        if seen[key] > 1:
            errors.append(
                _("Row %(row)s, column source: the message appears more than once.")
                % {"row": number}
            )
            continue
        if not translation.strip() or translation == (message.shipped(language) or message.source):
            planned[key] = None
            continue
        problems = _message_errors(message, translation)
        if problems:
            errors.append(
                _("Row %(row)s, column %(column)s: %(problems)s.")
                % {"row": number, "column": language, "problems": "; ".join(problems)}
            )
            continue
        planned[key] = translation
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            shown.append(_("… and %(count)s more.") % {"count": len(errors) - len(shown)})
        raise ValidationError({"file": shown})
    overridden = reset = unchanged = 0
    with acting_as(actor):
        for key, translation in planned.items():
            if translation is None:
                if key in current:
                    TranslationOverride.objects.filter(language=language, source=key).delete()
                    reset += 1
                else:
                    unchanged += 1
            elif current.get(key) == translation:
                unchanged += 1
            else:
                TranslationOverride.objects.update_or_create(
                    language=language, source=key, defaults={"translation": translation}
                )
                overridden += 1
    _after_change(
        actor,
        language,
        "language_pack.imported",
        {"overridden": overridden, "reset": reset},
    )
    return PackImportResult(
        language=language, overridden=overridden, reset=reset, unchanged=unchanged
    )
