"""Every write to customer accounts goes through here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.numbering import next_number

ACCOUNT_FIELDS = (
    "name",
    "account_type",
    "parent",
    "status",
    "currency",
    "email",
    "phone",
    "website",
)


def _check_hierarchy(*, account_type: str, parent: Account | None) -> None:
    if account_type == Account.Type.CLIENT:
        if parent is None:
            raise ValidationError({"parent": "A reseller's client needs its parent reseller."})
        if parent.account_type != Account.Type.RESELLER:
            raise ValidationError({"parent": f"{parent.name} is not a reseller."})
    elif parent is not None:
        raise ValidationError({"parent": "Only a reseller's client has a parent reseller."})


@transaction.atomic
def account_create(*, actor: Any, owner: Any = None, **fields: Any) -> Account:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown account fields: {', '.join(sorted(unknown))}")
    if not str(fields.get("name", "")).strip():
        raise ValidationError({"name": "An account needs a name."})
    _check_hierarchy(
        account_type=fields.get("account_type", Account.Type.DIRECT), parent=fields.get("parent")
    )
    with acting_as(actor):
        account = Account.objects.create(
            number=next_number("account", prefix="ACC-"), owner=owner or actor, **fields
        )
    emit_event(
        "account.created", actor=actor, aggregate=account, payload={"number": account.number}
    )
    return account


@transaction.atomic
def account_update(*, actor: Any, account: Account, **fields: Any) -> Account:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown account fields: {', '.join(sorted(unknown))}")
    _check_hierarchy(
        account_type=fields.get("account_type", account.account_type),
        parent=fields.get("parent", account.parent),
    )
    changed = [name for name, value in fields.items() if getattr(account, name) != value]
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(account, name, fields[name])
            account.save(update_fields=[*changed, "updated_at"])
        emit_event("account.updated", actor=actor, aggregate=account, payload={"fields": changed})
    return account
