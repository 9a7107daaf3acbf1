"""Account documents: what may be uploaded, who has room for it, and every document write.

A file is accepted only when its extension is one of the types allowed in Setup *and*
its first bytes are what that type starts with (a renamed executable is refused as a
PDF). Files are stored under a random name below MEDIA_ROOT, which the web server never
serves: downloads go through a view that checks the account's visibility.

Each user has a file space (their own limit, or the organization's default); an upload
that would go beyond it is refused. The user's row is locked while the space is counted,
so two uploads at the same time cannot both slip under the limit. Should a transaction
around the upload roll back after the file was written, the file stays behind under its
random name with no row pointing at it (Django has no on-rollback hook); nobody can reach
it, and it only costs disk space.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, Document
from accounts.selectors import (
    MEGABYTE,
    customer_settings,
    file_space_limit_bytes,
    file_space_used_bytes,
)
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.visibility import can_access
from bss.setup.fields.selectors import value_choices
from bss.setup.fields.values import account_context_of, validate_custom_data

HEAD_BYTES = 8192
Sniffer = Callable[[bytes, IO[bytes]], bool]


def _starts_with(*signatures: bytes) -> Sniffer:
    return lambda head, _file: any(head.startswith(signature) for signature in signatures)


def _is_text(head: bytes, _file: IO[bytes]) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3
    return True


def _zip_with(*members: str) -> Sniffer:
    """An Office Open XML or OpenDocument file: a zip holding the type's own parts."""

    def sniff(head: bytes, file: IO[bytes]) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return False
        finally:
            file.seek(0)
        return not members or any(
            name == member or name.startswith(member) for member in members for name in names
        )

    return sniff


def _webp(head: bytes, _file: IO[bytes]) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# extension -> (content type served on download, check of the first bytes)
KNOWN_TYPES: dict[str, tuple[str, Sniffer]] = {
    "pdf": ("application/pdf", _starts_with(b"%PDF-")),
    "png": ("image/png", _starts_with(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    "gif": ("image/gif", _starts_with(b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", _webp),
    "txt": ("text/plain; charset=utf-8", _is_text),
    "csv": ("text/csv; charset=utf-8", _is_text),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _zip_with("word/"),
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_with("xl/")),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _zip_with("ppt/"),
    ),
    "odt": ("application/vnd.oasis.opendocument.text", _zip_with("mimetype")),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _zip_with("mimetype")),
    "zip": ("application/zip", _zip_with()),
    "doc": ("application/msword", _starts_with(OLE)),
    "xls": ("application/vnd.ms-excel", _starts_with(OLE)),
}
DOCUMENT_FIELDS = ("name", "stage", "document_type", "contact", "is_published")


def extension_of(filename: str) -> str:
    return PurePosixPath(filename or "").suffix.lower().lstrip(".")


def check_file(upload: UploadedFile) -> str:
    """The content type of an acceptable upload, or a ValidationError on ``file`` saying why."""
    options = customer_settings()
    allowed = [kind for kind in options.document_types if kind in KNOWN_TYPES]
    extension = extension_of(upload.name or "")
    if extension not in allowed:
        raise ValidationError(
            {
                "file": _("Files of type “.%(ext)s” are not allowed; allowed: %(allowed)s.")
                % {"ext": extension or "?", "allowed": ", ".join(allowed)}
            }
        )
    limit = options.document_max_size_mb * MEGABYTE
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            {
                "file": _("The file is larger than the %(limit)d MB allowed.")
                % {"limit": options.document_max_size_mb}
            }
        )
    if upload.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    content_type, sniff = KNOWN_TYPES[extension]
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    if not sniff(head, upload):
        raise ValidationError(
            {
                "file": _("The content of %(name)s is not a .%(ext)s file.")
                % {"name": upload.name, "ext": extension}
            }
        )
    return content_type


def _check_space(user: Any, size: int) -> None:
    # Counting under a row lock on the user serializes that user's concurrent uploads.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    limit = file_space_limit_bytes(user)
    used = file_space_used_bytes(user)
    if used + size > limit:
        raise ValidationError(
            {
                "file": _(
                    "Not enough file space: you use %(used).1f MB of your %(limit).1f MB and the "
                    "file needs %(size).1f MB."
                )
                % {"used": used / MEGABYTE, "limit": limit / MEGABYTE, "size": size / MEGABYTE}
            }
        )


