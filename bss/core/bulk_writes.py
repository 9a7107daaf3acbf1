"""Bulk writes through PostgreSQL's COPY, for the few paths that write tens of thousands
of rows in one transaction (the billing run, the outbox behind it).

``bulk_create`` prepares every value of every row through the field's Python-side
conversion and sends one parameter per value; COPY streams rows that psycopg's C
adapters encode. The rows written are the same: primary keys come from the table's own
sequence (reserved with ``nextval`` so callers can link rows before writing them),
``auto_now`` fields are filled as ``save()`` fills them, JSON goes through the field's
encoder. Only PostgreSQL; callers check ``supports_copy()`` and use ``bulk_create``
elsewhere.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone


def supports_copy() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys from the table's sequence, ascending."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), column, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def assign_ids(objs: Sequence[models.Model]) -> None:
    """Give every object without a primary key one from its table's sequence."""
    missing = [obj for obj in objs if obj.pk is None]
    if not missing:
        return
    for obj, pk in zip(missing, reserve_ids(type(missing[0]), len(missing)), strict=True):
        obj.pk = pk


# Fields whose Python value psycopg writes as is (choices enums included, as str or int
# subclasses); any other field (JSON, files, IP addresses, ...) goes through its own
# get_db_prep_save, as bulk_create does.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.DecimalField,
    models.DateField,
    models.BooleanField,
    models.ForeignKey,
)
_PLAIN, _RELATION, _AUTO, _PREPARED = range(4)


@functools.cache
def _columns(model: type[models.Model]) -> list[tuple[models.Field, int]]:
    columns = []
    for field in model._meta.concrete_fields:
        if field.generated:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            mode = _AUTO
        elif not isinstance(field, _PLAIN_FIELDS):
            mode = _PREPARED
        elif field.is_relation:
            mode = _RELATION
        else:
            mode = _PLAIN
        columns.append((field, mode))
    return columns


def _row(obj: models.Model, columns: list[tuple[models.Field, int]]) -> list[Any]:
    row = []
    for field, mode in columns:
        if mode == _PLAIN:
            row.append(getattr(obj, field.attname))
        elif mode == _RELATION:
            value = getattr(obj, field.attname)
            if value is None and field.is_cached(obj):
                # An object linked before it had its key, as bulk_create resolves it.
                related = field.get_cached_value(obj)
                value = related.pk if related is not None else None
                setattr(obj, field.attname, value)
            row.append(value)
        elif mode == _AUTO:
            row.append(field.pre_save(obj, True))
        else:
            row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return row


def copy_insert(objs: Sequence[models.Model]) -> None:
    """Insert unsaved objects of one model with COPY; each gets its primary key first.

    No conflict handling: a unique violation fails the statement (as Django's
    ``IntegrityError``), and with it the caller's transaction, as a plain INSERT would.
    """
    if not objs:
        return
    model = type(objs[0])
    assign_ids(objs)
    columns = _columns(model)
    _copy(model, columns, (_row(obj, columns) for obj in objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def copy_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows given as ``{attname: value}`` with COPY; returns their new keys.

    For rows that are only written, never read back: no model instance is made. A
    missing field takes its default (``auto_now`` fields the time of the call).
    """
    if not rows:
        return []
    ids = reserve_ids(model, len(rows))
    columns = _columns(model)
    now = timezone.now()

    def values(pk: int, row: dict[str, Any]) -> list[Any]:
        out = []
        for field, mode in columns:
            if field.primary_key:
                value = pk
            elif mode == _AUTO:
                value = row.get(field.attname, now)
            elif field.attname in row:
                value = row[field.attname]
            else:
                value = field.get_default()
            if mode == _PREPARED:
                value = field.get_db_prep_save(value, connection)
            out.append(value)
        return out

    _copy(model, columns, (values(pk, row) for pk, row in zip(ids, rows, strict=True)))
    return ids


def _copy(
    model: type[models.Model], columns: list[tuple[models.Field, int]], rows: Iterable[list[Any]]
) -> None:
    names = ", ".join(connection.ops.quote_name(field.column) for field, _mode in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def copy_update(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``UPDATE model SET columns`` for many rows: ``rows`` are (pk, *values) tuples.

    The rows are copied into a temporary table that lives until the transaction ends,
    then applied with one UPDATE ... FROM.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    # One staging table per model and column set, reused within the transaction.
    signature = zlib.crc32(",".join(columns).encode())
    stage = quote(f"bulk_update_{model._meta.db_table}_{signature:x}")
    names = ", ".join(quote(column) for column in columns)
    assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
            f"SELECT {pk}, {names} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {stage}")
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {stage} ({pk}, {names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM {stage} AS v WHERE t.{pk} = v.{pk}"
        )
