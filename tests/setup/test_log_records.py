"""Log records: the audit trail searched by entity, user and date; the consent log and its export."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from bss.core.consent import record_consent
from bss.core.models import ConsentRecord
from bss.core.translation import forget_overrides
from bss.setup.currencies.services import currency_create, currency_update
from bss.setup.organization.services import organization_update


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()


def rows_of(response: Any) -> list[list[Any]]:
    return [values for _record, values in response.context["rows"]]


@pytest.fixture
def trail(make_user: Any) -> dict[str, Any]:
    """Changes by two users on two days: a currency by Alice, the profile by Bob."""
    alice = make_user(email="alice@test.example", first_name="Alice", last_name="Archer")
    bob = make_user(email="bob@test.example", first_name="Bob", last_name="Baker")
    with time_machine.travel(datetime(2026, 3, 1, 10, tzinfo=UTC)):
        dollar = currency_create(actor=alice, code="USD")
    with time_machine.travel(datetime(2026, 3, 5, 10, tzinfo=UTC)):
        currency_update(actor=alice, currency=dollar, culture="en_GB")
        organization_update(actor=bob, legal_name="Audited S.A.")
    return {"alice": alice, "bob": bob, "dollar": dollar}


def test_the_audit_trail_shows_who_changed_which_field(admin_client: Any, trail: Any) -> None:
    response = admin_client.get(reverse("core:audit_log"), {"q": "USD"})

    assert [row[1:5] for row in rows_of(response)] == [
        ["alice@test.example", "currency", "USD", "Changed"],
        ["alice@test.example", "currency", "USD", "Created"],
    ]
    assert rows_of(response)[0][5] == "display culture: en_US → en_GB"


def test_the_audit_trail_filters_by_entity(admin_client: Any, trail: Any) -> None:
    response = admin_client.get(reverse("core:audit_log"), {"content_type__model": "organization"})

    # the profile itself was created by a migration, before any audit trail
    assert [row[3:5] for row in rows_of(response)] == [["Audited S.A.", "Changed"]]


def test_the_audit_trail_filters_by_user_name_or_email(admin_client: Any, trail: Any) -> None:
    by_name = admin_client.get(reverse("core:audit_log"), {"actor__email": "baker"})
    by_email = admin_client.get(reverse("core:audit_log"), {"actor__email": "alice@"})

    assert [row[1] for row in rows_of(by_name)] == ["bob@test.example"]
    assert {row[1] for row in rows_of(by_email)} == {"alice@test.example"}
    assert len(rows_of(by_email)) == 2


def test_the_audit_trail_filters_by_date(admin_client: Any, trail: Any) -> None:
    first_day = admin_client.get(
        reverse("core:audit_log"),
        {
            "content_type__model": "currency",
            "timestamp_after": "2026-03-01",
            "timestamp_before": "2026-03-01",
        },
    )
    later = admin_client.get(
        reverse("core:audit_log"),
        {"content_type__model": "currency", "timestamp_after": "2026-03-02"},
    )

    assert [row[4] for row in rows_of(first_day)] == ["Created"]
    assert [row[4] for row in rows_of(later)] == ["Changed"]


def test_the_audit_trail_needs_the_audit_right(make_user: Any, client_for: Any, trail: Any) -> None:
    assert client_for(make_user("setup.view")).get(reverse("core:audit_log")).status_code == 403
    allowed = client_for(make_user("setup.audit")).get(reverse("core:audit_log"))
    assert allowed.status_code == 200


def test_the_audit_trail_reads_a_bounded_number_of_queries(
    admin_client: Any, trail: Any, django_assert_max_num_queries: Any
) -> None:
    for culture in ("de_DE", "fr_FR", "el_GR", "it_IT"):
        currency_update(actor=trail["bob"], currency=trail["dollar"], culture=culture)

    with django_assert_max_num_queries(10):
        response = admin_client.get(
            reverse("core:audit_log"),
            {"content_type__model": "currency"},
        )

    assert len(rows_of(response)) == 6


# -------------------------------------------------------------------------- consents


@pytest.fixture
def consents(db: None) -> list[ConsentRecord]:
    return [
        record_consent(
            kind=ConsentRecord.Kind.TERMS_OF_USE,
            subject="Microsoft 365 E3 terms",
            reference="ORD-000100",
            account_name="Acme Ltd",
            contact_name="Maria Papadopoulou",
            contact_email="maria@acme.example",
            source="https://shop.example.com/basket/1",
            ip_address="203.0.113.7",
            user_agent="Firefox 128.0",
            accepted_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        ),
        record_consent(
            kind=ConsentRecord.Kind.PERSONAL_DATA,
            subject="Promotional emails",
            account_name="Acme Ltd",
            contact_name="Nikos Karras",
            contact_email="nikos@acme.example",
            accepted_at=datetime(2026, 4, 10, 9, tzinfo=UTC),
        ),
        record_consent(
            kind=ConsentRecord.Kind.TERMS_OF_USE,
            subject="Azure plan terms",
            reference="ORD-000200",
            account_name="Beta SA",
            accepted_at=datetime(2026, 5, 20, 9, tzinfo=UTC),
        ),
    ]


def test_the_consent_log_filters_by_kind_account_date_and_text(
    admin_client: Any, consents: list[ConsentRecord]
) -> None:
    url = reverse("core:consent_log")

    by_kind = admin_client.get(url, {"kind": "terms_of_use"})
    by_account = admin_client.get(url, {"account_name": "acme"})
    by_date = admin_client.get(
        url, {"accepted_at_after": "2026-04-01", "accepted_at_before": "2026-04-30"}
    )
    by_text = admin_client.get(url, {"q": "ORD-000200"})

    assert [row[5] for row in rows_of(by_kind)] == ["Azure plan terms", "Microsoft 365 E3 terms"]
    assert [row[5] for row in rows_of(by_account)] == [
        "Promotional emails",
        "Microsoft 365 E3 terms",
    ]
    assert [row[5] for row in rows_of(by_date)] == ["Promotional emails"]
    assert [row[5] for row in rows_of(by_text)] == ["Azure plan terms"]


def test_the_consent_log_exports_the_filtered_rows_to_excel(
    admin_client: Any, consents: list[ConsentRecord]
) -> None:
    response = admin_client.get(
        reverse("core:consent_log"),
        {"kind": "terms_of_use", "account_name": "acme", "export": "xlsx"},
    )

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[1]] == [
        "Accepted",
        "Kind",
        "Account",
        "Contact",
        "Email",
        "What was accepted",
        "Reference",
        "Source",
        "IP address",
        "Browser",
    ]
    assert [cell.value for cell in sheet[2]] == [
        datetime(2026, 3, 2, 9, 0),
        "Terms of use",
        "Acme Ltd",
        "Maria Papadopoulou",
        "maria@acme.example",
        "Microsoft 365 E3 terms",
        "ORD-000100",
        "https://shop.example.com/basket/1",
        "203.0.113.7",
        "Firefox 128.0",
    ]
    assert sheet.max_row == 2


def test_the_consent_log_reads_a_bounded_number_of_queries(
    admin_client: Any, consents: list[ConsentRecord], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(11):
        response = admin_client.get(reverse("core:consent_log"))

    assert len(rows_of(response)) == 3


def test_record_consent_refuses_an_unknown_kind_or_an_empty_subject(db: None) -> None:
    with pytest.raises(ValidationError) as unknown_kind:
        record_consent(kind="marketing", subject="x")
    with pytest.raises(ValidationError) as empty_subject:
        record_consent(kind=ConsentRecord.Kind.TERMS_OF_USE, subject="  ")

    assert list(unknown_kind.value.message_dict) == ["kind"]
    assert list(empty_subject.value.message_dict) == ["subject"]
    assert not ConsentRecord.objects.exists()


def test_record_consent_keeps_a_valid_ip_and_drops_a_forged_one(db: None) -> None:
    kept = record_consent(kind="terms_of_use", subject="Terms", ip_address="2001:db8::1")
    dropped = record_consent(kind="terms_of_use", subject="Terms", ip_address="<script>")

    assert (kept.ip_address, dropped.ip_address) == ("2001:db8::1", None)
