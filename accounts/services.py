"""Every write to customer accounts goes through here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Account
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.numbering import next_number
from bss.core.visibility import can_access
from bss.setup.fields.values import account_context_of, validate_custom_data
from bss.setup.rules.selectors import default_rule_for
from bss.setup.rules.services import check_rule_assignable

ACCOUNT_FIELDS = (
    "name",
    "account_type",
    "parent",
    "status",
    "currency",
    "email",
    "phone",
    "website",
    "permission_rule",
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
def account_create(
    *, actor: Any, owner: Any = None, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Account:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown account fields: {', '.join(sorted(unknown))}")
    if not str(fields.get("name", "")).strip():
        raise ValidationError({"name": "An account needs a name."})
    _check_hierarchy(
        account_type=fields.get("account_type", Account.Type.DIRECT), parent=fields.get("parent")
    )
    if "permission_rule" not in fields:
        fields["permission_rule"] = default_rule_for("account", user=actor)
    check_rule_assignable(actor=actor, entity="account", rule=fields["permission_rule"])
    cleaned_custom_data = validate_custom_data(
        "account", custom_data or {}, account_context=account_context_of(None, fields)
    )
    with acting_as(actor):
        account = Account.objects.create(
            number=next_number("account", prefix="ACC-"),
            owner=owner or actor,
            custom_data=cleaned_custom_data,
            **fields,
        )
    emit_event(
        "account.created", actor=actor, aggregate=account, payload={"number": account.number}
    )
    return account


@transaction.atomic
def account_update(
    *, actor: Any, account: Account, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Account:
    if actor is not None and not can_access(account, actor, "edit"):
        raise PermissionDenied("You may not change this account.")
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown account fields: {', '.join(sorted(unknown))}")
    _check_hierarchy(
        account_type=fields.get("account_type", account.account_type),
        parent=fields.get("parent", account.parent),
    )
    if "permission_rule" in fields:
        check_rule_assignable(
            actor=actor,
            entity="account",
            rule=fields["permission_rule"],
            current=account.permission_rule,
        )
    changed = [name for name, value in fields.items() if getattr(account, name) != value]
    if custom_data is not None:
        new_custom_data = validate_custom_data(
            "account",
            custom_data,
            account_context=account_context_of(account, fields),
            existing=account.custom_data,
        )
        if new_custom_data != account.custom_data:
            fields["custom_data"] = new_custom_data
            changed.append("custom_data")
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(account, name, fields[name])
            account.save(update_fields=[*changed, "updated_at"])
        emit_event("account.updated", actor=actor, aggregate=account, payload={"fields": changed})
    return account
