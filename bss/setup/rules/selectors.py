"""Reads of permission rules, and the grant filter record visibility is built on."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Model, Prefetch, Q, QuerySet

from bss.core.entities import ENTITIES, entity_model
from bss.core.visibility import Access
from bss.setup.models import PermissionRule, RuleGrant, RuleModule

# The grant levels that open a record for each kind of access.
GRANTING_LEVELS: dict[str, tuple[str, ...]] = {
    "view": ("read", "edit", "full"),
    "edit": ("edit", "full"),
    "delete": ("full",),
}


def granted_rule_ids(user: Any, access: Access) -> QuerySet:
    """Ids of the active rules granting ``access`` to the user, directly or via a group.

    A subquery: it runs inside the list's own query, never once per row.
    """
    return (
        RuleGrant.objects.filter(
            Q(user=user) | Q(role__users=user),
            access__in=GRANTING_LEVELS[access],
            rule__is_active=True,
        )
        .values("rule_id")
        .distinct()
    )


def rule_grant_filter(model: type[Model], user: Any, access: Access) -> Q | None:
    """Registered with ``bss.core.visibility``: records whose rule grants the user access."""
    rule_field = getattr(model, "visibility_rule_field", "")
    if not rule_field:
        return None
    return Q(**{f"{rule_field}__in": granted_rule_ids(user, access)})


def rules_usable_by(user: Any, entity: str) -> QuerySet[PermissionRule]:
    """Active rules that apply to the entity and are shared with the user (admins: all)."""
    rules = PermissionRule.objects.filter(is_active=True, modules__entity=entity)
    if not getattr(user, "is_superuser", False):
        shared = PermissionRule.objects.filter(
            Q(sharing__user=user) | Q(sharing__role__users=user)
        ).values("pk")
        rules = rules.filter(pk__in=shared)
    return rules.order_by("name")


def default_rule_for(entity: str, *, user: Any = None) -> PermissionRule | None:
    """The entity's default rule, if active and (when a user is given) usable by them."""
    rules = PermissionRule.objects.filter(
        is_active=True, modules__entity=entity, modules__is_default=True
    )
    if user is not None:
        rules = rules.filter(pk__in=rules_usable_by(user, entity).values("pk"))
    return rules.first()


def rule_usage(rule: PermissionRule) -> list[tuple[str, int]]:
    """How many records of each registered entity carry the rule themselves."""
    usage = []
    for entity in ENTITIES.values():
        model = entity_model(entity.key)
        rule_field = getattr(model, "visibility_rule_field", "") if model else ""
        if not model or not rule_field or "__" in rule_field:
            continue
        count = model._default_manager.filter(**{rule_field: rule}).count()
        if count:
            usage.append((str(model._meta.verbose_name_plural), count))
    return usage


def rules_for_list() -> QuerySet[PermissionRule]:
    return PermissionRule.objects.annotate(
        grant_count=Count("grants", distinct=True),
        sharing_count=Count("sharing", distinct=True),
    ).prefetch_related(Prefetch("modules", queryset=RuleModule.objects.order_by("entity")))


def rule_with_rows(pk: int) -> PermissionRule:
    return PermissionRule.objects.prefetch_related(
        "modules", "grants__user", "grants__role", "sharing__user", "sharing__role"
    ).get(pk=pk)
