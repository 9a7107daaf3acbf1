"""Setup > Subscription settings: the organization-wide options of subscriptions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from subscriptions.models import ProrationMethod, SubscriptionSettings

MAX_NOTICE_DAYS = 365


def parse_notice_days(text: str) -> list[int]:
    """ "7, 3,1" → [7, 3, 1]: distinct whole days, largest first."""
    days: set[int] = set()
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= MAX_NOTICE_DAYS:
            raise ValidationError(
                {
                    "trial_notice_days": _(
                        "“%(value)s” is not a number of days from 1 to %(max)d; "
                        "separate the days with commas, e.g. 7,3,1."
                    )
                    % {"value": part, "max": MAX_NOTICE_DAYS}
                }
            )
        days.add(int(part))
    return sorted(days, reverse=True)


@transaction.atomic
def subscription_settings_update(
    *,
    actor: Any,
    proration_method: str,
    suspension_stops_billing: bool,
    trial_notice_days: str,
) -> SubscriptionSettings:
    if proration_method not in ProrationMethod.values:
        raise ValidationError(
            {
                "proration_method": _("“%(value)s” is not a proration method.")
                % {"value": proration_method}
            }
        )
    notice = ",".join(str(day) for day in parse_notice_days(trial_notice_days))
    values = {
        "proration_method": proration_method,
        "suspension_stops_billing": bool(suspension_stops_billing),
        "trial_notice_days": notice,
    }
    with acting_as(actor):
        found, _created = SubscriptionSettings.objects.select_for_update().get_or_create(
            pk=SubscriptionSettings.SINGLETON_PK, defaults=values
        )
        changed = [name for name, value in values.items() if getattr(found, name) != value]
        for name in changed:
            setattr(found, name, values[name])
        if changed:
            found.save(update_fields=[*changed, "updated_at"])
        emit_event(
            "subscription_settings.updated",
            actor=actor,
            aggregate=found,
            payload={"fields": changed},
        )
    return found
