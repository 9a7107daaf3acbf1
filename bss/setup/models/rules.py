"""Permission rules: which records, beyond their own, a user may see and change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.entities import ENTITY_CHOICES


class PermissionRule(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("permission rule")
        verbose_name_plural = _("permission rules")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("setup:rule_edit", kwargs={"pk": self.pk})


class RuleModule(models.Model):
    """The rule may be put on records of this entity; ``is_default`` pre-selects it."""

    rule = models.ForeignKey(PermissionRule, on_delete=models.CASCADE, related_name="modules")
    entity = models.CharField(_("entity"), max_length=30, choices=ENTITY_CHOICES)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "entity"], name="setup_rulemodule_once"),
            models.UniqueConstraint(
                fields=["entity"],
                condition=models.Q(is_default=True),
                name="setup_rulemodule_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} → {self.entity}"


class Access(models.TextChoices):
    READ_ONLY = "read", _("Read-only")
    EDIT = "edit", _("Edit")
    FULL = "full", _("Full access")


class RuleGrant(models.Model):
    """A user or a group gets an access level on every record carrying the rule."""

    rule = models.ForeignKey(PermissionRule, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.ForeignKey(
        "setup.Role", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    access = models.CharField(
        _("access"), max_length=10, choices=Access.choices, default=Access.READ_ONLY
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(role__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(role__isnull=False)),
                name="setup_rulegrant_user_xor_role",
            ),
            models.CheckConstraint(
                condition=models.Q(access__in=["read", "edit", "full"]),
                name="setup_rulegrant_access_valid",
            ),
            models.UniqueConstraint(
                fields=["rule", "user"],
                condition=models.Q(user__isnull=False),
                name="setup_rulegrant_user_once",
            ),
            models.UniqueConstraint(
                fields=["rule", "role"],
                condition=models.Q(role__isnull=False),
                name="setup_rulegrant_role_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.user or self.role} ({self.access})"


class RuleSharing(models.Model):
    """Who may pick this rule when creating a record."""

    rule = models.ForeignKey(PermissionRule, on_delete=models.CASCADE, related_name="sharing")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.ForeignKey(
        "setup.Role", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(role__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(role__isnull=False)),
                name="setup_rulesharing_user_xor_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} usable by {self.user or self.role}"
