"""Every write to the organization profile goes through here."""

from __future__ import annotations

import uuid
import zoneinfo
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.translation import enabled_language_codes
from bss.setup.models import Currency, Organization
from bss.setup.organization.selectors import forget_cached_organization

DATE_FORMATS = ["dd/MM/yyyy", "MM/dd/yyyy", "yyyy-MM-dd", "dd.MM.yyyy", "d MMM yyyy"]
NUMBER_LOCALES = ["en_US", "en_GB", "el_GR", "de_DE", "fr_FR", "de_CH", "en_IN"]

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_SIDE = 4096
# SVG is left out on purpose: it can carry scripts, and PDFs and emails want pixels.
LOGO_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}

EDITABLE_FIELDS = {
    "legal_name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "country",
    "tax_id",
    "email",
    "phone",
    "default_language",
    "time_zone",
    "date_format",
    "number_locale",
    "file_space_mb",
}


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@transaction.atomic
def organization_create_default() -> Organization:
    """The profile a fresh installation starts with; the first read calls it."""
    home = Currency.objects.filter(code="EUR", is_active=True).first()
    organization, _created = Organization.objects.select_related("home_currency").get_or_create(
        pk=1,
        defaults={
            "legal_name": settings.BSS_ORGANIZATION_NAME,
            "home_currency": home,
            "default_language": settings.LANGUAGE_CODE,
            "time_zone": settings.TIME_ZONE,
        },
    )
    return organization


def _locked_organization() -> Organization:
    organization_create_default()
    return (
        Organization.objects.select_for_update(of=("self",))
        .select_related("home_currency")
        .get(pk=1)
    )


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            f"These organization fields cannot be changed here: {', '.join(sorted(unknown))}"
        )
    errors: dict[str, str] = {}
    if "legal_name" in fields:
        fields["legal_name"] = (fields["legal_name"] or "").strip()
        if not fields["legal_name"]:
            errors["legal_name"] = _("The organization needs a legal name.")
    if "country" in fields:
        fields["country"] = (fields["country"] or "").strip().upper()
        if fields["country"] and not _is_country(fields["country"]):
            errors["country"] = _("Unknown country code %(code)s.") % {"code": fields["country"]}
    if "time_zone" in fields and fields["time_zone"] not in time_zone_names():
        errors["time_zone"] = _("Unknown time zone %(name)s.") % {"name": fields["time_zone"]}
    if "date_format" in fields and fields["date_format"] not in DATE_FORMATS:
        errors["date_format"] = _("Unknown date format %(format)s.") % {
            "format": fields["date_format"]
        }
    if "number_locale" in fields and not _is_locale(fields["number_locale"]):
        errors["number_locale"] = _("Unknown number format %(format)s.") % {
            "format": fields["number_locale"]
        }
    if "default_language" in fields and fields["default_language"] not in enabled_language_codes():
        errors["default_language"] = _("The default language must be one of the enabled languages.")
    if "file_space_mb" in fields:
        value = fields["file_space_mb"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors["file_space_mb"] = _(
                "The file-space allowance is a whole number of MB, at least 1."
            )
    if errors:
        raise ValidationError(errors)
    return fields


def _is_country(code: str) -> bool:
    import pycountry

    return pycountry.countries.get(alpha_2=code) is not None


def _is_locale(code: str) -> bool:
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


def _saved(organization: Organization, actor: Any, changed: list[str]) -> None:
    emit_event(
        "organization.updated", actor=actor, aggregate=organization, payload={"fields": changed}
    )
    forget_cached_organization()
    transaction.on_commit(forget_cached_organization)


@transaction.atomic
def organization_update(
    *,
    actor: Any,
    home_currency: Currency | None = None,
    logo: File | None = None,
    remove_logo: bool = False,
    **fields: Any,
) -> Organization:
    """Change profile fields, the logo (a new file, or ``remove_logo``) and the home currency.

    Everything is validated before anything is written; the home currency goes through
    ``currency_set_home``, which re-bases the exchange rates.
    """
    fields = _validated(fields)
    logo_format = _validated_logo(logo) if logo is not None else None
    if home_currency is not None:
        from bss.setup.currencies.services import currency_set_home

        currency_set_home(actor=actor, currency=home_currency)
    organization = _locked_organization()
    changed = [name for name, value in fields.items() if getattr(organization, name) != value]
    previous_logo = organization.logo.name if organization.logo else ""
    if logo is not None and logo_format is not None:
        extension, _content_type = logo_format
        organization.logo = default_storage.save(
            f"organization/logo-{uuid.uuid4().hex}.{extension}", logo
        )
        changed.append("logo")
    elif remove_logo and previous_logo:
        organization.logo = ""
        changed.append("logo")
    if changed:
        with acting_as(actor):
            for name in changed:
                if name != "logo":
                    setattr(organization, name, fields[name])
            organization.save(update_fields=[*changed, "updated_at"])
        _saved(organization, actor, changed)
    if "logo" in changed and previous_logo:
        transaction.on_commit(lambda: default_storage.delete(previous_logo))
    return organization


def _validated_logo(upload: File) -> tuple[str, str]:
    """(extension, content type) of an acceptable logo, or a ValidationError saying why not."""
    if upload.size is not None and upload.size > LOGO_MAX_BYTES:
        raise ValidationError({"logo": _("The logo may be at most 2 MB.")})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format or ""
            width, height = image.size
            if image_format not in LOGO_FORMATS:
                raise ValidationError({"logo": _("The logo must be a PNG, JPEG or WebP image.")})
            if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                raise ValidationError(
                    {
                        "logo": _("The logo may be at most %(pixels)s pixels on each side.")
                        % {"pixels": LOGO_MAX_SIDE}
                    }
                )
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValidationError({"logo": _("The file is not an image that can be read.")}) from error
    finally:
        upload.seek(0)
    return LOGO_FORMATS[image_format]


def logo_content_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    for known_extension, content_type in LOGO_FORMATS.values():
        if extension == known_extension:
            return content_type
    return "application/octet-stream"
