"""Pay-per-use usage: parse, check and store usage records in bulk, exactly once.

Every way usage arrives (the API batch endpoint, the xlsx/csv upload, the connectors a
beat task polls) goes through ``usage_ingest``:

* A record names its subscription (id or number), a metric, a quantity, a unit, when it
  occurred and an idempotency key that is unique per subscription. The same key sent
  again is a *duplicate*: it is ignored and counted as such, never stored twice
  (``INSERT ... ON CONFLICT DO NOTHING`` on the unique (subscription, key) index).
* A record is *refused*, with the row and the reason, when its subscription is not
  pay-per-use, when it occurred before the subscription started or in the future, or
  when its day lies in a period the billing run has already rated (``occurred_on <
  billed_through``: that period is closed, its invoice is out).
* Malformed input (a missing key, a quantity that is not a number) is a ``RowError``
  from ``parse_usage_rows``; callers refuse the whole batch then and write nothing.

The billing run rates each closed period's total with the plan's price (unit rate,
tiered or volume) in ``billing.subscription_charges.usage_charges``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from subscriptions.models import BillingMethod, Subscription, UsageRecord

MAX_BATCH = 10_000
QUANTITY_PLACES = 6
QUANTITY_INTEGER_DIGITS = 12
METRIC_LENGTH = 100
UNIT_LENGTH = 40
KEY_LENGTH = 200
SOURCE_LENGTH = 20
# Meters' clocks drift; a record a few minutes "in the future" is still accepted.
CLOCK_SKEW = timedelta(minutes=5)
# A bulk statement carries this many rows (bounded memory, bounded lock time).
CHUNK = 20_000
FIELDS = ("subscription", "metric", "quantity", "unit", "occurred_at", "idempotency_key")
REQUIRED = ("subscription", "metric", "quantity", "occurred_at", "idempotency_key")


@dataclass(frozen=True)
class UsageInput:
    """One record after parsing; ``row`` is its position in the batch or the sheet."""

    row: int
    subscription: int | str
    metric: str
    quantity: Decimal
    occurred_at: datetime
    idempotency_key: str
    unit: str = ""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: list[RowError] = field(default_factory=list)
    duplicate_rows: list[int] = field(default_factory=list)

    @property
    def refused_count(self) -> int:
        return len({error.row for error in self.refused})

    def as_dict(self, *, max_rows: int = 1000) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": self.refused_count,
            "errors": [error.as_dict() for error in self.refused[:max_rows]],
            "duplicate_rows": self.duplicate_rows[:max_rows],
        }


class UsageRejected(Exception):
    """The batch as a whole is refused; ``errors`` name each row and field."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(_("The usage batch has %(count)d invalid rows.") % {"count": len(errors)})
        self.errors = list(errors)


# -------------------------------------------------------------------------- parsing


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_quantity(value: Any) -> Decimal:
    """A quantity of at most 12 integer digits and 6 decimals, zero or more."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(_("A quantity is required."))
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise ValueError(_("“%(value)s” is not a number.") % {"value": value})
    if number < 0:
        raise ValueError(_("A quantity is zero or more."))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
        number = number.normalize()
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
            raise ValueError(
                _("A quantity has at most %(places)d decimals.") % {"places": QUANTITY_PLACES}
            )
    if number >= Decimal(10) ** QUANTITY_INTEGER_DIGITS:
        raise ValueError(_("The quantity is too large."))
    return number


def _local_zone() -> Any:
    return timezone.get_current_timezone()


def parse_occurred_at(value: Any) -> datetime:
    """An ISO 8601 date-time (or date); without an offset it is the organization's time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=_local_zone())
    else:
        text = _text(value)
        if not text:
            raise ValueError(_("When the usage occurred is required."))
        try:
            moment = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
            if moment is None:
                day = parse_date(text)
                moment = (
                    datetime(day.year, day.month, day.day, tzinfo=_local_zone()) if day else None
                )
        except ValueError:
            moment = None
        if moment is None:
            raise ValueError(
                _("“%(value)s” is not a date and time such as 2026-03-01T14:30:00Z.")
                % {"value": text}
            )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def parse_subscription_ref(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError(_("Give the subscription's id or number."))
    if isinstance(value, int):
        return value
    text = _text(value)
    if not text:
        raise ValueError(_("The subscription is required."))
    return int(text) if text.isdigit() else text


def parse_usage_row(row: int, data: Mapping[str, Any]) -> UsageInput | list[RowError]:
    """One record from a mapping of the FIELDS; a list of errors when it is malformed."""
    errors: list[RowError] = []
    for name in REQUIRED:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(RowError(row, name, _("This field is required.")))
    if errors:
        return errors
    values: dict[str, Any] = {}
    parsers = {
        "subscription": parse_subscription_ref,
        "quantity": parse_quantity,
        "occurred_at": parse_occurred_at,
    }
    for name, parse in parsers.items():
        try:
            values[name] = parse(data.get(name))
        except ValueError as error:
            errors.append(RowError(row, name, str(error)))
    for name, limit in (
        ("metric", METRIC_LENGTH),
        ("unit", UNIT_LENGTH),
        ("idempotency_key", KEY_LENGTH),
    ):
        text = _text(data.get(name))
        if len(text) > limit:
            errors.append(
                RowError(row, name, _("At most %(limit)d characters.") % {"limit": limit})
            )
        values[name] = text
    if errors:
        return errors
    return UsageInput(row=row, **values)


def parse_usage_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
) -> tuple[list[UsageInput], list[RowError]]:
    records: list[UsageInput] = []
    errors: list[RowError] = []
    for number, data in rows:
        parsed = parse_usage_row(number, data)
        if isinstance(parsed, list):
            errors += parsed
        else:
            records.append(parsed)
    return records, errors


