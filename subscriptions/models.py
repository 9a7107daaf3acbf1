"""What customers have bought: subscriptions, their history of changes, assets and usage.

A subscription's billing periods are half-open ``[start, end)`` calendar ranges; the
period arithmetic lives in ``subscriptions.periods`` and the money of each period and
change in ``subscriptions.amounts``. The billing engine reads these rows and turns them
into charges; it never decides a period or a refund by itself.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.constraints import choices_constraint
from bss.core.models import TimeStampedModel

PRICE_DIGITS = 18
PRICE_PLACES = 4
PERCENT_DIGITS = 7
PERCENT_PLACES = 4


def _price(label: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs
    )


def _percent(label: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=PERCENT_DIGITS, decimal_places=PERCENT_PLACES, **kwargs
    )


# ----------------------------------------------------------------------------- settings


class ProrationMethod(models.TextChoices):
    ACTUAL_DAYS = "actual_days", _("Actual days of the period")
    THIRTY_DAY = "thirty_day", _("Fixed 30-day months")
    NONE = "none", _("No proration (full periods)")


class SubscriptionSettings(TimeStampedModel):
    """Organization-wide subscription options (one row, pk 1)."""

    SINGLETON_PK = 1

    proration_method = models.CharField(
        _("proration"),
        max_length=20,
        choices=ProrationMethod.choices,
        default=ProrationMethod.ACTUAL_DAYS,
        help_text=_("How partial periods are charged; a product type may override it."),
    )
    suspension_stops_billing = models.BooleanField(
        _("suspended subscriptions are not billed"),
        default=False,
        help_text=_(
            "Off: suspension only stops provisioning and billing goes on. "
            "On: the billing run skips suspended subscriptions."
        ),
    )
    trial_notice_days = models.CharField(
        _("trial ending notices (days before)"), max_length=40, default="7,3,1"
    )

    class Meta:
        verbose_name = _("subscription settings")
        verbose_name_plural = _("subscription settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1), name="subscriptions_subscriptionsettings_singleton"
            ),
            choices_constraint(
                "proration_method", ProrationMethod, "subscriptions_settings_proration_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Subscription settings"))


# -------------------------------------------------------------------------- subscription


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    TRIAL = "trial", _("Trial")
    PENDING_CANCEL = "pending_cancel", _("Pending for cancel")
    SUSPENDED = "suspended", _("Suspended")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


# The one table of allowed status changes; services refuse every other one.
SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    SubscriptionStatus.PENDING: frozenset(
        {SubscriptionStatus.ACTIVE, SubscriptionStatus.FAILED, SubscriptionStatus.CANCELED}
    ),
    SubscriptionStatus.ACTIVE: frozenset(
        {
            SubscriptionStatus.PENDING_CANCEL,
            SubscriptionStatus.CANCELED,
            SubscriptionStatus.SUSPENDED,
            SubscriptionStatus.EXPIRED,
        }
    ),
    SubscriptionStatus.TRIAL: frozenset(
        {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED}
    ),
    SubscriptionStatus.PENDING_CANCEL: frozenset(
        {SubscriptionStatus.CANCELED, SubscriptionStatus.ACTIVE}
    ),
    SubscriptionStatus.SUSPENDED: frozenset(
        {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED}
    ),
    SubscriptionStatus.FAILED: frozenset(
        {SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING, SubscriptionStatus.CANCELED}
    ),
    SubscriptionStatus.CANCELED: frozenset(),
    SubscriptionStatus.EXPIRED: frozenset(),
}

LIVE_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIAL,
    SubscriptionStatus.PENDING_CANCEL,
    SubscriptionStatus.SUSPENDED,
    SubscriptionStatus.FAILED,
)
# Statuses the billing run charges (suspended too unless the settings say otherwise).
# Pending is billed like active: order execution invoices and starts provisioning together
# (spec 7, status "Executed"); a failed one is not billed until it is provisioned again.
BILLED_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PENDING_CANCEL,
    SubscriptionStatus.SUSPENDED,
)


class BillingMethod(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid (on subscription start)")
    POSTPAID = "postpaid", _("Postpaid (in arrears)")
    PAY_PER_USE = "pay_per_use", _("Pay-per-use")


class ExternalPricingStatus(models.TextChoices):
    NONE = "", _("Not externally priced")
    SUCCESSFUL = "successful", _("Successful")
    FAILED = "failed", _("Failed")


class ProvisioningStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required")
    PENDING = "pending", _("Pending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")


class Subscription(TimeStampedModel):
    Status = SubscriptionStatus
    BillingMethod = BillingMethod

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    friendly_name = models.CharField(_("friendly name"), max_length=200, blank=True)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing account"),
        on_delete=models.PROTECT,
        related_name="billed_subscriptions",
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
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent subscription"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="addons",
        help_text=_("Set on add-ons."),
    )
    bundle = models.ForeignKey(
        "self",
        verbose_name=_("bundle"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="components",
        help_text=_("Set on the component subscriptions of a bundle; they are not billed."),
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    currency = models.CharField(_("currency"), max_length=3)
    price_list = models.ForeignKey(
        "catalogue.PriceList",
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit_price = _price(_("unit price"), help_text=_("From the price resolver."))
    user_unit_price = _price(
        _("user-defined unit price"),
        null=True,
        blank=True,
        help_text=_("Replaces the resolved price; clears external pricing."),
    )
    discount_percent = _percent(_("discount %"), default=0)
    final_unit_price = _price(_("final unit price"))
    setup_fee = _price(_("setup fee"), default=0)
    promotion = models.ForeignKey(
        "catalogue.Promotion",
        verbose_name=_("promotion"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    billing_cycle = models.CharField(_("billing cycle"), max_length=20)
    cycle_months = models.PositiveSmallIntegerField(_("months per period"))
    term_months = models.PositiveSmallIntegerField(_("months per term"))
    billing_method = models.CharField(
        _("billing method"), max_length=20, choices=BillingMethod.choices
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    ordered_on = models.DateField(_("ordered on"))
    start_date = models.DateField(_("start date"))
    anchor_day = models.PositiveSmallIntegerField(
        _("billing day"), help_text=_("Day of the month periods start on (31 = the last day).")
    )
    is_aligned = models.BooleanField(
        _("aligned to the billing day"),
        default=False,
        help_text=_("The first period ran from the start to the billing day (prorated)."),
    )
    cycle_number = models.PositiveIntegerField(
        _("billing cycle number"), default=1, help_text=_("1 = the first period.")
    )
    current_period_start = models.DateField(_("current period start"))
    current_period_end = models.DateField(_("current period end"), help_text=_("Exclusive."))
    term_start = models.DateField(_("term start"))
    term_started_at = models.DateTimeField(
        _("term started at"),
        null=True,
        blank=True,
        help_text=_("Purchase or renewal time; cancellation windows count from it."),
    )
    term_end = models.DateField(_("next renewal"), help_text=_("Exclusive end of the term."))
    billed_through = models.DateField(
        _("charged through"),
        null=True,
        blank=True,
        help_text=_("Exclusive end of the last period charged; empty = nothing charged yet."),
    )
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    trial_end = models.DateField(_("trial end"), null=True, blank=True)
    price_protected_until = models.DateField(
        _("price protected until"), null=True, blank=True, help_text=_("Exclusive.")
    )
    external_pricing_status = models.CharField(
        _("external pricing status"),
        max_length=20,
        choices=ExternalPricingStatus.choices,
        default=ExternalPricingStatus.NONE,
        blank=True,
    )
    external_pricing_failure_reason = models.CharField(
        _("external pricing failure reason"), max_length=300, blank=True
    )
    external_pricing_first_failure = models.DateTimeField(
        _("external pricing last failure"),
        null=True,
        blank=True,
        help_text=_("The first failure of the current run of failures; retries keep it."),
    )
    provisioning_status = models.CharField(
        _("provisioning"),
        max_length=20,
        choices=ProvisioningStatus.choices,
        default=ProvisioningStatus.NOT_REQUIRED,
    )
    provisioning_attributes = models.JSONField(
        _("provisioning attributes"), default=dict, blank=True
    )
    provisioning_error = models.CharField(_("provisioning error"), max_length=300, blank=True)
    is_single_per_account = models.BooleanField(default=False, editable=False)
    cancel_on = models.DateField(
        _("cancels on"), null=True, blank=True, help_text=_("Set while pending for cancel.")
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=300, blank=True)
    origin_order_item_id = models.BigIntegerField(
        _("order item"), null=True, blank=True, unique=True
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(fields=["billing_account", "status"], name="subs_billing_acct_status"),
            models.Index(fields=["status", "term_end"], name="subs_status_term_end"),
        ]
        constraints = [
            choices_constraint("status", SubscriptionStatus, "subscriptions_status_valid"),
            choices_constraint(
                "billing_method", BillingMethod, "subscriptions_billing_method_valid"
            ),
            models.UniqueConstraint(
                fields=["account", "product", "plan"],
                condition=Q(
                    is_single_per_account=True, status__in=[s.value for s in LIVE_STATUSES]
                ),
                name="subscriptions_one_live_per_account",
                violation_error_message=_(
                    "The account already has a live subscription of this product and plan."
                ),
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="subscriptions_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=F("current_period_start")),
                name="subscriptions_period_half_open",
            ),
            models.CheckConstraint(
                condition=Q(term_end__gte=F("current_period_end")),
                name="subscriptions_term_covers_period",
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="subscriptions_discount_percent",
            ),
            models.CheckConstraint(
                condition=Q(anchor_day__gte=1, anchor_day__lte=31),
                name="subscriptions_anchor_day_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"

    def get_absolute_url(self) -> str:
        return reverse("subscriptions:detail", kwargs={"pk": self.pk})

    @property
    def display_name(self) -> str:
        return self.friendly_name or self.product.name

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_addon(self) -> bool:
        return self.parent_id is not None

    @property
    def effective_unit_price(self) -> Decimal:
        return self.user_unit_price if self.user_unit_price is not None else self.unit_price


class ChangeKind(models.TextChoices):
    CREATED = "created", _("Created")
    ACTIVATED = "activated", _("Activated")
    QUANTITY = "quantity", _("Quantity change")
    UPGRADE_OUT = "upgrade_out", _("Upgraded away")
    UPGRADE_IN = "upgrade_in", _("Upgraded into")
    DOWNGRADE = "downgrade", _("Downgrade")
    PRICE = "price", _("Pricing change")
    CANCEL = "cancel", _("Canceled")
    CANCEL_SCHEDULED = "cancel_scheduled", _("Cancellation scheduled")
    CANCEL_REVOKED = "cancel_revoked", _("Cancellation revoked")
    RENEWED = "renewed", _("Renewed")
    EXPIRED = "expired", _("Expired")
    SUSPENDED = "suspended", _("Suspended")
    RESUMED = "resumed", _("Activated after suspension")
    FAILED = "failed", _("Provisioning failed")
    REPROVISIONED = "reprovisioned", _("Reprovisioned")
    TRIAL_STARTED = "trial_started", _("Trial started")
    TRIAL_EXTENDED = "trial_extended", _("Trial extended")
    TRIAL_CONVERTED = "trial_converted", _("Trial upgraded to paid")
    PRICE_PROTECTION = "price_protection", _("Price protection changed")


class ChangeSource(models.TextChoices):
    BSS = "bss", _("BSS")
    API = "api", _("API")
    STOREFRONT = "storefront", _("Storefront")
    ORDER = "order", _("Order")
    BILLING_RUN = "billing_run", _("Billing run")
    SYSTEM = "system", _("System")


class SubscriptionChange(models.Model):
    """One thing that happened to a subscription, with the money it decided.

    ``effective_date`` is the day the change takes effect for billing; ``period_start``
    and ``period_end`` are the part of a billed period it affects (prorated charges and
    credits run over them). ``refund_amount`` is decided here for cancellations and
    upgrades away (the refund policy) and billing turns it into a credit.
    """

    Kind = ChangeKind
    Source = ChangeSource

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="changes",
    )
    kind = models.CharField(_("change"), max_length=30, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    effective_date = models.DateField(_("effective date"))
    effective_at = models.DateTimeField(_("effective at"))
    old_quantity = models.PositiveIntegerField(_("old quantity"), null=True, blank=True)
    new_quantity = models.PositiveIntegerField(_("new quantity"), null=True, blank=True)
    old_unit_price = _price(_("old unit price"), null=True, blank=True)
    new_unit_price = _price(_("new unit price"), null=True, blank=True)
    old_status = models.CharField(_("old status"), max_length=20, blank=True)
    new_status = models.CharField(_("new status"), max_length=20, blank=True)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    refund_amount = _price(_("refund"), null=True, blank=True)
    related_subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("related subscription"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    origin_order_item_id = models.BigIntegerField(_("order item"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_at", "-pk"]
        verbose_name = _("subscription change")
        verbose_name_plural = _("subscription changes")
        indexes = [
            models.Index(fields=["effective_date", "kind"], name="subs_change_date_kind"),
        ]
        constraints = [
            choices_constraint("kind", ChangeKind, "subscriptions_change_kind_valid"),
            choices_constraint("source", ChangeSource, "subscriptions_change_source_valid"),
            # An order item changes its target subscription once, however often it runs.
            models.UniqueConstraint(
                fields=["subscription", "origin_order_item_id"],
                condition=Q(origin_order_item_id__isnull=False),
                name="subscriptions_change_once_per_order_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.get_kind_display()} {self.effective_date}"


# ----------------------------------------------------------------------- future requests


class FutureRequestType(models.TextChoices):
    QUANTITY = "quantity", _("Quantity")
    BILLING_PLAN = "billing_plan", _("Billing plan")
    BILLING_TERM = "billing_term", _("Billing term")
    DOWNGRADE = "downgrade", _("Downgrade")


class FutureRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPLETED = "completed", _("Completed")
    CANCELED = "canceled", _("Canceled")


class FutureRequest(TimeStampedModel):
    """A change scheduled for the subscription's renewal."""

    Type = FutureRequestType
    Status = FutureRequestStatus

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="future_requests",
    )
    request_type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    current_value = models.CharField(_("current value"), max_length=100)
    renewal_value = models.CharField(_("renewal value"), max_length=100)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last update by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked on"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("completed on"), null=True, blank=True)
    via_storefront = models.BooleanField(_("submitted via Storefront"), default=False)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("future request")
        verbose_name_plural = _("future requests")
        constraints = [
            choices_constraint("request_type", FutureRequestType, "subscriptions_fr_type_valid"),
            choices_constraint("status", FutureRequestStatus, "subscriptions_fr_status_valid"),
            models.UniqueConstraint(
                fields=["subscription", "request_type"],
                condition=Q(status="pending"),
                name="subscriptions_fr_one_pending_per_type",
                violation_error_message=_(
                    "The subscription already has a pending request of this type."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_request_type_display()}: {self.current_value} → {self.renewal_value}"


# --------------------------------------------------------------- customer change requests


class CustomerRequestKind(models.TextChoices):
    CANCEL = "cancel", _("Subscription cancellation")
    ADDON_CANCEL = "addon_cancel", _("Add-on cancellation")
    DOWNGRADE = "downgrade", _("Downgrade")


class CustomerRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked by the customer")
    EXECUTED = "executed", _("Executed automatically")


class CustomerRequest(TimeStampedModel):
    """A cancellation or downgrade a customer asked for, waiting for approval or done."""

    Kind = CustomerRequestKind
    Status = CustomerRequestStatus

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="customer_requests",
    )
    kind = models.CharField(_("request"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    timing = models.CharField(_("when"), max_length=20, blank=True)
    requested_date = models.DateField(_("requested date"), null=True, blank=True)
    target_product = models.ForeignKey(
        "catalogue.Product",
        verbose_name=_("downgrade to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_plan = models.ForeignKey(
        "catalogue.ProductPlan",
        verbose_name=_("plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    amount = _price(_("amount"), default=0)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    via_storefront = models.BooleanField(_("submitted via Storefront"), default=True)

    visibility_owner_field = "subscription__account__owner"
    visibility_rule_field = "subscription__account__permission_rule"

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("customer request")
        verbose_name_plural = _("customer requests")
        constraints = [
            choices_constraint("kind", CustomerRequestKind, "subscriptions_cr_kind_valid"),
            choices_constraint("status", CustomerRequestStatus, "subscriptions_cr_status_valid"),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(status="pending"),
                name="subscriptions_cr_one_pending",
                violation_error_message=_("The subscription already has a pending request."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


# ------------------------------------------------------------------------------- assets


class AssetStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


class Asset(TimeStampedModel):
    """A one-off or asset-type purchase; billed once, kept as a record of ownership."""

    Status = AssetStatus

    code = models.CharField(_("code"), max_length=30, unique=True, editable=False)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="assets",
    )
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing account"),
        on_delete=models.PROTECT,
        related_name="billed_assets",
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
    quantity = models.PositiveIntegerField(_("quantity"))
    currency = models.CharField(_("currency"), max_length=3)
    unit_price = _price(_("unit price"))
    discount_percent = _percent(_("discount %"), default=0)
    purchase_date = models.DateField(_("purchase date"))
    start_date = models.DateField(_("start date"))
    expiration_date = models.DateField(_("expiration date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    origin_order_item_id = models.BigIntegerField(
        _("order item"), null=True, blank=True, unique=True
    )
    pricing_version = models.PositiveIntegerField(
        default=1, help_text=_("Raised by each pricing edit; keys its credit and new charge.")
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        constraints = [
            choices_constraint("status", AssetStatus, "subscriptions_asset_status_valid"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="subscriptions_asset_qty"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="subscriptions_asset_discount_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.product.name}"

    def get_absolute_url(self) -> str:
        return reverse("assets:detail", kwargs={"pk": self.pk})


# ------------------------------------------------------------------------------- usage


class UsageRecord(models.Model):
    """One measured use of a pay-per-use subscription; rated by the billing run."""

    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="+"
    )
    metric = models.CharField(_("metric"), max_length=100)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    occurred_on = models.DateField(_("day"), help_text=_("In the organization's time zone."))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    source = models.CharField(_("source"), max_length=20, default="api")
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        indexes = [
            models.Index(fields=["subscription", "occurred_on"], name="subs_usage_sub_day"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "idempotency_key"], name="subscriptions_usage_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="subscriptions_usage_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.quantity} @ {self.occurred_at:%Y-%m-%d %H:%M}"


# ------------------------------------------------------------------------- trial notices


class TrialNotice(models.Model):
    """A trial-ending notice that went out: one per trial end and number of days before."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="trial_notices",
    )
    days_before = models.PositiveSmallIntegerField(_("days before the end"))
    trial_end = models.DateField(_("trial end"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["subscription", "-days_before"]
        verbose_name = _("trial notice")
        verbose_name_plural = _("trial notices")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "trial_end", "days_before"],
                name="subscriptions_trial_notice_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.days_before} days before {self.trial_end}"
