"""Every write to permission rules goes through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from bss.core.audit import acting_as
from bss.core.entities import ENTITIES
from bss.core.events import emit_event
from bss.setup.models import PermissionRule, Role, RuleGrant, RuleModule, RuleSharing, User
from bss.setup.models.rules import Access
from bss.setup.rules.selectors import rule_usage, rules_usable_by

Grantee = User | Role


def _grantee_key(grantee: Grantee) -> tuple[str, int]:
    if isinstance(grantee, User):
        return ("user", grantee.pk)
    if isinstance(grantee, Role):
        return ("role", grantee.pk)
    raise ValidationError(f"{grantee!r} is neither a user nor a group.")


def _row_key(row: RuleGrant | RuleSharing) -> tuple[str, int]:
    return ("user", row.user_id) if row.user_id else ("role", row.role_id)  # type: ignore[return-value]


def _grantee_fields(grantee: Grantee) -> dict[str, Any]:
    return {"user": grantee} if isinstance(grantee, User) else {"role": grantee}


def _check_unique(grantees: Iterable[Grantee], section: str) -> None:
    seen: set[tuple[str, int]] = set()
    for grantee in grantees:
        key = _grantee_key(grantee)
        if key in seen:
            raise ValidationError({section: f"{grantee} is listed twice."})
        seen.add(key)


def _sync_modules(rule: PermissionRule, modules: Mapping[str, bool]) -> list[str]:
    """Apply the rule to exactly these entities; return those where it took the default."""
    existing = {row.entity: row for row in rule.modules.all()}
    RuleModule.objects.filter(rule=rule).exclude(entity__in=list(modules)).delete()
    took_default = []
    for entity, is_default in modules.items():
        if is_default:
            moved = (
                RuleModule.objects.filter(entity=entity, is_default=True)
                .exclude(rule=rule)
                .update(is_default=False)
            )
            if moved:
                took_default.append(entity)
        row = existing.get(entity)
        if row is None:
            RuleModule.objects.create(rule=rule, entity=entity, is_default=is_default)
        elif row.is_default != is_default:
            row.is_default = is_default
            row.save(update_fields=["is_default"])
    return took_default


def _sync_grants(rule: PermissionRule, grants: list[tuple[Grantee, str]]) -> None:
    existing = {_row_key(row): row for row in rule.grants.all()}
    wanted = {_grantee_key(grantee): (grantee, access) for grantee, access in grants}
    for key, row in existing.items():
        if key not in wanted:
            row.delete()
    for key, (grantee, access) in wanted.items():
        row = existing.get(key)
        if row is None:
            RuleGrant.objects.create(rule=rule, access=access, **_grantee_fields(grantee))
        elif row.access != access:
            row.access = access
            row.save(update_fields=["access"])


def _sync_sharing(rule: PermissionRule, sharing: list[Grantee]) -> None:
    existing = {_row_key(row): row for row in rule.sharing.all()}
    wanted = {_grantee_key(grantee): grantee for grantee in sharing}
    for key, row in existing.items():
        if key not in wanted:
            row.delete()
    for key, grantee in wanted.items():
        if key not in existing:
            RuleSharing.objects.create(rule=rule, **_grantee_fields(grantee))


@transaction.atomic
def rule_save(
    *,
    actor: Any,
    rule: PermissionRule | None = None,
    name: str,
    description: str = "",
    is_active: bool = True,
    modules: Mapping[str, bool],
    grants: Iterable[tuple[Grantee, str]] = (),
    sharing: Iterable[Grantee] = (),
) -> PermissionRule:
    """Create or replace a rule with its entities (entity → is default), grants and sharing.

    Marking the rule as an entity's default takes the default from the rule that had it,
    in this same transaction.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A permission rule needs a name."})
    clash = PermissionRule.objects.filter(name__iexact=name)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise ValidationError({"name": f"A permission rule named “{name}” already exists."})
    unknown = [entity for entity in modules if entity not in ENTITIES]
    if unknown:
        raise ValidationError({"modules": f"Unknown entities: {', '.join(sorted(unknown))}"})
    grants = list(grants)
    sharing = list(sharing)
    bad_levels = [access for _grantee, access in grants if access not in Access.values]
    if bad_levels:
        raise ValidationError({"grants": f"Unknown access levels: {', '.join(bad_levels)}"})
    _check_unique((grantee for grantee, _access in grants), "grants")
    _check_unique(sharing, "sharing")
    with acting_as(actor):
        if rule is None:
            rule = PermissionRule.objects.create(
                name=name, description=description, is_active=is_active
            )
            event = "permission_rule.created"
        else:
            rule.name, rule.description, rule.is_active = name, description, is_active
            rule.save(update_fields=["name", "description", "is_active"])
            event = "permission_rule.updated"
        took_default = _sync_modules(rule, modules)
        _sync_grants(rule, grants)
        _sync_sharing(rule, sharing)
    emit_event(
        event,
        actor=actor,
        aggregate=rule,
        payload={
            "name": rule.name,
            "entities": sorted(modules),
            "defaults_taken_over": sorted(took_default),
        },
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: Any, rule: PermissionRule) -> None:
    usage = rule_usage(rule)
    if usage:
        carried = ", ".join(f"{count} {label}" for label, count in usage)
        raise ValidationError(
            f"The rule “{rule.name}” is still set on {carried}; give them another rule first."
        )
    payload = {"name": rule.name}
    emit_event("permission_rule.deleted", actor=actor, aggregate=rule, payload=payload)
    with acting_as(actor):
        rule.delete()


def check_rule_assignable(
    *, actor: Any, entity: str, rule: PermissionRule | None, current: PermissionRule | None = None
) -> None:
    """Refuse a rule the actor may not put on a record of the entity.

    Keeping the record's current rule is always allowed; ``actor=None`` (system jobs,
    imports run by the platform) skips the sharing check but not the others.
    """
    if rule is None or (current is not None and rule.pk == current.pk):
        return
    if not rule.is_active:
        raise ValidationError({"permission_rule": f"The permission rule “{rule}” is inactive."})
    if not rule.modules.filter(entity=entity).exists():
        raise ValidationError(
            {"permission_rule": f"The permission rule “{rule}” does not apply to {entity} records."}
        )
    if actor is not None and not rules_usable_by(actor, entity).filter(pk=rule.pk).exists():
        raise ValidationError({"permission_rule": f"You may not use the permission rule “{rule}”."})
