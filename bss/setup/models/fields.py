"""Systemic value lists and custom field definitions per entity."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.entities import ENTITY_CHOICES


class SystemFieldValue(models.Model):
    """One value of an out-of-the-box choice field (industry, lead source, case category…)."""

    entity = models.CharField(_("entity"), max_length=30, choices=ENTITY_CHOICES)
    field = models.CharField(_("field"), max_length=50)
    value = models.CharField(_("value"), max_length=50)
    label = models.CharField(_("description"), max_length=200)
    order_no = models.PositiveIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["entity", "field", "order_no", "label"]
        verbose_name = _("value of a system field")
        verbose_name_plural = _("values of system fields")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "field", "value"], name="setup_systemfieldvalue_unique"
            ),
            models.UniqueConstraint(
                fields=["entity", "field"],
                condition=models.Q(is_default=True),
                name="setup_systemfieldvalue_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class CustomFieldDefinition(models.Model):
    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        INTEGER = "integer", _("Integer")
        DECIMAL = "decimal", _("Decimal")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/No")
        CHOICE = "choice", _("Single choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        EMAIL = "email", _("Email")
        URL = "url", _("URL")

    entity = models.CharField(_("entity"), max_length=30, choices=ENTITY_CHOICES)
    code = models.SlugField(
        _("key"), max_length=50, help_text=_("Key in the record's custom data; never changes.")
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    group = models.CharField(_("group"), max_length=100, default="Custom fields")
    ordering = models.PositiveIntegerField(_("ordering"), default=0)
    suffix = models.CharField(_("value suffix"), max_length=20, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_required = models.BooleanField(_("required"), default=False)
    default_value = models.JSONField(_("default value"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    is_search_criterion = models.BooleanField(_("search criterion"), default=False)
    display_rule = models.JSONField(
        _("display rule"),
        default=dict,
        blank=True,
        help_text=_(
            'Show only when a field of the account has one of the values: {"field": ..., "values": [...]}'
        ),
    )
    provisioning_code = models.PositiveIntegerField(
        _("code for provisioning system"), null=True, blank=True, unique=True
    )
    show_in_storefront = models.BooleanField(_("show in Storefront"), default=False)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Removed fields are hidden; stored values stay until purged."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity", "group", "ordering", "label"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "code"], name="setup_customfield_code_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    field_type__in=[
                        "text",
                        "long_text",
                        "integer",
                        "decimal",
                        "date",
                        "boolean",
                        "choice",
                        "multi_choice",
                        "email",
                        "url",
                    ]
                ),
                name="setup_customfield_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()}: {self.label}"

    def get_absolute_url(self) -> str:
        return reverse("setup:custom_field_edit", kwargs={"pk": self.pk})
