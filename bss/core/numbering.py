"""Record numbers from named counters: unique, in order, and gapless within a transaction."""

from __future__ import annotations

from django.db import transaction

from bss.core.models import NumberSequence


def next_number(sequence_name: str, *, prefix: str, padding: int = 6) -> str:
    """Take the next number of a sequence; must run inside the transaction that uses it.

    The row lock is held until commit, so concurrent callers queue and a rolled-back
    transaction gives its number back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside transaction.atomic")
    NumberSequence.objects.get_or_create(
        name=sequence_name, defaults={"prefix": prefix, "padding": padding}
    )
    sequence = NumberSequence.objects.select_for_update().get(name=sequence_name)
    value = sequence.next_value
    sequence.next_value = value + 1
    sequence.save(update_fields=["next_value"])
    return f"{sequence.prefix}{value:0{sequence.padding}d}"
