"""Forms of the email preferences and the template editor; the services validate the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from notifications.conditions import OPERATORS
from notifications.event_catalogue import event_choices
from notifications.merge_fields import MergeField, entity_choices
from notifications.models import (
    ApplyRule,
    Attachment,
    EmailProtocol,
    EmailSettings,
    NotificationTemplate,
    SmtpSecurity,
    Trigger,
    WhenToSend,
)
from notifications.recipients import KINDS, ROLES
from notifications.services import TextInput

SAVED_SECRET_HELP = _("Saved — leave blank to keep it.")
SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
EXTRA_CONDITION_ROWS = 3


class EmailSettingsForm(forms.Form):
    protocol = forms.ChoiceField(label=_("Protocol"), choices=EmailProtocol.choices)
    sender_email = forms.EmailField(label=_("Email address"), required=False)
    sender_name = forms.CharField(label=_("Sender name"), required=False, max_length=200)
    smtp_host = forms.CharField(
        label=_("Mail server"),
        required=False,
        max_length=255,
        help_text=_("Standard SMTP; for Google empty means smtp.gmail.com."),
    )
    smtp_port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=587)
    smtp_security = forms.ChoiceField(label=_("Security"), choices=SmtpSecurity.choices)
    smtp_username = forms.CharField(
        label=_("User name"),
        required=False,
        max_length=255,
        help_text=_("Empty: the email address."),
    )
    smtp_password = forms.CharField(
        label=_("Email password"), required=False, strip=False, widget=SECRET_WIDGET
    )
    client_id = forms.CharField(label=_("Client id"), required=False, max_length=255)
    tenant_id = forms.CharField(
        label=_("Tenant id"), required=False, max_length=255, help_text=_("Office 365 only.")
    )
    client_secret = forms.CharField(
        label=_("Client secret"), required=False, strip=True, widget=SECRET_WIDGET
    )

    def __init__(self, *args: Any, channel: EmailSettings, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "protocol": channel.protocol,
                "sender_email": channel.sender_email,
                "sender_name": channel.sender_name,
                "smtp_host": channel.smtp_host,
                "smtp_port": channel.smtp_port,
                "smtp_security": channel.smtp_security,
                "smtp_username": channel.smtp_username,
                "client_id": channel.client_id,
                "tenant_id": channel.tenant_id,
            },
        )
        super().__init__(*args, **kwargs)
        if channel.has_password:
            self.fields["smtp_password"].help_text = SAVED_SECRET_HELP
        if channel.has_client_secret:
            self.fields["client_secret"].help_text = SAVED_SECRET_HELP

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        # A blank secret keeps the stored one: it is never sent back to the browser.
        data["smtp_password"] = data.get("smtp_password") or None
        data["client_secret"] = data.get("client_secret") or None
        return data


def _recipient_choices() -> list[tuple[str, Any]]:
    from bss.setup.models import Role, User

    users = [
        (f"user:{pk}", f"{first} {last}".strip() or email)
        for pk, first, last, email in User.objects.filter(is_active=True)
        .order_by("first_name", "last_name", "email")
        .values_list("pk", "first_name", "last_name", "email")
    ]
    groups = [
        (f"group:{pk}", name)
        for pk, name in Role.objects.order_by("name").values_list("pk", "name")
    ]
    return [
        (_("Roles"), list(ROLES)),
        (_("Internal users"), users),
        (_("Groups"), groups),
    ]


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.SlugField(
        label=_("Code"), max_length=80, required=False, help_text=_("Empty: made from the name.")
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    is_internal = forms.BooleanField(label=_("Internal notification"), required=False)
    trigger = forms.ChoiceField(label=_("Send on"), choices=Trigger.choices)
    event_name = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=event_choices,
        help_text=_("For “a named event”."),
    )
    when_to_send = forms.ChoiceField(label=_("When to send"), choices=WhenToSend.choices)
    apply_rule = forms.ChoiceField(label=_("Apply rule"), choices=ApplyRule.choices)
    from_address = forms.CharField(
        label=_("From"),
        required=False,
        max_length=254,
        help_text=_("Empty: the sender of the email preferences."),
    )
    attachment = forms.ChoiceField(
        label=_("Attachment"), choices=Attachment.choices, required=False
    )

    def __init__(
        self,
        *args: Any,
        entity: str,
        merge_fields: list[MergeField],
        template: NotificationTemplate | None = None,
        **kwargs: Any,
    ) -> None:
        self.entity = entity
        self.template = template
        self.merge_fields = merge_fields
        if template is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(template)
        super().__init__(*args, **kwargs)
        recipient_choices = _recipient_choices()
        for kind, label in zip(KINDS, (_("To"), _("Cc"), _("Bcc")), strict=True):
            self.fields[f"{kind}_entries"] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=recipient_choices,
                widget=forms.SelectMultiple(attrs={"size": 6}),
            )
            self.fields[f"{kind}_emails"] = forms.CharField(
                label=_("%(kind)s: fixed addresses") % {"kind": label},
                required=False,
                help_text=_("Separated by commas."),
            )
        for code, name in settings.LANGUAGES:
            self.fields[f"subject_{code}"] = forms.CharField(
                label=_("Subject (%(language)s)") % {"language": name},
                required=False,
                max_length=300,
            )
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Body, HTML (%(language)s)") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 12, "class": "font-monospace"}),
            )
        field_choices = [
            ("", "—"),
            *[(field.code, f"{field.group}: {field.label}") for field in merge_fields],
        ]
        existing = len(template.conditions) if template is not None else 0
        for number in range(existing + EXTRA_CONDITION_ROWS):
            self.fields[f"condition_{number}_field"] = forms.ChoiceField(
                label=_("Field"), choices=field_choices, required=False
            )
            self.fields[f"condition_{number}_operator"] = forms.ChoiceField(
                label=_("Operator"), choices=[("", "—"), *OPERATORS], required=False
            )
            self.fields[f"condition_{number}_value"] = forms.CharField(
                label=_("Value"), required=False
            )
        self.condition_count = existing + EXTRA_CONDITION_ROWS
        if template is not None:
            del self.fields["code"]

    @staticmethod
    def initial_from(template: NotificationTemplate) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": template.name,
            "description": template.description,
            "is_active": template.is_active,
            "is_internal": template.is_internal,
            "trigger": template.trigger,
            "event_name": template.event_name,
            "when_to_send": template.when_to_send,
            "apply_rule": template.apply_rule,
            "from_address": template.from_address,
            "attachment": template.attachment,
        }
        for kind in KINDS:
            entries = template.recipients.get(kind) or []
            initial[f"{kind}_entries"] = [e for e in entries if not e.startswith("email:")]
            initial[f"{kind}_emails"] = ", ".join(
                e.split(":", 1)[1] for e in entries if e.startswith("email:")
            )
        for text in template.texts.all():
            initial[f"subject_{text.language}"] = text.subject
            initial[f"body_{text.language}"] = text.body_html
        for number, row in enumerate(template.conditions):
            initial[f"condition_{number}_field"] = row.get("field", "")
            initial[f"condition_{number}_operator"] = row.get("operator", "")
            initial[f"condition_{number}_value"] = row.get("value", "")
        return initial

    def condition_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (
                self[f"condition_{number}_field"],
                self[f"condition_{number}_operator"],
                self[f"condition_{number}_value"],
            )
            for number in range(self.condition_count)
        ]

    def language_rows(self) -> list[tuple[str, str, Any, Any]]:
        return [
            (code, name, self[f"subject_{code}"], self[f"body_{code}"])
            for code, name in settings.LANGUAGES
        ]

    def recipient_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"{kind}_entries"], self[f"{kind}_emails"]) for kind in KINDS]

    def texts(self) -> list[TextInput]:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return [
            TextInput(
                language=code,
                subject=data.get(f"subject_{code}", "") or "",
                body_html=data.get(f"body_{code}", "") or "",
            )
            for code, _name in settings.LANGUAGES
        ]

    def conditions(self) -> list[dict[str, str]]:
        rows = []
        for number in range(self.condition_count):
            field = self.cleaned_data.get(f"condition_{number}_field") or ""
            operator = self.cleaned_data.get(f"condition_{number}_operator") or ""
            value = self.cleaned_data.get(f"condition_{number}_value") or ""
            if field or operator or value:
                rows.append({"field": field, "operator": operator, "value": value})
        return rows

    def recipients(self) -> dict[str, list[str]]:
        result = {}
        for kind in KINDS:
            entries = list(self.cleaned_data.get(f"{kind}_entries") or [])
            emails = self.cleaned_data.get(f"{kind}_emails") or ""
            entries += [
                f"email:{address.strip()}" for address in emails.split(",") if address.strip()
            ]
            result[kind] = entries
        return result

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        code = data.get("code") or slugify(data["name"])[:80]
        arguments = {
            "entity": self.entity,
            "name": data["name"],
            "description": data.get("description", ""),
            "is_active": data.get("is_active", False),
            "is_internal": data.get("is_internal", False),
            "trigger": data["trigger"],
            "event_name": data.get("event_name", ""),
            "when_to_send": data["when_to_send"],
            "apply_rule": data["apply_rule"],
            "from_address": data.get("from_address", ""),
            "attachment": data.get("attachment", ""),
            "conditions": self.conditions(),
            "recipients": self.recipients(),
            "texts": self.texts(),
        }
        if self.template is None:
            arguments["code"] = code
        else:
            arguments["code"] = self.template.code
        return arguments


class EntityChoiceForm(forms.Form):
    entity = forms.ChoiceField(label=_("Entity"), choices=entity_choices)
