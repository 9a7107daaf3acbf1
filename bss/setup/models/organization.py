"""The organization running the BSS, its currencies and their exchange rates."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core import money


class Currency(models.Model):
    """A currency the organization may use; minor units come from Babel, never typed in."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=100)
    culture = models.CharField(
        _("display culture"),
        max_length=20,
        default="en_US",
        help_text=_("Babel locale, e.g. el_GR or de_DE."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("setup:currency_detail", args=[self.code])

    @property
    def minor_units(self) -> int:
        return money.minor_units(self.code)


class ExchangeRate(models.Model):
    """How many units of the home currency one unit of ``currency`` is worth from a date on."""

    currency = models.ForeignKey(
        Currency, verbose_name=_("currency"), on_delete=models.CASCADE, related_name="rates"
    )
    rate = models.DecimalField(_("rate to home currency"), max_digits=20, decimal_places=8)
    valid_from = models.DateField(_("valid from"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"], name="setup_exchangerate_one_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gt=0), name="setup_exchangerate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id} {self.rate} from {self.valid_from}"


class Organization(models.Model):
    """The single organization profile (row id 1)."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=50, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    logo = models.ImageField(_("logo"), upload_to="organization/", blank=True)
    home_currency = models.ForeignKey(
        Currency,
        verbose_name=_("home currency"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    default_language = models.CharField(_("default language"), max_length=10, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    date_format = models.CharField(_("date format"), max_length=20, default="dd/MM/yyyy")
    number_locale = models.CharField(_("number format"), max_length=20, default="en_US")
    file_space_mb = models.PositiveIntegerField(_("file space allowance (MB)"), default=10240)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organization profile")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="setup_organization_singleton")
        ]

    def __str__(self) -> str:
        return self.legal_name
