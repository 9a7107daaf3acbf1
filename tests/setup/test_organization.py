"""Organization profile: the singleton, its edit page, the logo behind a login, file space."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from bss.core.translation import forget_overrides
from bss.setup.currencies.services import currency_create, currency_update
from bss.setup.models import Organization
from bss.setup.organization.selectors import file_space, organization, organization_name
from bss.setup.organization.services import organization_update


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_profile_yet(db: None) -> None:
    """The migration creates the profile; these tests start before it, at first use."""
    Organization.objects.all().delete()


@pytest.fixture
def euro(db: None) -> Any:
    return currency_create(actor=None, code="EUR")


def png_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def profile_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "legal_name": "Cloudwave Services S.A.",
        "address_line1": "Leoforos Kifisias 100",
        "address_line2": "",
        "city": "Athens",
        "postal_code": "11526",
        "country": "GR",
        "tax_id": "EL123456789",
        "email": "billing@cloudwave.example",
        "phone": "+30 210 0000000",
        "home_currency": "EUR",
        "default_language": "el",
        "time_zone": "Europe/Athens",
        "date_format": "dd/MM/yyyy",
        "number_locale": "el_GR",
        "file_space_mb": "2048",
    }
    data.update(overrides)
    return data


def test_it_creates_the_profile_on_first_use_with_the_configured_name(
    db: None, settings: Any
) -> None:
    settings.BSS_ORGANIZATION_NAME = "Acme Cloud"

    assert organization_name() == "Acme Cloud"
    assert Organization.objects.get().legal_name == "Acme Cloud"
    assert organization().pk == 1


def test_it_picks_up_euro_as_home_currency_on_first_use(euro: Any) -> None:
    assert organization().home_currency == euro


def test_an_administrator_edits_the_profile(admin_client: Any, euro: Any) -> None:
    response = admin_client.post(reverse("setup:organization_edit"), profile_form())

    assert response.status_code == 302
    profile = Organization.objects.get()
    assert (profile.legal_name, profile.city, profile.country, profile.tax_id) == (
        "Cloudwave Services S.A.",
        "Athens",
        "GR",
        "EL123456789",
    )
    assert (profile.time_zone, profile.date_format, profile.number_locale) == (
        "Europe/Athens",
        "dd/MM/yyyy",
        "el_GR",
    )
    assert (profile.default_language, profile.file_space_mb) == ("el", 2048)
    page = admin_client.get(reverse("setup:organization"))
    assert "Cloudwave Services S.A." in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("date_format", "yy"),
        ("default_language", "de"),
        ("legal_name", ""),
        ("file_space_mb", "0"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    admin_client: Any, euro: Any, field: str, value: str
) -> None:
    before = organization()

    response = admin_client.post(reverse("setup:organization_edit"), profile_form(**{field: value}))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    after = Organization.objects.get()
    assert (after.legal_name, after.time_zone, after.default_language) == (
        before.legal_name,
        before.time_zone,
        before.default_language,
    )


def test_the_service_refuses_a_time_zone_zoneinfo_does_not_know(db: None) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        organization_update(actor=None, time_zone="Europe/Atlantis")

    assert refused.value.message_dict == {"time_zone": ["Unknown time zone Europe/Atlantis."]}


def test_an_inactive_currency_cannot_become_the_home_currency(admin_client: Any, euro: Any) -> None:
    dollar = currency_create(actor=None, code="USD")
    currency_update(actor=None, currency=dollar, is_active=False)

    response = admin_client.post(
        reverse("setup:organization_edit"), profile_form(home_currency="USD")
    )

    assert response.status_code == 400
    assert "home_currency" in response.context["form"].errors
    choices = dict(response.context["form"].fields["home_currency"].choices)
    assert "USD" not in choices
    assert "EUR" in choices
    assert Organization.objects.get().home_currency == euro


def test_a_logo_is_stored_under_media_root_and_served_only_behind_a_login(
    admin_client: Any, euro: Any, media_root: Path, client: Any
) -> None:
    upload = SimpleUploadedFile("brand.png", png_bytes(), content_type="image/png")

    response = admin_client.post(
        reverse("setup:organization_edit"), {**profile_form(), "logo": upload}
    )

    assert response.status_code == 302
    stored = Organization.objects.get().logo.name
    assert stored.startswith("organization/logo-")
    assert stored.endswith(".png")
    assert (media_root / stored).read_bytes() == png_bytes()
    anonymous = client.get(reverse("setup:organization_logo"))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))
    served = admin_client.get(reverse("setup:organization_logo"))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png_bytes()


def test_removing_the_logo_deletes_the_file_after_commit(
    admin_client: Any,
    euro: Any,
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    upload = SimpleUploadedFile("brand.png", png_bytes(), content_type="image/png")
    admin_client.post(reverse("setup:organization_edit"), {**profile_form(), "logo": upload})
    stored = media_root / Organization.objects.get().logo.name

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("setup:organization_edit"), profile_form(remove_logo="on"))

    assert Organization.objects.get().logo.name == ""
    assert not stored.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", "The file is not an image that can be read."),
        (b"GIF89a" + b"\x00" * 30, "The file is not an image that can be read."),
    ],
)
def test_a_logo_that_is_not_a_png_jpeg_or_webp_is_refused(
    admin_client: Any, euro: Any, media_root: Path, content: bytes, message: str
) -> None:
    upload = SimpleUploadedFile("brand.png", content, content_type="image/png")

    response = admin_client.post(
        reverse("setup:organization_edit"), {**profile_form(), "logo": upload}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == [message]
    assert Organization.objects.get().logo.name == ""
    assert not (media_root / "organization").exists()


def test_a_gif_logo_is_refused_by_format(admin_client: Any, euro: Any, media_root: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    upload = SimpleUploadedFile("brand.gif", buffer.getvalue(), content_type="image/gif")

    response = admin_client.post(
        reverse("setup:organization_edit"), {**profile_form(), "logo": upload}
    )

    assert response.context["form"].errors["logo"] == [
        "The logo must be a PNG, JPEG or WebP image."
    ]


def test_a_logo_over_two_megabytes_is_refused(
    admin_client: Any, euro: Any, media_root: Path
) -> None:
    upload = SimpleUploadedFile(
        "huge.png", png_bytes() + b"\x00" * (2 * 1024 * 1024), content_type="image/png"
    )

    response = admin_client.post(
        reverse("setup:organization_edit"), {**profile_form(), "logo": upload}
    )

    assert response.context["form"].errors["logo"] == ["The logo may be at most 2 MB."]
    assert Organization.objects.get().logo.name == ""


def test_file_space_counts_the_files_under_media_root(db: None, media_root: Path) -> None:
    (media_root / "documents").mkdir(parents=True)
    (media_root / "documents" / "a.pdf").write_bytes(b"x" * 3000)
    (media_root / "b.txt").write_bytes(b"y" * 1000)
    organization_update(actor=None, file_space_mb=1)

    space = file_space()

    assert (space.used_bytes, space.allowance_bytes, space.percent_used) == (4000, 1048576, 0)
    assert space.is_exceeded is False


def test_a_user_with_setup_view_sees_the_profile_but_cannot_edit(
    make_user: Any, client_for: Any, euro: Any
) -> None:
    client = client_for(make_user("setup.view"))

    assert client.get(reverse("setup:organization")).status_code == 200
    assert client.get(reverse("setup:organization_edit")).status_code == 403
    assert client.post(reverse("setup:organization_edit"), profile_form()).status_code == 403
    assert Organization.objects.get().legal_name != "Cloudwave Services S.A."


def test_the_profile_page_reads_a_bounded_number_of_queries(
    admin_client: Any, euro: Any, django_assert_max_num_queries: Any, media_root: Path
) -> None:
    organization_update(actor=None, legal_name="Counted S.A.")

    with django_assert_max_num_queries(12) as captured:
        response = admin_client.get(reverse("setup:organization"))

    assert response.status_code == 200
    # The view and the file-space figure both read the profile: once per request.
    profile_reads = [
        query for query in captured.captured_queries if 'FROM "setup_organization"' in query["sql"]
    ]
    assert len(profile_reads) == 1


def test_the_layout_shows_the_legal_name_and_the_logo_only_to_signed_in_users(
    admin_user: Any, euro: Any, media_root: Path
) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from bss.setup.organization.selectors import layout_context

    organization_update(
        actor=None,
        legal_name="Brand S.A.",
        logo=SimpleUploadedFile("brand.png", png_bytes(), content_type="image/png"),
    )
    signed_in = RequestFactory().get("/")
    signed_in.user = admin_user
    anonymous = RequestFactory().get("/")
    anonymous.user = AnonymousUser()

    mine = layout_context(signed_in)
    theirs = layout_context(anonymous)

    assert mine["organization_name"] == theirs["organization_name"] == "Brand S.A."
    assert mine["organization_logo_url"].startswith(reverse("setup:organization_logo") + "?v=")
    assert theirs["organization_logo_url"] == ""
