"""Every write to users and groups goes through here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.permissions import MODULES, all_permission_codes
from bss.setup.models import Role, User


def _validated_rights(permissions: Iterable[str]) -> list[str]:
    known = set(all_permission_codes())
    chosen = sorted(set(permissions))
    unknown = [code for code in chosen if code not in known]
    if unknown:
        raise ValidationError({"permissions": f"Unknown rights: {', '.join(unknown)}"})
    return chosen


def _validated_modules(modules: Iterable[str]) -> list[str]:
    chosen = sorted(set(modules))
    unknown = [code for code in chosen if code not in MODULES]
    if unknown:
        raise ValidationError({"restricted_modules": f"Unknown modules: {', '.join(unknown)}"})
    return chosen


@transaction.atomic
def user_create(
    *,
    actor: Any,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    is_superuser: bool = False,
    roles: Iterable[Role] = (),
    language: str = "",
    restricted_modules: Iterable[str] = (),
) -> User:
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    with acting_as(actor):
        user = User.objects.create_user(
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            is_superuser=is_superuser,
            is_staff=is_superuser,
            language=language,
            restricted_modules=_validated_modules(restricted_modules),
        )
        user.roles.set(list(roles))
    emit_event("user.created", actor=actor, aggregate=user, payload={"email": user.email})
    return user


@transaction.atomic
def user_update(
    *, actor: Any, user: User, roles: Iterable[Role] | None = None, **fields: Any
) -> User:
    editable = {
        "first_name",
        "last_name",
        "is_active",
        "is_superuser",
        "language",
        "restricted_modules",
    }
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            f"These user fields cannot be changed here: {', '.join(sorted(unknown))}"
        )
    if "restricted_modules" in fields:
        fields["restricted_modules"] = _validated_modules(fields["restricted_modules"])
    if fields.get("is_active") is False and user.pk == getattr(actor, "pk", None):
        raise ValidationError({"is_active": "You cannot deactivate your own user."})
    with acting_as(actor):
        for name, value in fields.items():
            setattr(user, name, value)
        if "is_superuser" in fields:
            user.is_staff = fields["is_superuser"]
            fields["is_staff"] = user.is_staff
        if fields:
            user.save(update_fields=list(fields))
        if roles is not None:
            user.roles.set(list(roles))
    emit_event("user.updated", actor=actor, aggregate=user, payload={"fields": sorted(fields)})
    return user


@transaction.atomic
def user_set_language(*, actor: Any, user: User, language: str) -> User:
    from bss.core.translation import is_enabled_language

    if not is_enabled_language(language):
        raise ValidationError({"language": f"Unsupported language {language!r}."})
    if user.language != language:
        with acting_as(actor):
            user.language = language
            user.save(update_fields=["language"])
    return user


@transaction.atomic
def role_save(
    *,
    actor: Any,
    role: Role | None = None,
    name: str,
    description: str = "",
    permissions: Iterable[str] = (),
) -> Role:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A group needs a name."})
    clash = Role.objects.filter(name__iexact=name)
    if role is not None:
        clash = clash.exclude(pk=role.pk)
    if clash.exists():
        raise ValidationError({"name": f"A group named {name!r} already exists."})
    rights = _validated_rights(permissions)
    with acting_as(actor):
        if role is None:
            role = Role.objects.create(name=name, description=description, permissions=rights)
            event = "role.created"
        else:
            role.name, role.description, role.permissions = name, description, rights
            role.save(update_fields=["name", "description", "permissions"])
            event = "role.updated"
    emit_event(event, actor=actor, aggregate=role, payload={"name": role.name})
    return role


@transaction.atomic
def role_delete(*, actor: Any, role: Role) -> None:
    if role.users.exists():
        raise ValidationError(f"The group {role.name!r} still has members; remove them first.")
    with acting_as(actor):
        role.delete()
