"""Language packs: enabled languages, the one default, browser overrides, xlsx packs, Greek."""
# ruff: noqa: RUF001 - Greek text is what these tests check, not look-alike Latin

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from bss.core.translation import (
    LOCAL_CACHE_RECHECK_SECONDS,
    choose_language,
    default_language,
    enabled_languages,
    forget_overrides,
)
from bss.setup.languages.selectors import catalog_messages, message_digest
from bss.setup.languages.services import (
    language_pack_import,
    language_set_default,
    language_set_enabled,
    translation_override_set,
)
from bss.setup.models import LanguageSetting, Organization, TranslationOverride
from bss.setup.organization.selectors import organization

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()
    forget_overrides()


def workbook_upload(rows: list[list[Any]]) -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("pack.xlsx", buffer.getvalue(), content_type=XLSX)


def edit_url(language: str, source: str) -> str:
    return reverse("setup:language_string_edit", args=[language, message_digest(source)])


def test_every_shipped_language_is_enabled_until_an_administrator_disables_it(db: None) -> None:
    assert [code for code, _name in enabled_languages()] == ["en", "el"]
    assert default_language() == "en"


def test_there_is_one_default_language_and_it_cannot_be_disabled(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        language_set_default(actor=None, language="el")

    assert (organization().default_language, default_language()) == ("el", "el")
    with pytest.raises(ValidationError) as refused:
        language_set_enabled(actor=None, language="el", is_enabled=False)
    assert list(refused.value.message_dict) == ["language"]
    with django_capture_on_commit_callbacks(execute=True):
        language_set_default(actor=None, language="en")
        language_set_enabled(actor=None, language="el", is_enabled=False)
    assert Organization.objects.get().default_language == "en"
    assert not LanguageSetting.objects.get(language="el").is_enabled


def test_a_disabled_language_cannot_become_the_default(db: None) -> None:
    language_set_enabled(actor=None, language="el", is_enabled=False)

    with pytest.raises(ValidationError) as refused:
        language_set_default(actor=None, language="el")

    assert list(refused.value.message_dict) == ["language"]
    assert Organization.objects.get().default_language == "en"


def test_a_disabled_language_is_not_offered_nor_served(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("setup:language_toggle", args=["el"]), {"is_enabled": "false"})

    assert [code for code, _name in enabled_languages()] == ["en"]
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="el")
    request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = "el"
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert choose_language(request) == "en"


def test_the_language_of_a_request_follows_user_cookie_browser_then_default(
    make_user: Any,
) -> None:
    from django.contrib.auth.models import AnonymousUser

    factory = RequestFactory()
    anonymous = factory.get("/", HTTP_ACCEPT_LANGUAGE="el-GR,el;q=0.9,en;q=0.5")
    anonymous.user = AnonymousUser()
    greek_user = factory.get("/", HTTP_ACCEPT_LANGUAGE="en")
    greek_user.user = make_user(language="el")
    plain_user = factory.get("/", HTTP_ACCEPT_LANGUAGE="el")
    plain_user.user = make_user()

    assert choose_language(anonymous) == "el"
    assert choose_language(greek_user) == "el"
    assert choose_language(plain_user) == "en"


