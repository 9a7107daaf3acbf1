"""Changes made through services are recorded with who, when and the changed values."""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry

from accounts import services
from accounts.models import Account

pytestmark = pytest.mark.django_db


def test_service_changes_are_audited_with_the_actor(admin_user: Any) -> None:
    # given
    account = services.account_create(actor=admin_user, name="Delta Foods", currency="EUR")
    # when
    services.account_update(
        actor=admin_user, account=account, name="Delta Foods S.A.", phone="+30 210 0000000"
    )
    # then
    entries = list(LogEntry.objects.get_for_object(account).order_by("timestamp"))
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert all(entry.actor == admin_user for entry in entries)
    assert entries[1].changes_dict["name"] == ["Delta Foods", "Delta Foods S.A."]
    assert entries[1].changes_dict["phone"] == ["", "+30 210 0000000"]


def test_unchanged_update_writes_nothing(admin_user: Any) -> None:
    account = services.account_create(actor=admin_user, name="Echo Ltd", currency="EUR")
    services.account_update(actor=admin_user, account=account, name="Echo Ltd")
    assert LogEntry.objects.get_for_object(account).count() == 1


def test_history_is_shown_on_the_record_page(admin_user: Any, admin_client: Any) -> None:
    account = services.account_create(actor=admin_user, name="Foxtrot Ltd", currency="EUR")
    services.account_update(actor=admin_user, account=account, name="Foxtrot Holdings")
    page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Foxtrot Ltd" in page
    assert "Foxtrot Holdings" in page


def test_log_records_page_searches_by_entity_and_user(
    admin_user: Any, admin_client: Any, make_user: Any
) -> None:
    other = make_user("accounts.create")
    services.account_create(actor=admin_user, name="Golf Partners", currency="EUR")
    services.account_create(actor=other, name="Hotel Systems", currency="EUR")
    response = admin_client.get(
        "/setup/log-records/", {"actor__email": other.email, "content_type__model": "account"}
    )
    assert response.status_code == 200
    assert b"Hotel Systems" in response.content
    assert b"Golf Partners" not in response.content
    assert Account.objects.count() == 2


def test_log_records_need_the_audit_right(make_user: Any, client_for: Any) -> None:
    assert client_for(make_user("setup.view")).get("/setup/log-records/").status_code == 403
    assert client_for(make_user("setup.audit")).get("/setup/log-records/").status_code == 200
