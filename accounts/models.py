"""Customers: the accounts every order, subscription and invoice hangs on."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.models import OwnedRecord


class Account(OwnedRecord):
    class Type(models.TextChoices):
        DIRECT = "direct", _("Direct customer")
        RESELLER = "reseller", _("Reseller")
        CLIENT = "client", _("Reseller's client")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    account_type = models.CharField(
        _("type"), max_length=20, choices=Type.choices, default=Type.DIRECT
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent reseller"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clients",
        limit_choices_to={"account_type": "reseller"},
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    permission_rule = models.ForeignKey(
        "setup.PermissionRule",
        verbose_name=_("permission rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    visibility_rule_field = "permission_rule"

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account_type__in=["direct", "reseller", "client"]),
                name="accounts_account_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "inactive"]),
                name="accounts_account_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(account_type="client", parent__isnull=False)
                | (~models.Q(account_type="client") & models.Q(parent__isnull=True)),
                name="accounts_account_parent_matches_type",
                violation_error_message=_(
                    "A reseller's client needs its parent reseller; other accounts have no parent."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:detail", kwargs={"pk": self.pk})
