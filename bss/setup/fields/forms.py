"""Forms: custom fields on entity forms, the custom field editor, the value-list editor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bss.core.custom_fields import CustomField
from bss.core.entities import ENTITY_CHOICES
from bss.setup.fields.selectors import active_custom_fields
from bss.setup.fields.services import display_rule_fields
from bss.setup.fields.values import validate_custom_data
from bss.setup.models import CustomFieldDefinition


def _rule_note(custom_field: CustomField, rule_labels: dict[str, str]) -> str:
    rule = custom_field.display_rule
    if not rule.get("field"):
        return ""
    return _t("Only for accounts whose %(field)s is %(values)s.") % {
        "field": rule_labels.get(rule["field"], rule["field"]),
        "values": " / ".join(rule.get("values", [])),
    }


def form_field_for(custom_field: CustomField, *, help_text: str = "") -> forms.Field:
    """The form field of one custom field; required only when no display rule can hide it."""
    required = (
        custom_field.is_required
        and not custom_field.display_rule.get("field")
        and custom_field.field_type != "boolean"
    )
    options: dict[str, Any] = {
        "label": custom_field.label,
        "required": required,
        "help_text": help_text,
        "error_messages": {
            "required": _t("%(label)s is required.") % {"label": custom_field.label}
        },
    }
    choices = [(choice, choice) for choice in custom_field.choices]
    field_type = custom_field.field_type
    if field_type == "long_text":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **options)
    if field_type == "integer":
        return forms.IntegerField(**options)
    if field_type == "decimal":
        return forms.DecimalField(**options)
    if field_type == "date":
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **options
        )
    if field_type == "boolean":
        return forms.BooleanField(**options)
    if field_type == "choice":
        return forms.ChoiceField(choices=[("", "---------"), *choices], **options)
    if field_type == "multi_choice":
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **options
        )
    if field_type == "email":
        return forms.EmailField(**options)
    if field_type == "url":
        return forms.URLField(assume_scheme="https", **options)
    return forms.CharField(max_length=255, **options)


class CustomFieldsFormMixin:
    """Adds an entity's active custom fields to a form, grouped and ordered as defined.

    The form calls ``add_custom_fields`` in ``__init__`` and ``clean_custom_data`` in
    ``clean``; ``custom_data_input`` then holds the values for the entity's service,
    which validates them again with the same function.
    """

    custom_field_entity = ""
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_custom_fields(self, *, stored: dict[str, Any] | None) -> None:
        self.custom_fields = active_custom_fields(self.custom_field_entity)
        self.custom_data_input: dict[str, Any] = {}
        rule_labels = (
            dict(display_rule_fields())
            if any(field.display_rule.get("field") for field in self.custom_fields)
            else {}
        )
        for custom_field in self.custom_fields:
            help_text = " ".join(
                part
                for part in (custom_field.description, _rule_note(custom_field, rule_labels))
                if part
            )
            form_field = form_field_for(custom_field, help_text=help_text)
            value = (
                stored.get(custom_field.code) if stored is not None else custom_field.default_value
            )
            form_field.initial = custom_field.python_value(value)
            self.fields[custom_field.filter_name] = form_field

    def custom_field_names(self) -> set[str]:
        return {custom_field.filter_name for custom_field in self.custom_fields}

    def system_field_rows(self) -> list[forms.BoundField]:
        names = self.custom_field_names()
        return [self[name] for name in self.fields if name not in names]  # type: ignore[index]

    def custom_field_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        groups: dict[str, list[forms.BoundField]] = {}
        for custom_field in self.custom_fields:
            groups.setdefault(custom_field.group, []).append(
                self[custom_field.filter_name]  # type: ignore[index]
            )
        return list(groups.items())

    def clean_custom_data(
        self, *, account_context: dict[str, Any] | None, existing: dict[str, Any] | None
    ) -> None:
        failed = set(self.errors)  # type: ignore[attr-defined]
        data = {
            custom_field.code: self.cleaned_data.get(custom_field.filter_name)
            for custom_field in self.custom_fields
            if custom_field.filter_name not in failed
        }
        try:
            validate_custom_data(
                self.custom_field_entity, data, account_context=account_context, existing=existing
            )
        except ValidationError as invalid:
            for code, messages in invalid.message_dict.items():
                name = f"cf_{code}"
                if name in failed:
                    continue
                self.add_error(name if name in self.fields else None, messages)  # type: ignore[attr-defined]
        self.custom_data_input = data


class CustomFieldDefinitionForm(forms.Form):
    entity = forms.ChoiceField(label=_("Entity"), choices=ENTITY_CHOICES)
    label = forms.CharField(label=_("Label"), max_length=100)
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldDefinition.FieldType.choices)
    code = forms.SlugField(
        label=_("Key"),
        max_length=50,
        required=False,
        help_text=_("Used in the API and in imports; made from the label when left empty."),
    )
    group = forms.CharField(
        label=_("Group"),
        max_length=100,
        initial="Custom fields",
        help_text=_("The form section the field appears in."),
    )
    ordering = forms.IntegerField(label=_("Ordering"), min_value=0, initial=10)
    suffix = forms.CharField(
        label=_("Value suffix"), max_length=20, required=False, help_text=_("e.g. GB, users, €")
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For single and multiple choice: one choice per line."),
    )
    default_value = forms.CharField(
        label=_("Default value"),
        max_length=255,
        required=False,
        help_text=_(
            "Filled in on new records. Dates as YYYY-MM-DD, yes/no for Yes/No fields, "
            "several choices separated by commas."
        ),
    )
    is_required = forms.BooleanField(label=_("Required"), required=False)
    is_search_criterion = forms.BooleanField(
        label=_("Search criterion (list filter and global search)"), required=False
    )
    show_in_storefront = forms.BooleanField(label=_("Show in Storefront"), required=False)
    display_rule_field = forms.ChoiceField(
        label=_("Display rule: account attribute"),
        required=False,
        help_text=_("Show the field only when this attribute of the account matches."),
    )
    display_rule_values = forms.CharField(
        label=_("Display rule: values"),
        max_length=500,
        required=False,
        help_text=_("Values of the attribute that show the field, separated by commas."),
    )
    provisioning_code = forms.IntegerField(
        label=_("Code for provisioning system"),
        min_value=1,
        required=False,
        help_text=_("A numeric code, e.g. 1245, when the field is exchanged with a vendor API."),
    )

    def __init__(
        self, *args: Any, instance: CustomFieldDefinition | None = None, **kwargs: Any
    ) -> None:
        self.instance = instance
        if instance is not None:
            default = instance.default_value
            kwargs.setdefault(
                "initial",
                {
                    "entity": instance.entity,
                    "label": instance.label,
                    "field_type": instance.field_type,
                    "code": instance.code,
                    "group": instance.group,
                    "ordering": instance.ordering,
                    "suffix": instance.suffix,
                    "description": instance.description,
                    "choices": "\n".join(instance.choices or []),
                    "default_value": ", ".join(default)
                    if isinstance(default, list)
                    else ("yes" if default is True else "no" if default is False else default),
                    "is_required": instance.is_required,
                    "is_search_criterion": instance.is_search_criterion,
                    "show_in_storefront": instance.show_in_storefront,
                    "display_rule_field": (instance.display_rule or {}).get("field", ""),
                    "display_rule_values": ", ".join(
                        (instance.display_rule or {}).get("values", [])
                    ),
                    "provisioning_code": instance.provisioning_code,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["display_rule_field"].choices = [
            ("", _("Always show")),
            *[
                (name, label)
                for name, label in display_rule_fields()
                if instance is None or name != instance.code
            ],
        ]
        if instance is not None:
            for name in ("entity", "field_type", "code"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def clean_code(self) -> str:
        return (self.cleaned_data.get("code") or "").replace("-", "_")

    def attributes(self) -> dict[str, Any]:
        """The service's keyword arguments for the changeable attributes."""
        data = self.cleaned_data
        field_type = self.instance.field_type if self.instance else data["field_type"]
        default: Any = data["default_value"].strip() or None
        if default is not None and field_type == "multi_choice":
            default = [part.strip() for part in default.split(",") if part.strip()]
        rule_values = [
            part.strip() for part in data["display_rule_values"].split(",") if part.strip()
        ]
        return {
            "label": data["label"],
            "group": data["group"],
            "ordering": data["ordering"],
            "suffix": data["suffix"],
            "description": data["description"],
            "choices": [line.strip() for line in data["choices"].splitlines() if line.strip()],
            "default_value": default,
            "is_required": data["is_required"],
            "is_search_criterion": data["is_search_criterion"],
            "show_in_storefront": data["show_in_storefront"],
            "display_rule": (
                {"field": data["display_rule_field"], "values": rule_values}
                if data["display_rule_field"]
                else {}
            ),
            "provisioning_code": data["provisioning_code"],
        }


class PurgeConfirmForm(forms.Form):
    confirm_code = forms.CharField(label=_("Type the field's key to confirm"), max_length=50)

    def __init__(self, *args: Any, code: str, **kwargs: Any) -> None:
        self.code = code
        super().__init__(*args, **kwargs)

    def clean_confirm_code(self) -> str:
        typed = self.cleaned_data["confirm_code"].strip()
        if typed != self.code:
            raise forms.ValidationError(_("Type %(code)s exactly to purge.") % {"code": self.code})
        return typed


class SystemValueForm(forms.Form):
    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    value = forms.CharField(
        label=_("Key"),
        max_length=50,
        required=False,
        help_text=_("Made from the description when left empty."),
    )
    label = forms.CharField(label=_("Description"), max_length=200, required=False)
    order_no = forms.IntegerField(label=_("Order"), min_value=0, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def is_new_and_blank(self) -> bool:
        data = self.cleaned_data
        return not data.get("pk") and not data.get("label") and not data.get("value")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("pk") or data.get("value")) and not data.get("label"):
            self.add_error("label", _("A value needs a description."))
        return data


SystemValueFormSet = forms.formset_factory(SystemValueForm, extra=3)
