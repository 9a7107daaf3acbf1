"""Record visibility: the one place that decides which rows a user may see or change.

Every list queryset, detail lookup, global search and export of an entity goes through
``visible_records``. A model opts in with two class attributes:

* ``visibility_owner_field``: the lookup of the owning user (``"owner"``,
  ``"account__owner"``);
* ``visibility_rule_field``: the lookup of the record's permission rule, or ``""``.

A model may set ``visibility_public = True`` instead: its rows are the organization's
(products, categories) and the module right alone decides. Admins see everything; everybody else sees what they own plus what the registered
rule grants allow (``bss.setup`` registers the permission-rule grants).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.db.models import Model, Q, QuerySet
from django.http import Http404

Access = Literal["view", "edit", "delete"]
GrantFilter = Callable[[type[Model], Any, Access], Q | None]

_grant_filters: list[GrantFilter] = []


def register_grant_filter(grant_filter: GrantFilter) -> None:
    """Let a higher app widen visibility (permission rules, reseller scopes)."""
    if grant_filter not in _grant_filters:
        _grant_filters.append(grant_filter)


def visibility_filter(model: type[Model], user: Any, access: Access = "view") -> Q | None:
    """The Q a user's rows must match, or None when the user sees everything."""
    if user.is_superuser or getattr(model, "visibility_public", False):
        # Catalogue-style records belong to the organization: module rights decide.
        return None
    owner_field = getattr(model, "visibility_owner_field", None)
    if owner_field is None:
        raise TypeError(f"{model.__name__} declares no visibility_owner_field")
    condition = Q(**{owner_field: user})
    for grant_filter in _grant_filters:
        granted = grant_filter(model, user, access)
        if granted is not None:
            condition |= granted
    return condition


def visible_records(queryset: QuerySet, user: Any, access: Access = "view") -> QuerySet:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    condition = visibility_filter(queryset.model, user, access)
    return queryset if condition is None else queryset.filter(condition)


def get_visible_or_404(
    queryset: QuerySet, user: Any, access: Access = "view", **lookup: Any
) -> Any:
    """Fetch one record the user may see; an invisible record is as absent as a missing one."""
    try:
        return visible_records(queryset, user, access).get(**lookup)
    except queryset.model.DoesNotExist as missing:
        raise Http404(
            f"No {queryset.model._meta.verbose_name} matches the given query."
        ) from missing


def can_access(record: Model, user: Any, access: Access) -> bool:
    model = type(record)
    return visible_records(model._default_manager.filter(pk=record.pk), user, access).exists()
