"""The demo customer base: realistic, valid addresses in five countries, and idempotent."""

from __future__ import annotations

import io
from typing import Any

import pytest

from accounts import seed
from accounts.models import Account, Address, Contact, PriceListAssignment
from bss.core.models import ConsentRecord
from bss.setup import seed as setup_seed
from catalogue import seed as catalogue_seed

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (
        Account.objects.count(),
        Contact.objects.count(),
        Address.objects.count(),
        PriceListAssignment.objects.count(),
    )


@pytest.fixture
def seeded() -> None:
    setup_seed.seed(io.StringIO())
    catalogue_seed.seed(io.StringIO())
    seed.seed(io.StringIO())


def test_the_demo_base_has_every_kind_of_customer(seeded: Any) -> None:
    assert counts() == (13, 18, 13, 2)
    assert set(Account.objects.values_list("account_type", flat=True)) == {
        "client",
        "direct",
        "reseller",
    }
    assert set(Address.objects.values_list("country_code", flat=True)) == {
        "GR",
        "DE",
        "GB",
        "US",
        "FR",
    }
    assert set(Address.objects.values_list("validation_status", flat=True)) == {"valid"}
    olive = Account.objects.get(name="Olive Grove Hotels")
    assert (olive.parent.name, olive.billing_account.name, olive.is_prorated) == (
        "CloudMates Partners",
        "CloudMates Partners",
        True,
    )
    reseller = Account.objects.get(name="CloudMates Partners")
    assert [a.price_list.name for a in reseller.price_list_assignments.all()] == [
        "Resellers EUR (-20 %)"
    ]
    assert Contact.objects.filter(is_primary=True).count() == 13
    assert ConsentRecord.objects.count() == 13


def test_seeding_twice_adds_nothing(seeded: Any) -> None:
    before = counts()
    seed.seed(io.StringIO())
    assert counts() == before
