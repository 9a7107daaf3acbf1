"""Account documents: type checked by content and extension, size, file space, private download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts import services
from accounts.documents import document_delete, document_upload
from accounts.models import Document
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
MEGABYTE = 1024 * 1024


def pdf(name: str = "contract.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def configure(actor: Any, **changes: Any) -> None:
    values = {
        "address_validation": "strict",
        "document_types": ["pdf", "docx", "txt"],
        "document_max_size_mb": 1,
        "default_file_space_mb": 2,
        **changes,
    }
    services.customer_settings_update(actor=actor, **values)


def test_a_pdf_is_stored_privately_with_its_facts(admin_user: Any, media_root: Path) -> None:
    account = AccountFactory()
    document = document_upload(
        actor=admin_user, account=account, file=pdf(), name="Master agreement", is_published=True
    )
    assert (document.original_filename, document.content_type, document.size) == (
        "contract.pdf",
        "application/pdf",
        len(PDF),
    )
    assert document.file.name.startswith("documents/")
    assert "contract" not in document.file.name
    assert (media_root / document.file.name).read_bytes() == PDF
    assert len(document.sha256) == 64


def test_a_renamed_executable_is_refused_by_its_content(admin_user: Any, media_root: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=admin_user,
            account=AccountFactory(),
            file=pdf("invoice.pdf", b"MZ\x90\x00\x03 this is a PE executable"),
            name="Invoice",
        )
    assert refused.value.message_dict == {
        "file": ["The content of invoice.pdf is not a .pdf file."]
    }
    assert not Document.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.pdf"))


def test_types_not_allowed_in_setup_are_refused(admin_user: Any, media_root: Path) -> None:
    configure(admin_user, document_types=["pdf"])
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=admin_user,
            account=AccountFactory(),
            file=SimpleUploadedFile("notes.txt", b"plain words"),
            name="Notes",
        )
    assert refused.value.message_dict == {
        "file": ["Files of type “.txt” are not allowed; allowed: pdf."]
    }


def test_office_files_are_checked_inside_the_zip(admin_user: Any, media_root: Path) -> None:
    configure(admin_user)
    document = document_upload(
        actor=admin_user,
        account=AccountFactory(),
        file=SimpleUploadedFile("offer.docx", docx_bytes()),
        name="Offer",
    )
    assert document.content_type.endswith("wordprocessingml.document")
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("payload.bin", "x")
    with pytest.raises(ValidationError):
        document_upload(
            actor=admin_user,
            account=AccountFactory(),
            file=SimpleUploadedFile("fake.docx", plain_zip.getvalue()),
            name="Fake",
        )


def test_a_file_above_the_maximum_size_is_refused(admin_user: Any, media_root: Path) -> None:
    configure(admin_user, document_max_size_mb=1)
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=admin_user,
            account=AccountFactory(),
            file=pdf(content=PDF + b"0" * MEGABYTE),
            name="Huge",
        )
    assert refused.value.message_dict == {"file": ["The file is larger than the 1 MB allowed."]}


def test_the_file_space_of_a_user_is_enforced(
    admin_user: Any, make_user: Any, media_root: Path
) -> None:
    # given a seller with 1 MB of file space and a 600 kB document already uploaded
    configure(admin_user, document_max_size_mb=1, default_file_space_mb=0)
    seller = make_user("documents.create")
    account = AccountFactory(owner=seller)
    with pytest.raises(ValidationError) as refused:
        document_upload(actor=seller, account=account, file=pdf(), name="No space")
    assert "Not enough file space" in refused.value.messages[0]
    services.user_file_quota_set(actor=admin_user, user=seller, limit_mb=1)
    document_upload(actor=seller, account=account, file=pdf(content=PDF + b"0" * 600_000), name="A")

    # when another 600 kB would go beyond the limit
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=seller, account=account, file=pdf(content=PDF + b"1" * 600_000), name="B"
        )

    # then
    assert refused.value.message_dict == {
        "file": ["Not enough file space: you use 0.6 MB of your 1.0 MB and the file needs 0.6 MB."]
    }
    assert list(Document.objects.values_list("name", flat=True)) == ["A"]


def test_download_checks_visibility_and_media_is_not_served(
    admin_user: Any, make_user: Any, client_for: Any, media_root: Path
) -> None:
    # given
    owner = make_user("documents.view")
    stranger = make_user("documents.view")
    account = AccountFactory(owner=owner)
    document = document_upload(actor=admin_user, account=account, file=pdf(), name="Secret")

    # then the owner of the account downloads it
    response = client_for(owner).get(f"/accounts/documents/{document.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="contract.pdf"'
    assert response["Cache-Control"] == "private, no-store"

    # and nobody else, nor through the media URL
    assert (
        client_for(stranger).get(f"/accounts/documents/{document.pk}/download/").status_code == 404
    )
    assert Client().get(f"/accounts/documents/{document.pk}/download/").status_code == 302
    assert client_for(owner).get(f"/protected-media/{document.file.name}").status_code == 404


def test_deleting_removes_the_file_after_commit(
    admin_user: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    document = document_upload(actor=admin_user, account=AccountFactory(), file=pdf(), name="Gone")
    stored = media_root / document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        document_delete(actor=admin_user, document=document)
    assert not stored.exists()
    assert not Document.objects.exists()


def test_the_upload_page_names_the_bad_file(admin_client: Client, media_root: Path) -> None:
    account = AccountFactory()
    response = admin_client.post(
        f"/accounts/{account.pk}/documents/new/",
        {"name": "Bad", "file": SimpleUploadedFile("evil.exe", b"MZ")},
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["file"]
    good = admin_client.post(
        f"/accounts/{account.pk}/documents/new/",
        {"name": "Good", "file": pdf(), "is_published": "on"},
    )
    assert good.status_code == 302
    document = Document.objects.get()
    assert document.is_published is True
    assert admin_client.get(f"/accounts/documents/{document.pk}/").status_code == 200


def test_document_stage_and_type_come_from_value_lists(
    admin_user: Any, media_root: Path, value_lists: None
) -> None:
    document = document_upload(
        actor=admin_user,
        account=AccountFactory(),
        file=pdf(),
        name="Signed",
        stage="signed",
        document_type="contract",
    )
    assert (document.stage, document.document_type) == ("signed", "contract")
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=admin_user, account=AccountFactory(), file=pdf(), name="X", stage="lost"
        )
    assert refused.value.message_dict == {"stage": ["“lost” is not an active document status."]}


def test_the_settings_page_changes_types_and_names_bad_input(admin_client: Client) -> None:
    response = admin_client.post(
        "/accounts/settings/",
        {
            "address_validation": "warn",
            "document_types": ["pdf", "png"],
            "document_max_size_mb": "0",
            "default_file_space_mb": "100",
        },
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["document_max_size_mb"]
    response = admin_client.post(
        "/accounts/settings/",
        {
            "address_validation": "warn",
            "document_types": ["pdf", "png"],
            "document_max_size_mb": "5",
            "default_file_space_mb": "100",
        },
    )
    assert response.status_code == 302
    from accounts.selectors import address_validation_mode, customer_settings

    assert address_validation_mode() == "warn"
    assert customer_settings().document_types == ["pdf", "png"]


def test_the_settings_page_needs_setup_manage(make_user: Any, client_for: Any) -> None:
    viewer = make_user("setup.view")
    assert client_for(viewer).get("/accounts/settings/").status_code == 403
