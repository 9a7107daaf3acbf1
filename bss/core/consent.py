"""The consent log: terms of use accepted, personal-data opt-ins and opt-outs, offers accepted.

Whatever module collects a consent (Storefront checkout, contact opt-in, offer link)
calls ``record_consent``; the rows are never changed afterwards. Names and emails are
copied in, so the log still says who consented after the account or contact changed.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from bss.core.events import emit_event
from bss.core.models import ConsentRecord

USER_AGENT_MAX = 500


def request_origin(request: HttpRequest) -> dict[str, Any]:
    """The ip_address and user_agent arguments of ``record_consent`` for a web request."""
    return {
        "ip_address": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.headers.get("User-Agent", ""),
    }


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@transaction.atomic
def record_consent(
    *,
    actor: Any = None,
    kind: str,
    subject: str,
    account_id: int | None = None,
    account_name: str = "",
    contact_id: int | None = None,
    contact_name: str = "",
    contact_email: str = "",
    reference: str = "",
    source: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    accepted_at: datetime | None = None,
) -> ConsentRecord:
    """Append one consent to the log.

    ``subject`` says what was accepted (the product's terms, the newsletter);
    ``reference`` the order or offer number; ``source`` where it happened (the
    Storefront basket URL, "contact form").
    """
    if kind not in ConsentRecord.Kind.values:
        raise ValidationError({"kind": f"Unknown consent kind {kind!r}."})
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": "Say what was accepted."})
    if accepted_at is not None and timezone.is_naive(accepted_at):
        raise ValidationError({"accepted_at": "The acceptance time needs a time zone."})
    record = ConsentRecord.objects.create(
        kind=kind,
        subject=subject[:300],
        account_id=account_id,
        account_name=account_name[:200],
        contact_id=contact_id,
        contact_name=contact_name[:200],
        contact_email=contact_email,
        reference=reference[:100],
        source=source[:100],
        ip_address=_valid_ip(ip_address),
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
        accepted_at=accepted_at or timezone.now(),
    )
    emit_event(
        "consent.recorded",
        actor=actor,
        aggregate=record,
        payload={"kind": kind, "account_id": account_id, "contact_id": contact_id},
    )
    return record