def test_an_override_made_in_the_browser_shows_at_once(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(edit_url("en", "Home"), {"translation": "Start page"})

    assert response.status_code == 302
    page = admin_client.get(reverse("core:dashboard")).content.decode()
    assert '<i class="bi bi-house-door"></i> Start page</a>' in page
    assert TranslationOverride.objects.get().source == "Home"


def test_a_greek_override_shows_for_greek_users_only(
    admin_client: Client, make_user: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(edit_url("el", "Home"), {"translation": "Κεντρική σελίδα"})

    greek = client_for(make_user(language="el")).get(reverse("core:dashboard")).content.decode()
    english = client_for(make_user(language="en")).get(reverse("core:dashboard")).content.decode()
    assert "Κεντρική σελίδα" in greek
    assert "Κεντρική σελίδα" not in english
    assert '<i class="bi bi-house-door"></i> Home</a>' in english


def test_resetting_an_override_brings_the_shipped_text_back_at_once(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(edit_url("en", "Home"), {"translation": "Start page"})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("setup:language_string_reset", args=["en", message_digest("Home")])
        )

    assert response.status_code == 302
    assert not TranslationOverride.objects.exists()
    page = admin_client.get(reverse("core:dashboard")).content.decode()
    assert '<i class="bi bi-house-door"></i> Home</a>' in page


def test_other_workers_with_a_private_cache_pick_an_override_up_within_seconds(
    admin_client: Client,
) -> None:
    # Written as another worker's save would leave it: this process's cache never heard.
    TranslationOverride.objects.create(language="en", source="Home", translation="Start page")
    later = datetime.now(UTC) + timedelta(seconds=LOCAL_CACHE_RECHECK_SECONDS + 1)

    before = admin_client.get(reverse("core:dashboard")).content.decode()
    with time_machine.travel(later):
        after = admin_client.get(reverse("core:dashboard")).content.decode()

    assert '<i class="bi bi-house-door"></i> Home</a>' in before
    assert '<i class="bi bi-house-door"></i> Start page</a>' in after


def test_gettext_in_python_sees_overrides_too(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        translation_override_set(
            actor=None, language="el", source="Setup", translation="Διαμόρφωση"
        )

    with translation.override("el"):
        assert translation.gettext("Setup") == "Διαμόρφωση"
        assert translation.gettext("Sign in") == "Σύνδεση"
    with translation.override("en"):
        assert translation.gettext("Setup") == "Setup"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hello!", "The translation must keep the placeholders of the source (%(name)s)."),
        (
            "Hi %(name)s <script>alert(1)</script>",
            "Markup not in the source: </script>, <script>.",
        ),
    ],
)
def test_an_override_must_keep_the_placeholders_and_markup_of_the_source(
    admin_client: Client, text: str, problem: str
) -> None:
    response = admin_client.post(edit_url("en", "Good to see you, %(name)s"), {"translation": text})

    assert response.status_code == 400
    assert response.context["form"].errors["translation"] == [problem]
    assert not TranslationOverride.objects.exists()


def test_the_strings_page_searches_sources_and_translations(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    organization()

    with django_assert_max_num_queries(8):
        by_source = admin_client.get(
            reverse("setup:language_strings", args=["el"]), {"q": "sign out"}
        )
    by_translation = admin_client.get(
        reverse("setup:language_strings", args=["el"]), {"q": "Αποσύνδεση"}
    )

    assert [row.message.source for row in by_source.context["page"]] == ["Sign out"]
    assert [row.current for row in by_translation.context["page"]] == ["Αποσύνδεση"]


def test_the_languages_page_reads_a_bounded_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    organization()

    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("setup:language_list"))

    assert [
        (row.code, row.is_enabled, row.is_default) for row in response.context["languages"]
    ] == [
        ("en", True, True),
        ("el", True, False),
    ]


def test_a_pack_round_trips_through_excel(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    exported = admin_client.get(reverse("setup:language_export", args=["el"]))
    sheet = load_workbook(io.BytesIO(b"".join(exported.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["source", "context", "el"]
    assert len(rows) == len(catalog_messages()) + 1
    home = next(row for row in rows if row[0] == "Home")
    assert home[2] == "Αρχική"
    home[2] = "Αρχή"

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("setup:language_import"), {"file": workbook_upload(rows)}
        )

    assert response.status_code == 302
    assert list(TranslationOverride.objects.values_list("language", "source", "translation")) == [
        ("el", "Home", "Αρχή")
    ]
    again = admin_client.get(reverse("setup:language_export", args=["el"]))
    sheet = load_workbook(io.BytesIO(b"".join(again.streaming_content))).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == rows
    with translation.override("el"):
        assert translation.gettext("Home") == "Αρχή"


def test_importing_the_shipped_text_resets_an_override(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    translation_override_set(actor=None, language="el", source="Home", translation="Αρχή")

    result = language_pack_import(
        actor=None, upload=workbook_upload([["source", "el"], ["Home", "Αρχική"], ["Menu", ""]])
    )

    assert (result.language, result.overridden, result.reset, result.unchanged) == ("el", 0, 1, 1)
    assert not TranslationOverride.objects.exists()


def test_a_pack_with_an_unknown_language_column_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("setup:language_import"),
        {"file": workbook_upload([["source", "xx"], ["Home", "Maison"]])},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "Row 1, column B: xx is not a column of a language pack (source, context, or one of en, el).",
        "Row 1: the header needs a language column, e.g. el.",
    ]
    assert not TranslationOverride.objects.exists()


def test_a_pack_with_bad_rows_names_each_row_and_writes_nothing(admin_client: Client) -> None:
    rows = [
        ["source", "el"],
        ["Home", "Αρχή"],
        [None, "Χωρίς πρωτότυπο"],
        ["Not a message of ours", "Τίποτα"],
        ["Good to see you, %(name)s", "Γεια σου"],
        ["Home", "Αρχή ξανά"],
    ]

    response = admin_client.post(reverse("setup:language_import"), {"file": workbook_upload(rows)})

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "Row 3, column source: the source text is empty.",
        "Row 4, column source: not a message of the shipped catalog.",
        "Row 5, column el: the translation must keep the placeholders of the source (%(name)s).",
        "Row 6, column source: the message appears more than once.",
    ]
    assert not TranslationOverride.objects.exists()


def test_a_file_that_is_not_a_workbook_is_refused(admin_client: Client) -> None:
    upload = SimpleUploadedFile("pack.xlsx", b"source,el\nHome,x\n", content_type=XLSX)

    response = admin_client.post(reverse("setup:language_import"), {"file": upload})

    assert response.context["form"].errors["file"] == ["The file is not an Excel workbook (.xlsx)."]


def test_switching_to_greek_translates_the_dashboard(admin_client: Client) -> None:
    response = admin_client.post(reverse("core:switch_language"), {"language": "el", "next": "/"})
    page = admin_client.get(response.url).content.decode()

    assert '<html lang="el">' in page
    for greek in ("Αρχική", "Ρυθμίσεις", "Αποσύνδεση", "Αλλαγή κωδικού πρόσβασης"):
        assert greek in page
    assert "Sign out" not in page


def test_switching_to_greek_translates_the_login_page(client: Client, db: None) -> None:
    client.post(reverse("core:switch_language"), {"language": "el", "next": "/auth/login/"})
    page = client.get(reverse("account_login")).content.decode()

    for greek in (
        "Σύνδεση",
        "Κωδικός πρόσβασης",
        "Ξεχάσατε τον κωδικό;",
        "Να παραμείνω συνδεδεμένος",
    ):
        assert greek in page
    assert "Forgot password?" not in page


def test_the_greek_catalog_translates_every_message() -> None:
    po_path = Path(settings.LOCALE_PATHS[0]) / "el" / "LC_MESSAGES" / "django.po"
    with open(po_path, "rb") as po_file:
        catalog = read_po(po_file)

    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert untranslated == []
    assert po_path.with_suffix(".mo").stat().st_mtime >= po_path.stat().st_mtime, (
        "compile the catalog: python -m bss.setup.languages.compile"
    )
