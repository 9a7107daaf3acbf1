"""Starting values of the systemic value lists (industry, lead source, company role…).

Idempotent: adds what is missing and never touches values an admin has edited.
"""

from __future__ import annotations

from typing import Any

from bss.setup.fields import services
from bss.setup.fields.value_lists import VALUE_LISTS
from bss.setup.models import SystemFieldValue


def seed_value_lists(stdout: Any) -> None:
    added = 0
    for value_list in VALUE_LISTS.values():
        present = set(
            SystemFieldValue.objects.filter(
                entity=value_list.entity, field=value_list.field
            ).values_list("value", flat=True)
        )
        has_default = SystemFieldValue.objects.filter(
            entity=value_list.entity, field=value_list.field, is_default=True
        ).exists()
        for position, (key, label) in enumerate(value_list.starting_values, start=1):
            if key in present:
                continue
            services.system_value_add(
                actor=None,
                entity=value_list.entity,
                field=value_list.field,
                value=key,
                label=label,
                order_no=position * 10,
                is_default=not has_default and key == value_list.starting_default,
            )
            added += 1
    stdout.write(f"  {added} systemic field values")