# ------------------------------------------------------------------------ ingesting


@dataclass(frozen=True)
class _Target:
    pk: int
    number: str
    billing_method: str
    start_date: date
    billed_through: date | None


_TARGETS_SQL = """
SELECT id, number, billing_method, start_date, billed_through FROM {table}
WHERE id = ANY(%s::bigint[]) OR number = ANY(%s::varchar[]) ORDER BY id FOR SHARE
"""


def _targets(records: Sequence[UsageInput]) -> dict[int | str, _Target]:
    """The referenced subscriptions by id and by number.

    On PostgreSQL they are locked FOR SHARE until the caller's transaction ends: ingest
    batches still run side by side, but a billing run that closes a period (its update
    of ``billed_through``) waits, so no record slips into a period as it is rated.
    """
    ids = sorted({ref for ref in (r.subscription for r in records) if isinstance(ref, int)})
    numbers = sorted({ref for ref in (r.subscription for r in records) if isinstance(ref, str)})
    if not ids and not numbers:
        return {}
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Subscription._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(_TARGETS_SQL.format(table=table), [ids, numbers])
            fetched = cursor.fetchall()
    else:
        query = Subscription.objects.filter(pk__in=ids) | Subscription.objects.filter(
            number__in=numbers
        )
        fields = ("pk", "number", "billing_method", "start_date", "billed_through")
        fetched = list(query.values_list(*fields))
    found: dict[int | str, _Target] = {}
    for pk, number, method, start, billed in fetched:
        target = _Target(pk, number, method, start, billed)
        found[pk] = target
        found[number] = target
    return found


def _refusal(
    record: UsageInput, target: _Target | None, day: date, now: datetime
) -> tuple[str, str]:
    """The column and the reason a record is refused, or ("", "") when it passes."""
    if target is None:
        return "subscription", _("No subscription %(ref)s.") % {"ref": record.subscription}
    if target.billing_method != BillingMethod.PAY_PER_USE:
        return "subscription", _("Subscription %(number)s is not pay-per-use.") % {
            "number": target.number
        }
    if day < target.start_date:
        return "occurred_at", _(
            "Subscription %(number)s started on %(start)s, after this usage."
        ) % {"number": target.number, "start": target.start_date.isoformat()}
    if target.billed_through is not None and day < target.billed_through:
        return "occurred_at", _(
            "The period of %(day)s is closed: subscription %(number)s is billed through %(last)s."
        ) % {
            "day": day.isoformat(),
            "number": target.number,
            "last": (target.billed_through - timedelta(days=1)).isoformat(),
        }
    if record.occurred_at > now + CLOCK_SKEW:
        return "occurred_at", _("The usage lies in the future.")
    return "", ""


def check_usage(
    records: Sequence[UsageInput], *, now: datetime | None = None
) -> tuple[list[tuple[UsageInput, int, date]], list[RowError]]:
    """Split records into (record, subscription id, day) to store and refusals per row.

    Runs in the caller's transaction, which keeps the subscriptions locked.
    """
    now = now or timezone.now()
    targets = _targets(records)
    tz = timezone.get_current_timezone()
    to_store: list[tuple[UsageInput, int, date]] = []
    refused: list[RowError] = []
    for record in records:
        target = targets.get(record.subscription)
        day = record.occurred_at.astimezone(tz).date()
        column, reason = _refusal(record, target, day, now)
        if reason:
            refused.append(RowError(record.row, column, reason))
            continue
        assert target is not None
        to_store.append((record, target.pk, day))
    return to_store, refused