def _clean_fields(
    fields: dict[str, Any], account: Account, document: Document | None
) -> dict[str, Any]:
    if "name" in fields or document is None:
        fields["name"] = str(fields.get("name") or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": _("A document needs a name.")})
    for name, label in (("stage", _("status")), ("document_type", _("type"))):
        if name in fields:
            fields[name] = str(fields[name] or "")
            current = getattr(document, name) if document is not None else ""
            if (
                fields[name]
                and fields[name] != current
                and fields[name] not in dict(value_choices("document", name))
            ):
                raise ValidationError(
                    {
                        name: _("“%(value)s” is not an active document %(label)s.")
                        % {"value": fields[name], "label": label}
                    }
                )
    contact = fields.get("contact")
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("The contact belongs to another account.")})
    return fields


def _require(account: Account, actor: Any, access: str, message: str) -> None:
    if actor is not None and not can_access(account, actor, access):  # type: ignore[arg-type]
        raise PermissionDenied(message)


def _stored_name(upload: UploadedFile) -> tuple[str, str]:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest(), PurePosixPath(upload.name or "file").name[:255]


@transaction.atomic
def document_upload(
    *,
    actor: Any,
    account: Account,
    file: UploadedFile,
    custom_data: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Document:
    """Store an uploaded file on the account after checking its type, size and the space left."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("Documents are uploaded by a user, whose file space they use.")
    _require(account, actor, "edit", _("You may not add documents to this account."))
    unknown = set(fields) - set(DOCUMENT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown document fields: {', '.join(sorted(unknown))}")
    fields = _clean_fields(dict(fields), account, None)
    content_type = check_file(file)
    _check_space(actor, file.size or 0)
    cleaned_custom_data = validate_custom_data(
        "document", dict(custom_data or {}), account_context=account_context_of(account)
    )
    sha256, original_name = _stored_name(file)
    document = Document(
        account=account,
        original_filename=original_name,
        content_type=content_type,
        size=file.size or 0,
        sha256=sha256,
        uploaded_by=actor,
        custom_data=cleaned_custom_data,
        **fields,
    )
    with acting_as(actor):
        document.file.save(original_name, file, save=False)
        try:
            document.save()
        except BaseException:
            default_storage.delete(document.file.name)
            raise
    emit_event(
        "document.uploaded",
        actor=actor,
        aggregate=document,
        payload={"account_id": account.pk, "name": document.name, "size": document.size},
    )
    return document


@transaction.atomic
def document_update(
    *, actor: Any, document: Document, custom_data: Mapping[str, Any] | None = None, **fields: Any
) -> Document:
    _require(document.account, actor, "edit", _("You may not change this document."))
    unknown = set(fields) - set(DOCUMENT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown document fields: {', '.join(sorted(unknown))}")
    fields = _clean_fields(dict(fields), document.account, document)
    changed = [name for name, value in fields.items() if getattr(document, name) != value]
    if custom_data is not None:
        new_custom_data = validate_custom_data(
            "document",
            dict(custom_data),
            account_context=account_context_of(document.account),
            existing=document.custom_data,
        )
        if new_custom_data != document.custom_data:
            fields["custom_data"] = new_custom_data
            changed.append("custom_data")
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(document, name, fields[name])
            document.save(update_fields=[*changed, "updated_at"])
        emit_event("document.updated", actor=actor, aggregate=document, payload={"fields": changed})
    return document


@transaction.atomic
def document_delete(*, actor: Any, document: Document) -> None:
    """Remove the document; its file goes once the deletion has committed."""
    _require(document.account, actor, "edit", _("You may not delete this document."))
    stored = document.file.name
    emit_event(
        "document.deleted",
        actor=actor,
        aggregate=document,
        payload={"account_id": document.account_id, "name": document.name},
    )
    with acting_as(actor):
        document.delete()
    transaction.on_commit(lambda: default_storage.delete(stored))
