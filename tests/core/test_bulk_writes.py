"""COPY writes store exactly what save() and bulk_create store."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from bss.core.bulk_writes import copy_insert, copy_rows, copy_update, reserve_ids
from bss.core.models import Event
from tests.conftest import requires_postgres
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, requires_postgres]

FIELDS = ("name", "payload", "aggregate_type", "aggregate_id", "actor_id", "status", "attempts")


def _stored(pk: int) -> tuple:
    return Event.objects.filter(pk=pk).values_list(*FIELDS).get()


def test_reserved_ids_are_new_and_ascending() -> None:
    saved = Event.objects.create(name="before")
    ids = reserve_ids(Event, 3)
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert min(ids) > saved.pk
    assert reserve_ids(Event, 0) == []


def test_copy_insert_writes_what_save_writes() -> None:
    user = UserFactory()
    saved = Event.objects.create(name="x.done", payload={"amount": "1.10", "n": [1, 2]}, actor=user)
    copied = Event(name="x.done", payload={"amount": "1.10", "n": [1, 2]}, actor=user)

    copy_insert([copied])

    assert copied.pk is not None
    assert copied.pk != saved.pk
    assert _stored(copied.pk) == _stored(saved.pk)
    # auto_now_add is filled as save() fills it
    stored = Event.objects.get(pk=copied.pk)
    assert stored.created_at is not None
    assert not copied._state.adding


def test_copy_rows_fills_defaults_and_returns_keys() -> None:
    ids = copy_rows(Event, [{"name": "a"}, {"name": "b", "payload": {"k": "v"}}])

    rows = {row[0]: row[1:] for row in Event.objects.filter(pk__in=ids).values_list("pk", *FIELDS)}
    assert rows[ids[0]] == ("a", {}, "", "", None, "pending", 0)
    assert rows[ids[1]] == ("b", {"k": "v"}, "", "", None, "pending", 0)
    assert all(
        created for created in Event.objects.filter(pk__in=ids).values_list("created_at", flat=True)
    )


def test_copy_update_sets_columns_row_by_row() -> None:
    first, second = Event.objects.create(name="a"), Event.objects.create(name="b")

    copy_update(
        Event, ["status", "attempts"], [(first.pk, "failed", 3), (second.pk, "dispatched", 1)]
    )
    # a second update of the same columns in one transaction reuses the staging table
    copy_update(Event, ["status", "attempts"], [(second.pk, "dispatched", 2)])

    assert Event.objects.filter(pk=first.pk).values_list("status", "attempts").get() == (
        "failed",
        3,
    )
    assert Event.objects.filter(pk=second.pk).values_list("status", "attempts").get() == (
        "dispatched",
        2,
    )


def test_a_unique_violation_fails_the_copy() -> None:
    existing = Event.objects.create(name="a")
    duplicate = Event(pk=existing.pk, name="b")

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_insert([duplicate])
    assert Event.objects.get(pk=existing.pk).name == "a"
