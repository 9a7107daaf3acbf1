"""The permission rule editor: the rule, its entities, grants and sharing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bss.core.entities import ENTITIES
from bss.setup.models import PermissionRule, Role, User
from bss.setup.models.rules import Access


def grantee_choices() -> list[tuple[Any, Any]]:
    """Groups first, then users, as ``role:<id>`` / ``user:<id>`` values."""
    roles = [(f"role:{role.pk}", role.name) for role in Role.objects.order_by("name")]
    users = [
        (
            f"user:{user.pk}",
            f"{user.get_full_name()} <{user.email}>" if user.get_full_name() else user.email,
        )
        for user in User.objects.filter(is_active=True).order_by("email")
    ]
    return [("", "---------"), (_("Groups"), roles), (_("Users"), users)]


def grantee_value(row: Any) -> str:
    return f"user:{row.user_id}" if row.user_id else f"role:{row.role_id}"


def resolve_grantees(values: list[str]) -> dict[str, User | Role]:
    """Load every chosen user and group in two queries."""
    user_ids = {int(value[5:]) for value in values if value.startswith("user:")}
    role_ids = {int(value[5:]) for value in values if value.startswith("role:")}
    found: dict[str, User | Role] = {}
    for user in User.objects.filter(pk__in=user_ids):
        found[f"user:{user.pk}"] = user
    for role in Role.objects.filter(pk__in=role_ids):
        found[f"role:{role.pk}"] = role
    return found


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive rule grants nothing and cannot be chosen on records."),
    )

    def __init__(self, *args: Any, instance: PermissionRule | None = None, **kwargs: Any) -> None:
        self.instance = instance
        applied: dict[str, bool] = {}
        if instance is not None:
            applied = {row.entity: row.is_default for row in instance.modules.all()}
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "description": instance.description,
                    "is_active": instance.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        for entity in ENTITIES.values():
            self.fields[f"apply_{entity.key}"] = forms.BooleanField(
                label=entity.label, required=False, initial=entity.key in applied
            )
            self.fields[f"default_{entity.key}"] = forms.BooleanField(
                label=_("Default"), required=False, initial=applied.get(entity.key, False)
            )

    def module_rows(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        return [
            (entity.label, self[f"apply_{entity.key}"], self[f"default_{entity.key}"])
            for entity in ENTITIES.values()
        ]

    def chosen_modules(self) -> dict[str, bool]:
        """Entity → is default; a default implies the rule applies to the entity."""
        data = self.cleaned_data
        return {
            entity: data[f"default_{entity}"]
            for entity in ENTITIES
            if data[f"apply_{entity}"] or data[f"default_{entity}"]
        }


class GranteeForm(forms.Form):
    grantee = forms.ChoiceField(label=_("User or group"), required=False)

    def __init__(self, *args: Any, grantees: list[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grantee"].choices = grantees


class GrantForm(GranteeForm):
    access = forms.ChoiceField(label=_("Access"), choices=Access.choices, initial=Access.READ_ONLY)


class BaseGranteeFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, grantees: list[tuple[Any, Any]], **kwargs: Any) -> None:
        self.grantees = grantees
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "grantees": self.grantees}

    @property
    def empty_form(self) -> forms.Form:
        return self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            grantees=self.grantees,
            renderer=self.renderer,
        )

    def chosen(self) -> list[dict[str, Any]]:
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data.get("grantee") and not form.cleaned_data.get("DELETE")
        ]


GrantFormSet = forms.formset_factory(
    GrantForm, formset=BaseGranteeFormSet, extra=3, can_delete=True
)
SharingFormSet = forms.formset_factory(
    GranteeForm, formset=BaseGranteeFormSet, extra=3, can_delete=True
)