# A per-connection staging table: COPY fills it (the fastest way into PostgreSQL), one
# INSERT ... SELECT moves the rows on, skipping keys the subscription already has.
_STAGE_SQL = """
CREATE TEMPORARY TABLE IF NOT EXISTS bss_usage_stage (
    subscription_id bigint, metric varchar(100), quantity numeric(18, 6), unit varchar(40),
    occurred_at timestamptz, occurred_on date, idempotency_key varchar(200)
) ON COMMIT DELETE ROWS
"""
_COPY_SQL = (
    "COPY bss_usage_stage (subscription_id, metric, quantity, unit, occurred_at, occurred_on, "
    "idempotency_key) FROM STDIN"
)
_INSERT_SQL = """
INSERT INTO {table}
    (subscription_id, metric, quantity, unit, occurred_at, occurred_on,
     idempotency_key, source, created_at)
SELECT subscription_id, metric, quantity, unit, occurred_at, occurred_on, idempotency_key,
       %s, now()
FROM bss_usage_stage
ON CONFLICT (subscription_id, idempotency_key) DO NOTHING
RETURNING subscription_id, idempotency_key
"""


def _insert_postgres(rows: Sequence[tuple[UsageInput, int, date]], source: str) -> set[tuple]:
    table = connection.ops.quote_name(UsageRecord._meta.db_table)
    stored: set[tuple] = set()
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_SQL)
        raw = cursor.cursor
        for start in range(0, len(rows), CHUNK):
            cursor.execute("TRUNCATE bss_usage_stage")
            with raw.copy(_COPY_SQL) as copy:
                for record, pk, day in rows[start : start + CHUNK]:
                    copy.write_row(
                        (
                            pk,
                            record.metric,
                            record.quantity,
                            record.unit,
                            record.occurred_at,
                            day,
                            record.idempotency_key,
                        )
                    )
            cursor.execute(_INSERT_SQL.format(table=table), [source])
            stored.update(cursor.fetchall())
    return stored


def _insert_portable(rows: Sequence[tuple[UsageInput, int, date]], source: str) -> set[tuple]:
    """SQLite (the quickstart): find what exists, then insert skipping conflicts."""
    stored: set[tuple] = set()
    by_subscription: dict[int, set[str]] = {}
    for record, pk, _day in rows:
        by_subscription.setdefault(pk, set()).add(record.idempotency_key)
    existing = set()
    for pk, keys in by_subscription.items():
        existing.update(
            (pk, key)
            for key in UsageRecord.objects.filter(
                subscription_id=pk, idempotency_key__in=keys
            ).values_list("idempotency_key", flat=True)
        )
    new = [
        UsageRecord(
            subscription_id=pk,
            metric=record.metric,
            quantity=record.quantity,
            unit=record.unit,
            occurred_at=record.occurred_at,
            occurred_on=day,
            idempotency_key=record.idempotency_key,
            source=source,
        )
        for record, pk, day in rows
        if (pk, record.idempotency_key) not in existing
    ]
    UsageRecord.objects.bulk_create(new, ignore_conflicts=True)
    stored.update((row.subscription_id, row.idempotency_key) for row in new)
    return stored


def usage_ingest(
    *,
    actor: Any,
    records: Sequence[UsageInput],
    source: str = "api",
    all_or_nothing: bool = False,
    now: datetime | None = None,
) -> IngestResult:
    """Store the records that pass, ignore duplicates, report refusals per row.

    With ``all_or_nothing`` (the upload page) one refusal refuses the whole batch:
    ``UsageRejected`` is raised and nothing is written. Within a batch the first record
    with a (subscription, key) pair counts; later ones are duplicates.
    """
    result = IngestResult(received=len(records))
    source = source[:SOURCE_LENGTH]
    with transaction.atomic(), acting_as(actor):
        to_store, refused = check_usage(records, now=now)
        if refused and all_or_nothing:
            raise UsageRejected(refused)
        result.refused = refused
        unique: list[tuple[UsageInput, int, date]] = []
        seen: set[tuple[int, str]] = set()
        for item in to_store:
            pair = (item[1], item[0].idempotency_key)
            if pair in seen:
                result.duplicate_rows.append(item[0].row)
                continue
            seen.add(pair)
            unique.append(item)
        if connection.vendor == "postgresql":
            stored = _insert_postgres(unique, source)
        else:
            stored = _insert_portable(unique, source)
        for record, pk, _day in unique:
            if (pk, record.idempotency_key) not in stored:
                result.duplicate_rows.append(record.row)
        result.duplicate_rows.sort()
        result.accepted = len(stored)
        result.duplicates = len(result.duplicate_rows)
        if result.accepted:
            emit_event(
                "usage.recorded",
                actor=actor,
                payload={
                    "source": source,
                    "accepted": result.accepted,
                    "subscription_ids": sorted({pk for pk, _key in stored})[:1000],
                },
            )
    return result
