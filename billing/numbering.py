"""Invoice numbers: per-series counters taken under a row lock by the issuing transaction.

A number is taken only inside the transaction that issues the invoice. The counter row
stays locked until that transaction ends, so concurrent issuers queue on it, and a
rolled-back issue releases the number it took: numbers are unique and gapless per
series (and per year when the series restarts yearly).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import InvoiceCounter, InvoiceKind, InvoiceSeries

PATTERN_FIELDS = frozenset({"prefix", "year", "number"})


@dataclass(frozen=True)
class TakenNumber:
    number: str
    sequence_number: int
    year: int


def check_pattern(pattern: str, *, resets_yearly: bool) -> None:
    """A pattern uses only {prefix}, {year} and {number}, and must show the number."""
    try:
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(pattern) if name}
    except ValueError as error:
        raise ValidationError({"pattern": _("The pattern is malformed: %s") % error}) from error
    unknown = fields - PATTERN_FIELDS
    if unknown:
        raise ValidationError(
            {"pattern": _("Unknown placeholders: %s.") % ", ".join(sorted(unknown))}
        )
    if "number" not in fields:
        raise ValidationError({"pattern": _("The pattern must contain {number}.")})
    if resets_yearly and "year" not in fields:
        raise ValidationError(
            {"pattern": _("A series that restarts every year must show {year} in its numbers.")}
        )


def format_number(series: InvoiceSeries, *, year: int, value: int) -> str:
    return series.pattern.format(
        prefix=series.prefix, year=f"{year:04d}", number=f"{value:0{series.padding}d}"
    )


def default_series(kind: str) -> InvoiceSeries:
    series = InvoiceSeries.objects.filter(kind=kind, is_default=True).first()
    if series is None:
        label = InvoiceKind(kind).label
        raise ValidationError(_("No default numbering series is set up for %s.") % label)
    return series


def take_number(series: InvoiceSeries, invoice_date: date) -> TakenNumber:
    """The next number of ``series`` for an invoice dated ``invoice_date``.

    Must run inside the issuing transaction. Refuses a date earlier than the last issued
    invoice of the same counter, so numbers and dates rise together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_number must run inside the issuing transaction")
    year = invoice_date.year if series.resets_yearly else 0
    # ON CONFLICT DO NOTHING: the first issuer of a year creates the row, others find it.
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(series=series, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    if counter.last_invoice_date is not None and invoice_date < counter.last_invoice_date:
        raise ValidationError(
            {
                "invoice_date": _(
                    "The invoice date %(date)s is before %(last)s, the date of the last invoice "
                    "issued in the series %(series)s."
                )
                % {
                    "date": invoice_date.isoformat(),
                    "last": counter.last_invoice_date.isoformat(),
                    "series": series.name,
                }
            }
        )
    value = counter.next_value
    counter.next_value = value + 1
    counter.last_invoice_date = invoice_date
    counter.save(update_fields=["next_value", "last_invoice_date"])
    return TakenNumber(
        number=format_number(series, year=invoice_date.year, value=value),
        sequence_number=value,
        year=year,
    )
