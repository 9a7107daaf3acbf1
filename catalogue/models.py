"""The catalogue: what can be sold, how it is billed, and at which price.

Pricing is split in two levels. A ``ProductPlan`` is one way to buy a product (billing
cycle + commitment term + charge type) and carries the billing settings that do not
depend on money (proration, billing day, renewal, trial, price protection). A
``ProductPrice`` is the price of one plan in one currency. So "one price per product,
currency and plan" is the unique (plan, currency) pair, and a trial or a billing day is
set once per plan instead of once per currency.

Currencies are stored as their ISO code (like ``Account.currency``): every money helper
takes the code, and the services check it against the organization's active currencies
when a price, price list or promotion is written. Deactivating a currency later leaves
existing prices readable.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.constraints import choices_constraint
from bss.core.models import OwnedRecord, TimeStampedModel

MONEY_DIGITS = 18
UNIT_PRICE_PLACES = 4
PERCENT_DIGITS = 7
PERCENT_PLACES = 4


def _money_field(label: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=MONEY_DIGITS, decimal_places=UNIT_PRICE_PLACES, **kwargs
    )


# ---------------------------------------------------------------------------- categories


class Category(TimeStampedModel):
    """A node of the Storefront navigation tree; a product sits in at most one."""

    name = models.CharField(_("name"), max_length=150)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    description = models.TextField(_("description"), blank=True)
    publish_to_storefront = models.BooleanField(_("publish to Storefront"), default=False)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="catalogue_category_name_once"),
            # NULL parents never collide in a plain unique index, so roots need their own.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="catalogue_category_root_name_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:category_edit", kwargs={"pk": self.pk})


# ------------------------------------------------------------------------- product types


class ProductTypeCategory(models.TextChoices):
    COMMON = "common", _("Common (subscription or one-off)")
    ASSET = "asset", _("Asset")


class ProductType(TimeStampedModel):
    """A service family: provisioning connector, tax code and customer-request policy."""

    TypeCategory = ProductTypeCategory

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    integration = models.CharField(
        _("integration"),
        max_length=100,
        blank=True,
        help_text=_("Code of the connector that provisions this type; empty for manual."),
    )
    type_category = models.CharField(
        _("type category"), max_length=20, choices=TypeCategory.choices, default=TypeCategory.COMMON
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    tax_code = models.CharField(_("tax code"), max_length=60, blank=True)

    auto_exec_subscription_cancel = models.BooleanField(
        _("automatic execution of subscription cancellation requests"), default=False
    )
    auto_exec_addon_cancel = models.BooleanField(
        _("automatic execution of add-on cancellation requests"), default=False
    )
    auto_exec_threshold_amount = _money_field(
        _("automatic execution amount threshold"),
        null=True,
        blank=True,
        help_text=_("Cancellation requests above this amount wait for a person; empty = no limit."),
    )
    auto_exec_downgrade = models.BooleanField(
        _("automatic execution of downgrade requests"), default=False
    )
    non_auto_new_orders = models.BooleanField(
        _("non-automatic execution of new orders"),
        default=False,
        help_text=_("Orders with products of this type wait for the operations team."),
    )

    cancellation_window_hours = models.PositiveIntegerField(
        _("cancellation window (hours)"), default=0, help_text=_("0 = no window.")
    )
    full_refund_hours = models.PositiveIntegerField(_("full refund within (hours)"), default=0)
    allow_partial_cancellation = models.BooleanField(
        _("partial cancellation allowed"), default=True
    )
    offer_cancel_immediate = models.BooleanField(_("offer immediate cancellation"), default=True)
    offer_cancel_specific_date = models.BooleanField(
        _("offer cancellation on a specific date"), default=True
    )
    offer_cancel_end_of_period = models.BooleanField(
        _("offer cancellation at the end of the billing period"), default=True
    )
    proration_method = models.CharField(
        _("proration"),
        max_length=20,
        blank=True,
        choices=[
            ("", _("Organization default")),
            ("actual_days", _("Actual days of the period")),
            ("thirty_day", _("Fixed 30-day months")),
            ("none", _("No proration (full periods)")),
        ],
        default="",
    )
    refund_basis = models.CharField(
        _("refund proration"),
        max_length=10,
        choices=[("daily", _("Daily")), ("hourly", _("Hourly"))],
        default="daily",
        help_text=_("How a refund inside the cancellation window is prorated."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product type")
        verbose_name_plural = _("product types")
        constraints = [
            choices_constraint(
                "type_category", ProductTypeCategory, "catalogue_producttype_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(auto_exec_threshold_amount__isnull=True)
                | Q(auto_exec_threshold_amount__gte=0),
                name="catalogue_producttype_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cancellation_window_hours=0)
                | Q(full_refund_hours__lte=F("cancellation_window_hours")),
                name="catalogue_producttype_refund_inside_window",
            ),
            models.CheckConstraint(
                condition=Q(offer_cancel_immediate=True)
                | Q(offer_cancel_specific_date=True)
                | Q(offer_cancel_end_of_period=True),
                name="catalogue_producttype_offers_a_cancel_timing",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:product_type_edit", kwargs={"pk": self.pk})


# ------------------------------------------------------------------------------ products


class ProductKind(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    ADDON = "addon", _("Add-on")
    BUNDLE = "bundle", _("Bundle")


class ProductStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class Product(TimeStampedModel):
    Kind = ProductKind
    Status = ProductStatus

    kind = models.CharField(_("define product as"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    description = models.TextField(_("description"), blank=True)
    product_type = models.ForeignKey(
        ProductType,
        verbose_name=_("product type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    unit_of_measure = models.CharField(_("unit of measure"), max_length=40, default="unit")
    is_taxable = models.BooleanField(_("taxable"), default=True)
    min_quantity = models.PositiveIntegerField(_("minimum quantity"), default=1)
    max_quantity = models.PositiveIntegerField(
        _("maximum quantity"), null=True, blank=True, help_text=_("Empty = no maximum.")
    )
    publish_to_storefront = models.BooleanField(_("publish to Storefront"), default=False)
    terms_of_use_url = models.URLField(_("terms of use document"), blank=True)
    single_subscription = models.BooleanField(
        _("one live subscription per account"),
        default=False,
        help_text=_("An account may hold at most one live subscription per billing plan."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    primary_products = models.ManyToManyField(
        "self",
        verbose_name=_("attaches to"),
        symmetrical=False,
        blank=True,
        related_name="addons",
        help_text=_("The primary products this add-on can be bought with."),
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            choices_constraint("kind", ProductKind, "catalogue_product_kind_valid"),
            choices_constraint("status", ProductStatus, "catalogue_product_status_valid"),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=1), name="catalogue_product_min_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(max_quantity__gte=F("min_quantity")),
                name="catalogue_product_max_not_below_min",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:product_detail", kwargs={"pk": self.pk})

    @property
    def is_retired(self) -> bool:
        return self.status == self.Status.RETIRED


class ProductGroup(TimeStampedModel):
    """Products shown as one Storefront tile with a selector of editions and plans."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    publish_to_storefront = models.BooleanField(_("publish to Storefront"), default=False)
    products = models.ManyToManyField(
        Product, verbose_name=_("products"), blank=True, related_name="groups"
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("product group")
        verbose_name_plural = _("product groups")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:group_edit", kwargs={"pk": self.pk})


# ------------------------------------------------------------------------- plans, prices


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")
    TRIENNIAL = "triennial", _("Triennial")
    ONE_TIME = "one_time", _("One-time")


CYCLE_MONTHS = {
    BillingCycle.MONTHLY: 1,
    BillingCycle.ANNUAL: 12,
    BillingCycle.TRIENNIAL: 36,
    BillingCycle.ONE_TIME: 0,
}


class ChargeType(models.TextChoices):
    ONE_TIME = "one_time", _("One-time charge")
    RECURRING_PREPAID = "recurring_prepaid", _("Recurring charge (prepaid)")
    RECURRING_PAY_PER_USE = "recurring_ppu", _("Recurring charge (pay-per-use)")


class CommitmentTerm(models.IntegerChoices):
    NONE = 0, _("No commitment")
    ONE_MONTH = 1, _("1 month")
    ONE_YEAR = 12, _("1 year")
    THREE_YEARS = 36, _("3 years")


class UsageChargeRule(models.TextChoices):
    PER_DIEM = "per_diem", _("Charge per-diem usage within the period")
    FULL_PERIOD = "full_period", _("Charge the whole period regardless of usage")


class BillingDateRule(models.TextChoices):
    CUSTOMER = "customer", _("Apply the customer's billing day")
    SPECIFIC_DAY = "specific_day", _("Set a specific billing day")


class ProductPlan(TimeStampedModel):
    """One way to buy a product, with its billing settings; prices hang below it."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="plans"
    )
    billing_cycle = models.CharField(
        _("billing cycle"), max_length=20, choices=BillingCycle.choices
    )
    commitment_months = models.PositiveSmallIntegerField(
        _("commitment term"), choices=CommitmentTerm.choices, default=CommitmentTerm.NONE
    )
    charge_type = models.CharField(_("charge type"), max_length=20, choices=ChargeType.choices)
    exclude_from_proration = models.BooleanField(
        _("exclude from pro-rata"),
        default=False,
        help_text=_("Ignore the customer's proration options and charge full periods."),
    )
    usage_charge_rule = models.CharField(
        _("usage charge rule"),
        max_length=20,
        choices=UsageChargeRule.choices,
        default=UsageChargeRule.PER_DIEM,
    )
    billing_date_rule = models.CharField(
        _("billing date"),
        max_length=20,
        choices=BillingDateRule.choices,
        default=BillingDateRule.CUSTOMER,
    )
    billing_day = models.PositiveSmallIntegerField(
        _("product billing day"), null=True, blank=True, help_text=_("1 to 28.")
    )
    auto_renew = models.BooleanField(_("renew automatically by default"), default=True)
    trial_enabled = models.BooleanField(_("trial available"), default=False)
    trial_days = models.PositiveSmallIntegerField(_("trial length (days)"), default=0)
    trial_max_quantity = models.PositiveIntegerField(
        _("trial maximum quantity"), null=True, blank=True
    )
    trial_once_per_account = models.BooleanField(_("one trial per account"), default=True)
    is_price_protected = models.BooleanField(_("price protection"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["product", "position", "id"]
        verbose_name = _("billing plan")
        verbose_name_plural = _("billing plans")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "billing_cycle", "commitment_months", "charge_type"],
                name="catalogue_productplan_once",
            ),
            choices_constraint("billing_cycle", BillingCycle, "catalogue_productplan_cycle_valid"),
            choices_constraint(
                "charge_type", ChargeType, "catalogue_productplan_charge_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(commitment_months__in=[0, 1, 12, 36]),
                name="catalogue_productplan_commitment_valid",
            ),
            choices_constraint(
                "usage_charge_rule", UsageChargeRule, "catalogue_productplan_usage_rule_valid"
            ),
            choices_constraint(
                "billing_date_rule", BillingDateRule, "catalogue_productplan_billing_date_valid"
            ),
            # A one-time charge is exactly the one-time cycle, and nothing else is.
            models.CheckConstraint(
                condition=Q(charge_type="one_time", billing_cycle="one_time")
                | (~Q(charge_type="one_time") & ~Q(billing_cycle="one_time")),
                name="catalogue_productplan_one_time_matches",
            ),
            models.CheckConstraint(
                condition=Q(billing_date_rule="customer", billing_day__isnull=True)
                | Q(billing_date_rule="specific_day", billing_day__gte=1, billing_day__lte=28),
                name="catalogue_productplan_billing_day_valid",
            ),
            models.CheckConstraint(
                condition=Q(trial_enabled=False, trial_days=0)
                | (Q(trial_enabled=True, trial_days__gte=1) & ~Q(charge_type="one_time")),
                name="catalogue_productplan_trial_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        parts = [str(self.get_billing_cycle_display())]
        if self.commitment_months:
            parts.append(str(self.get_commitment_months_display()))
        if self.charge_type == ChargeType.RECURRING_PAY_PER_USE:
            parts.append(str(_("pay-per-use")))
        return " · ".join(parts)

    @property
    def is_recurring(self) -> bool:
        return self.charge_type != ChargeType.ONE_TIME


class VolumeMode(models.TextChoices):
    SCALE = "scale", _("Scale mode (tiered: each unit at its tier's price)")
    CONTINUOUS = "continuous", _("Continuous mode (volume: all units at one tier)")


class VolumeDiscount(TimeStampedModel):
    """Quantity tiers with their own unit prices, in one currency."""

    Mode = VolumeMode

    name = models.CharField(_("name"), max_length=150, unique=True)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices)
    currency = models.CharField(_("currency"), max_length=3)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("volume discount")
        verbose_name_plural = _("volume discounts")
        constraints = [
            choices_constraint("mode", VolumeMode, "catalogue_volumediscount_mode_valid")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:volume_discount_edit", kwargs={"pk": self.pk})


class VolumeTier(models.Model):
    discount = models.ForeignKey(VolumeDiscount, on_delete=models.CASCADE, related_name="tiers")
    from_quantity = models.PositiveIntegerField(_("from"))
    to_quantity = models.PositiveIntegerField(
        _("to"), null=True, blank=True, help_text=_("Empty = no upper limit.")
    )
    unit_price = _money_field(_("unit price"))

    class Meta:
        ordering = ["discount", "from_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["discount", "from_quantity"], name="catalogue_volumetier_once"
            ),
            models.CheckConstraint(
                condition=Q(from_quantity__gte=1), name="catalogue_volumetier_from_positive"
            ),
            models.CheckConstraint(
                condition=Q(to_quantity__isnull=True) | Q(to_quantity__gte=F("from_quantity")),
                name="catalogue_volumetier_range_valid",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="catalogue_volumetier_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        upper = self.to_quantity if self.to_quantity is not None else "∞"
        return f"{self.from_quantity}-{upper}: {self.unit_price}"


class ProductPrice(TimeStampedModel):
    """The list price of one plan in one currency."""

    plan = models.ForeignKey(
        ProductPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="prices"
    )
    currency = models.CharField(_("currency"), max_length=3)
    price = _money_field(_("sell price"))
    cost_price = _money_field(_("purchase price"), null=True, blank=True)
    setup_fee = _money_field(_("setup fee"), default=Decimal("0"))
    volume_discount = models.ForeignKey(
        VolumeDiscount,
        verbose_name=_("volume discount"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prices",
    )

    class Meta:
        ordering = ["plan", "currency"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "currency"], name="catalogue_productprice_once"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="catalogue_productprice_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0),
                name="catalogue_productprice_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(setup_fee__gte=0), name="catalogue_productprice_setup_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.price} {self.currency}"


# --------------------------------------------------------------------------- price lists


class PriceList(OwnedRecord):
    name = models.CharField(_("name"), max_length=150, unique=True)
    currency = models.CharField(_("currency"), max_length=3)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Inclusive; empty = open-ended.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default for its currency"),
        default=False,
        help_text=_("Used for accounts that have no price list of their own."),
    )
    description = models.TextField(_("description"), blank=True)
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
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(is_default=True),
                name="catalogue_pricelist_one_default_per_currency",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="catalogue_pricelist_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:price_list_detail", kwargs={"pk": self.pk})


class PriceMethod(models.TextChoices):
    FIXED = "fixed", _("Fixed price")
    PERCENT = "percent", _("Markup or discount % on the list price")


class PriceListItem(TimeStampedModel):
    Method = PriceMethod

    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items"
    )
    plan = models.ForeignKey(
        ProductPlan,
        verbose_name=_("billing plan"),
        on_delete=models.PROTECT,
        related_name="price_list_items",
    )
    method = models.CharField(_("pricing"), max_length=20, choices=Method.choices)
    fixed_price = _money_field(_("fixed price"), null=True, blank=True)
    percent = models.DecimalField(
        _("markup %"),
        max_digits=PERCENT_DIGITS,
        decimal_places=PERCENT_PLACES,
        null=True,
        blank=True,
        help_text=_("Positive = markup, negative = discount, e.g. -20."),
    )
    cost_price = _money_field(_("purchase price"), null=True, blank=True)
    is_visible = models.BooleanField(_("visible to the list's customers"), default=True)

    class Meta:
        ordering = ["price_list", "plan__product__name", "plan__position", "plan_id"]
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "plan"], name="catalogue_pricelistitem_once"
            ),
            choices_constraint("method", PriceMethod, "catalogue_pricelistitem_method_valid"),
            models.CheckConstraint(
                condition=Q(method="fixed", fixed_price__gte=0, percent__isnull=True)
                | Q(method="percent", percent__gt=-100, fixed_price__isnull=True),
                name="catalogue_pricelistitem_method_matches",
            ),
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0),
                name="catalogue_pricelistitem_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list.name}: {self.plan.product.name} {self.plan}"


# ---------------------------------------------------------------------------- promotions


class PromotionKind(models.TextChoices):
    ONE_TIME = "one_time", _("One-time discount (first billing cycle)")
    RECURRING = "recurring", _("Recurring discount (whole subscription life)")
    LIMITED_RECURRING = "limited_recurring", _("Limited recurring discount (first N cycles)")


class DiscountType(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage")
    MONETARY = "monetary", _("Monetary (amount off per unit)")


class Eligibility(models.TextChoices):
    ALL_CUSTOMERS = "all", _("All customers")
    NEW_CUSTOMERS = "new", _("New customers only")


class Promotion(TimeStampedModel):
    Kind = PromotionKind

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), help_text=_("Inclusive."))
    is_active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    cycles = models.PositiveSmallIntegerField(
        _("number of cycles"), null=True, blank=True, help_text=_("For limited recurring only.")
    )
    discount_type = models.CharField(
        _("discount type"), max_length=20, choices=DiscountType.choices
    )
    percent = models.DecimalField(
        _("discount %"),
        max_digits=PERCENT_DIGITS,
        decimal_places=PERCENT_PLACES,
        null=True,
        blank=True,
    )
    amount = _money_field(_("amount off per unit"), null=True, blank=True)
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, help_text=_("For a monetary discount only.")
    )
    for_monthly = models.BooleanField(_("monthly cycle"), default=True)
    for_annual = models.BooleanField(_("annual cycle"), default=True)
    for_triennial = models.BooleanField(_("triennial cycle"), default=True)
    eligibility = models.CharField(
        _("customers"),
        max_length=10,
        choices=Eligibility.choices,
        default=Eligibility.ALL_CUSTOMERS,
    )
    products = models.ManyToManyField(
        Product, verbose_name=_("products"), related_name="promotions"
    )
    prerequisite_products = models.ManyToManyField(
        Product,
        verbose_name=_("prerequisite products"),
        blank=True,
        related_name="+",
        help_text=_("The customer must own all of these to get the promotion."),
    )
    publish_to_storefront = models.BooleanField(_("publish to Storefront"), default=True)

    class Meta:
        ordering = ["-start_date", "name"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            choices_constraint("kind", PromotionKind, "catalogue_promotion_kind_valid"),
            choices_constraint("discount_type", DiscountType, "catalogue_promotion_type_valid"),
            choices_constraint("eligibility", Eligibility, "catalogue_promotion_eligibility_valid"),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="catalogue_promotion_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(kind="limited_recurring", cycles__gte=1)
                | (~Q(kind="limited_recurring") & Q(cycles__isnull=True)),
                name="catalogue_promotion_cycles_match_kind",
            ),
            models.CheckConstraint(
                condition=Q(
                    discount_type="percentage",
                    percent__gt=0,
                    percent__lte=100,
                    amount__isnull=True,
                    currency="",
                )
                | (
                    Q(discount_type="monetary", amount__gt=0, percent__isnull=True)
                    & ~Q(currency="")
                ),
                name="catalogue_promotion_discount_matches_type",
            ),
            models.CheckConstraint(
                condition=Q(for_monthly=True) | Q(for_annual=True) | Q(for_triennial=True),
                name="catalogue_promotion_has_a_cycle",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:promotion_edit", kwargs={"pk": self.pk})

    def applies_to_cycle(self, billing_cycle: str) -> bool:
        return {
            BillingCycle.MONTHLY: self.for_monthly,
            BillingCycle.ANNUAL: self.for_annual,
            BillingCycle.TRIENNIAL: self.for_triennial,
        }.get(billing_cycle, False)


# ----------------------------------------------------------------------------- relations


class ProductRequirement(models.Model):
    """``product`` can be bought only with ``required_product`` owned or in the same order."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="requirements")
    required_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="required_by"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "required_product"], name="catalogue_requirement_once"
            ),
            models.CheckConstraint(
                condition=~Q(product=F("required_product")), name="catalogue_requirement_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} requires {self.required_product.name}"


class ProductExclusion(models.Model):
    """Two mutually exclusive products, stored once with the lower id first."""

    product_a = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    product_b = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product_a", "product_b"], name="catalogue_exclusion_once"
            ),
            # The ordered pair makes the relation symmetric: (B, A) cannot be stored beside (A, B).
            models.CheckConstraint(
                condition=Q(product_a__lt=F("product_b")), name="catalogue_exclusion_ordered_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_a.name} ⟷ {self.product_b.name}"


class UpgradeDirection(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


class ProductUpgrade(models.Model):
    """A permitted plan change; every upgrade has its reverse downgrade row."""

    Direction = UpgradeDirection

    source = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes_from")
    target = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes_to")
    direction = models.CharField(max_length=10, choices=Direction.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="catalogue_upgrade_once"),
            models.CheckConstraint(
                condition=~Q(source=F("target")), name="catalogue_upgrade_not_self"
            ),
            choices_constraint("direction", UpgradeDirection, "catalogue_upgrade_direction_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.source.name} → {self.target.name} ({self.direction})"


class BundleComponent(models.Model):
    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="in_bundles")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["bundle", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="catalogue_bundle_once"),
            models.CheckConstraint(
                condition=~Q(bundle=F("component")), name="catalogue_bundle_not_self"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="catalogue_bundle_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle.name} ∋ {self.component.name}"


# ------------------------------------------------------------------------------- imports


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded: columns to map")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Refused")


class ProductImport(TimeStampedModel):
    """One run of the products importer: the file, its settings, progress and outcome."""

    Status = ImportStatus

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_content = models.BinaryField(editable=False)
    sheet_name = models.CharField(_("sheet"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    product_type = models.ForeignKey(
        ProductType,
        verbose_name=_("product type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    charge_type = models.CharField(_("pricing type"), max_length=20, choices=ChargeType.choices)
    match_by_code = models.BooleanField(_("match existing products by code"), default=True)
    match_by_name = models.BooleanField(_("match existing products by name"), default=False)
    match_by_type = models.BooleanField(_("match existing products by product type"), default=False)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    failure_reason = models.TextField(_("reason"), blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("product import")
        verbose_name_plural = _("product imports")
        constraints = [
            choices_constraint("status", ImportStatus, "catalogue_productimport_status_valid"),
            choices_constraint(
                "charge_type", ChargeType, "catalogue_productimport_charge_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:import_detail", kwargs={"pk": self.pk})

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)

    @property
    def percent_done(self) -> int:
        if self.status == ImportStatus.SUCCEEDED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, 100 * self.processed_rows // self.total_rows)


# ------------------------------------------------------------- integrations, GSD runs


class Integration(TimeStampedModel):
    """A vendor system registered in setup: where its service definitions are fetched.

    Product types link to an integration through ``ProductType.integration``, which holds
    the integration's ``code``; the connector kind names the code that reads the vendor's
    feed (``catalogue.gsd.CONNECTORS``), so the kinds are not a database choice list.
    """

    code = models.SlugField(
        _("code"),
        max_length=100,
        unique=True,
        help_text=_("What product types store as their integration; fixed once types use it."),
    )
    name = models.CharField(_("name"), max_length=150, unique=True)
    connector = models.CharField(_("connector"), max_length=50)
    endpoint_url = models.URLField(_("endpoint URL"), max_length=500)
    auth_header = models.CharField(
        _("authentication header"),
        max_length=100,
        blank=True,
        default="Authorization",
        help_text=_("The request header that carries the token, e.g. Authorization."),
    )
    auth_token = models.CharField(_("authentication token"), max_length=1000, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (seconds)"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        constraints = [
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1, timeout_seconds__lte=300),
                name="catalogue_integration_timeout_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:integration_detail", kwargs={"pk": self.pk})

    @property
    def has_token(self) -> bool:
        return bool(self.auth_token)


class GsdRunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("In progress")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


GSD_LIVE_STATUSES = (GsdRunStatus.QUEUED, GsdRunStatus.RUNNING)


class GsdRun(TimeStampedModel):
    """One Get Services Definition run of an integration, whole or for one product type."""

    Status = GsdRunStatus

    integration = models.ForeignKey(
        Integration,
        verbose_name=_("integration"),
        on_delete=models.PROTECT,
        related_name="gsd_runs",
    )
    product_type_code = models.CharField(
        _("product type"),
        max_length=60,
        blank=True,
        help_text=_("Only this product type of the feed; empty = every type of the feed."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    total_items = models.PositiveIntegerField(default=0)
    processed_items = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    log = models.JSONField(_("log"), default=list, blank=True)
    failure_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("GSD run")
        verbose_name_plural = _("GSD runs")
        constraints = [
            choices_constraint("status", GsdRunStatus, "catalogue_gsdrun_status_valid"),
            # Two runs of one integration would write the same types and products: the
            # database lets only one be queued or running at a time.
            models.UniqueConstraint(
                fields=["integration"],
                condition=Q(status__in=["queued", "running"]),
                name="catalogue_gsdrun_one_live_per_integration",
            ),
        ]

    def __str__(self) -> str:
        return f"GSD #{self.pk} · {self.integration}"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:gsd_run_detail", kwargs={"pk": self.pk})

    @property
    def is_finished(self) -> bool:
        return self.status in (GsdRunStatus.COMPLETED, GsdRunStatus.FAILED)

    @property
    def percent_done(self) -> int:
        if self.status == GsdRunStatus.COMPLETED:
            return 100
        if not self.total_items:
            return 0
        return min(100, 100 * self.processed_items // self.total_items)
