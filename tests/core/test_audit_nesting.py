"""A service calling another service keeps its actor for the writes after the inner call."""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry

from accounts.models import Account
from bss.core.audit import acting_as
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_the_outer_actor_survives_an_inner_block(admin_user: Any) -> None:
    account = AccountFactory()
    with acting_as(admin_user):
        with acting_as(admin_user):
            Account.objects.filter(pk=account.pk).first()
        account.name = "Renamed after the inner block"
        account.save()
    entry = LogEntry.objects.get_for_object(account).order_by("-timestamp").first()
    assert entry is not None
    assert entry.actor == admin_user
