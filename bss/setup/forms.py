from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from bss.core.permissions import MODULES
from bss.setup.models import Role, User


def module_choices() -> list[tuple[str, Any]]:
    return [(module.code, module.label) for module in MODULES.values()]


def language_choices() -> list[tuple[str, Any]]:
    from bss.core.translation import enabled_languages

    return [("", _("Organization default")), *enabled_languages()]


class UserForm(forms.Form):
    email = forms.EmailField(label=_("Email (login)"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("Leave empty to let the user set one through the password-reset email."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=language_choices, required=False)
    is_superuser = forms.BooleanField(
        label=_("Administrator (every right, every record)"), required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    roles = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        queryset=Role.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    restricted_modules = forms.MultipleChoiceField(
        label=_("Restricted modules"),
        choices=module_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("New users may use every module; tick the ones this user may not open."),
    )

    def __init__(self, *args: Any, instance: User | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "email": instance.email,
                    "first_name": instance.first_name,
                    "last_name": instance.last_name,
                    "language": instance.language,
                    "is_superuser": instance.is_superuser,
                    "is_active": instance.is_active,
                    "roles": list(instance.roles.all()),
                    "restricted_modules": instance.restricted_modules,
                },
            )
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.fields["email"].disabled = True
            del self.fields["password"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        clash = User.objects.filter(email__iexact=email)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("A user with this email already exists."))
        return email

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if password:
            validate_password(password)
        return password


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, instance: Role | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial", {"name": instance.name, "description": instance.description}
            )
        super().__init__(*args, **kwargs)
        granted = set(instance.permissions) if instance is not None else set()
        for module in MODULES.values():
            self.fields[f"rights_{module.code}"] = forms.MultipleChoiceField(
                label=module.label,
                choices=[(f"{module.code}.{action}", label) for action, label in module.actions],
                required=False,
                initial=[
                    f"{module.code}.{action}"
                    for action, _l in module.actions
                    if f"{module.code}.{action}" in granted
                ],
                widget=forms.CheckboxSelectMultiple,
            )

    def rights_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("rights_")]

    def chosen_permissions(self) -> list[str]:
        return [
            code
            for name, value in self.cleaned_data.items()
            if name.startswith("rights_")
            for code in value
        ]
