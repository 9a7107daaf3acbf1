"""Offers (quotes): statuses, offers with items, the print-out template, customer responses.

An offer is priced like an order (same resolver, same totals) but executes nothing: once
the customer accepts it, it converts into an order exactly once
(``Offer.converted_order``). Customers see it through a signed, expiring link and accept
or decline there; the response is stored on the offer with its time, address and name.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.constraints import choices_constraint
from bss.core.models import OwnedRecord, TimeStampedModel

MONEY_DIGITS = 14
UNIT_PRICE_PLACES = 4


class OfferStatusType(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    ACCEPTED = "accepted", _("Accepted")
    LOST = "lost", _("Lost")


class OfferStatus(TimeStampedModel):
    Type = OfferStatusType

    name = models.CharField(_("name"), max_length=100, unique=True)
    status_type = models.CharField(_("type"), max_length=20, choices=OfferStatusType.choices)
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default of its type"),
        default=False,
        help_text=_(
            "New offers start in the default in-progress status; responses move "
            "offers to the default accepted or lost status."
        ),
    )
    is_draft = models.BooleanField(
        _("not yet sent"),
        default=False,
        help_text=_("Sharing an offer in this status moves it to the default in-progress status."),
    )
    color = models.CharField(_("colour"), max_length=7, default="#6c757d")
    position = models.PositiveIntegerField(_("position"), default=0)

    visibility_public = True

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("offer status")
        verbose_name_plural = _("offer statuses")
        constraints = [
            choices_constraint("status_type", OfferStatusType, "offers_offerstatus_type_valid"),
            models.UniqueConstraint(
                fields=["status_type"],
                condition=Q(is_default=True),
                name="offers_offerstatus_one_default_per_type",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(is_active=True),
                name="offers_offerstatus_default_is_active",
            ),
            models.CheckConstraint(
                condition=Q(is_draft=False) | (Q(status_type="in_progress") & Q(is_default=False)),
                name="offers_offerstatus_draft_is_in_progress",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("offers:status_edit", kwargs={"pk": self.pk})


class BillingPlan(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")
    TRIENNIAL = "triennial", _("Triennial")


class Response(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Offer(OwnedRecord):
    BillingPlan = BillingPlan
    Response = Response

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="offers",
    )
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing to"),
        on_delete=models.PROTECT,
        related_name="billed_offers",
    )
    currency = models.CharField(_("currency"), max_length=3)
    price_list = models.ForeignKey(
        "catalogue.PriceList",
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    billing_plan = models.CharField(
        _("billing plan"), max_length=20, choices=BillingPlan.choices, default=BillingPlan.MONTHLY
    )
    offer_date = models.DateField(_("offer date"))
    valid_until = models.DateField(_("valid until"))
    status = models.ForeignKey(
        OfferStatus, verbose_name=_("status"), on_delete=models.PROTECT, related_name="offers"
    )
    permission_rule = models.ForeignKey(
        "setup.PermissionRule",
        verbose_name=_("permission rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    terms = models.TextField(
        _("terms"), blank=True, help_text=_("Empty: the terms of the offer template.")
    )
    notes = models.TextField(_("internal notes"), blank=True)
    copied_from = models.ForeignKey(
        "self",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    converted_order = models.OneToOneField(
        "orders.Order",
        verbose_name=_("converted to order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="source_offer",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)

    shared_at = models.DateTimeField(_("shared"), null=True, blank=True)
    link_key = models.CharField(max_length=32, blank=True, editable=False)
    link_expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    response = models.CharField(
        _("customer response"), max_length=20, choices=Response.choices, blank=True
    )
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    responder_name = models.CharField(_("responded by"), max_length=200, blank=True)
    responder_ip = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    response_note = models.TextField(_("customer's note"), blank=True)

    net_total = models.DecimalField(_("net"), max_digits=MONEY_DIGITS, decimal_places=4, default=0)
    discount_total = models.DecimalField(
        _("discounts"), max_digits=MONEY_DIGITS, decimal_places=4, default=0
    )
    tax_total = models.DecimalField(_("tax"), max_digits=MONEY_DIGITS, decimal_places=4, default=0)
    gross_total = models.DecimalField(
        _("total"), max_digits=MONEY_DIGITS, decimal_places=4, default=0
    )
    monthly_run_rate = models.DecimalField(
        _("monthly run rate"), max_digits=MONEY_DIGITS, decimal_places=4, default=0
    )

    visibility_rule_field = "permission_rule"

    class Meta:
        ordering = ["-offer_date", "-pk"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            choices_constraint("billing_plan", BillingPlan, "offers_offer_billing_plan_valid"),
            models.CheckConstraint(
                condition=Q(response="") | Q(response__in=Response.values),
                name="offers_offer_response_valid",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("offer_date")),
                name="offers_offer_valid_after_date",
                violation_error_message=_("An offer cannot expire before its date."),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("offers:detail", kwargs={"pk": self.pk})


class OfferItem(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("position"), default=0)
    parent_item = models.ForeignKey(
        "self",
        verbose_name=_("add-on of"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="addon_items",
    )
    product = models.ForeignKey(
        "catalogue.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    plan = models.ForeignKey(
        "catalogue.ProductPlan",
        verbose_name=_("billing plan"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    list_unit_price = models.DecimalField(
        _("list unit price"), max_digits=MONEY_DIGITS, decimal_places=UNIT_PRICE_PLACES
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=MONEY_DIGITS, decimal_places=UNIT_PRICE_PLACES
    )
    is_price_overridden = models.BooleanField(_("price overridden"), default=False)
    price_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("price overridden by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    price_list = models.ForeignKey(
        "catalogue.PriceList",
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    discount_percent = models.DecimalField(
        _("discount %"), max_digits=5, decimal_places=2, default=0
    )
    promotion = models.ForeignKey(
        "catalogue.Promotion",
        verbose_name=_("promotion"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    promotion_discount = models.DecimalField(
        _("promotion discount"), max_digits=MONEY_DIGITS, decimal_places=4, default=0
    )
    friendly_name = models.CharField(_("friendly name"), max_length=200, blank=True)

    visibility_owner_field = "offer__owner"
    visibility_rule_field = "offer__permission_rule"

    class Meta:
        ordering = ["offer", "position", "pk"]
        verbose_name = _("offer item")
        verbose_name_plural = _("offer items")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="offers_offeritem_discount_range",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="offers_offeritem_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer.number} #{self.position} {self.product.name}"


class OfferTemplate(TimeStampedModel):
    """The organization's print-out of offers: one row, edited in setup with a live preview."""

    SINGLETON_PK = 1

    primary_color = models.CharField(_("main colour"), max_length=7, default="#1f3a5f")
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#2f80ed")
    show_logo = models.BooleanField(_("show the organization's logo"), default=True)
    header_text = models.TextField(
        _("header text"),
        blank=True,
        default="Thank you for your interest. We are pleased to offer the following services.",
    )
    footer_text = models.TextField(_("footer text"), blank=True)
    terms = models.TextField(
        _("standard terms"),
        blank=True,
        default=(
            "Prices are per billing period and exclude taxes unless stated. Subscriptions renew "
            "automatically at the end of each term unless cancelled. Payment is due within the "
            "terms agreed on your account."
        ),
    )
    show_signature_block = models.BooleanField(_("signature block"), default=True)

    class Meta:
        verbose_name = _("offer template")
        verbose_name_plural = _("offer templates")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="offers_offertemplate_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Offer template"))
