"""Orders: statuses set up by the organization, orders with their items, sub-orders.

An order is what executing turns into subscriptions and assets. Its status is a row of
``OrderStatus``: each has a *type* (what the BSS does with it) and a *Storefront type*
(what the Storefront shows). Four mandatory statuses always exist (see
``orders.statuses``); admins add their own, e.g. an "In provisioning" status that orders
with manually provisioned products wait in.

A *sub-order* is created when selected items are delivered on their own: it copies
those items (``OrderItem.source_item`` points back) and is executed at once, while the
rest of its parent stays pending.
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


class StatusType(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    AUTOMATIC_EXECUTE = "automatic_execute", _("Automatic execute")
    CANCELLED = "cancelled", _("Cancelled")


class StorefrontType(models.TextChoices):
    DRAFT = "draft", _("Draft")
    VIEWABLE = "viewable", _("Viewable")
    SUBMITTED = "submitted", _("Submitted")


class SystemStatus(models.TextChoices):
    """The four statuses every organization has; they cannot be removed or deactivated."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    EXECUTED = "executed", _("Executed")
    CANCELED = "canceled", _("Canceled")


# Only one status may hold each of these (type, Storefront type) combinations: the
# Draft, Executed and Canceled combinations. Submitted's (in progress, viewable) may be
# shared, because custom in-progress statuses such as "In provisioning" need it too.
UNIQUE_COMBINATIONS = (
    (StatusType.IN_PROGRESS, StorefrontType.DRAFT),
    (StatusType.AUTOMATIC_EXECUTE, StorefrontType.SUBMITTED),
    (StatusType.CANCELLED, StorefrontType.VIEWABLE),
)


def _unique_combination_condition() -> Q:
    condition = Q()
    for status_type, storefront_type in UNIQUE_COMBINATIONS:
        condition |= Q(status_type=status_type, storefront_type=storefront_type)
    return condition


class OrderStatus(TimeStampedModel):
    Type = StatusType
    StorefrontType = StorefrontType

    name = models.CharField(_("name"), max_length=100, unique=True)
    status_type = models.CharField(_("type"), max_length=20, choices=StatusType.choices)
    storefront_type = models.CharField(
        _("Storefront type"), max_length=20, choices=StorefrontType.choices
    )
    system_key = models.CharField(
        _("mandatory status"),
        max_length=20,
        choices=SystemStatus.choices,
        blank=True,
        editable=False,
        help_text=_("Set on the four statuses every organization has."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default in-progress status"),
        default=False,
        help_text=_(
            "Orders with manually provisioned products wait in this status "
            "(it must be active, in progress and viewable in the Storefront)."
        ),
    )
    color = models.CharField(_("colour"), max_length=7, default="#6c757d")
    position = models.PositiveIntegerField(_("position"), default=0)

    visibility_public = True

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("order status")
        verbose_name_plural = _("order statuses")
        constraints = [
            choices_constraint("status_type", StatusType, "orders_orderstatus_type_valid"),
            choices_constraint(
                "storefront_type", StorefrontType, "orders_orderstatus_storefront_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(system_key="") | Q(system_key__in=SystemStatus.values),
                name="orders_orderstatus_system_key_valid",
            ),
            models.UniqueConstraint(
                fields=["system_key"],
                condition=~Q(system_key=""),
                name="orders_orderstatus_system_key_once",
            ),
            models.UniqueConstraint(
                fields=["status_type", "storefront_type"],
                condition=_unique_combination_condition(),
                name="orders_orderstatus_mandatory_combination_once",
                violation_error_message=_(
                    "Another status already has this type and Storefront type; "
                    "only one status may hold it."
                ),
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="orders_orderstatus_one_default",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False)
                | Q(status_type="in_progress", storefront_type="viewable", is_active=True),
                name="orders_orderstatus_default_is_active_viewable_in_progress",
            ),
            models.CheckConstraint(
                condition=Q(system_key="") | Q(is_active=True),
                name="orders_orderstatus_mandatory_is_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("orders:status_edit", kwargs={"pk": self.pk})

    @property
    def is_mandatory(self) -> bool:
        return bool(self.system_key)


class Order(OwnedRecord):
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing to"),
        on_delete=models.PROTECT,
        related_name="billed_orders",
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
    order_date = models.DateField(_("order date"))
    status = models.ForeignKey(
        OrderStatus, verbose_name=_("status"), on_delete=models.PROTECT, related_name="orders"
    )
    permission_rule = models.ForeignKey(
        "setup.PermissionRule",
        verbose_name=_("permission rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)
    parent_order = models.ForeignKey(
        "self",
        verbose_name=_("sub-order of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_orders",
    )
    source = models.CharField(_("source"), max_length=20, default="bss")
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    executed_at = models.DateTimeField(_("executed"), null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("executed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    start_date = models.DateField(_("subscriptions start"), null=True, blank=True)
    invoice_date = models.DateField(_("first invoice date"), null=True, blank=True)
    credit_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("credit limit overridden by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    credit_override_note = models.CharField(_("credit override"), max_length=300, blank=True)
    canceled_at = models.DateTimeField(_("canceled"), null=True, blank=True)

    # Totals in the billing currency, stored whenever the items change (lists, queue).
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
        ordering = ["-order_date", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["order_date", "id"], name="orders_order_date_idx")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"pk": self.pk})


class ItemAction(models.TextChoices):
    NEW = "new", _("New")
    CHANGE_QUANTITY = "change_quantity", _("Change quantity")
    UPGRADE = "upgrade", _("Upgrade or downgrade")
    RENEW = "renew", _("Renew")
    CANCEL = "cancel", _("Cancel")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Not delivered")
    DELIVERED = "delivered", _("Delivered")


class OrderItem(models.Model):
    """One line of an order; ``unit_price`` is the price used, ``list_unit_price`` the resolver's."""

    Action = ItemAction
    Delivery = DeliveryStatus

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("position"), default=0)
    action = models.CharField(
        _("action"), max_length=20, choices=ItemAction.choices, default=ItemAction.NEW
    )
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
    start_date = models.DateField(_("start date"), null=True, blank=True)
    friendly_name = models.CharField(_("friendly name"), max_length=200, blank=True)
    provisioning_attributes = models.JSONField(
        _("provisioning attributes"), default=dict, blank=True
    )
    target_subscription = models.ForeignKey(
        "subscriptions.Subscription",
        verbose_name=_("target subscription"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The subscription a change applies to, or an add-on's existing parent."),
    )
    delivery_status = models.CharField(
        _("delivery status"),
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    delivered_in = models.ForeignKey(
        Order,
        verbose_name=_("delivered in sub-order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_item = models.ForeignKey(
        "self",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="copies",
    )
    created_subscription = models.ForeignKey(
        "subscriptions.Subscription",
        verbose_name=_("subscription"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_asset = models.ForeignKey(
        "subscriptions.Asset",
        verbose_name=_("asset"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    visibility_owner_field = "order__owner"
    visibility_rule_field = "order__permission_rule"

    class Meta:
        ordering = ["order", "position", "pk"]
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        constraints = [
            choices_constraint("action", ItemAction, "orders_orderitem_action_valid"),
            choices_constraint(
                "delivery_status", DeliveryStatus, "orders_orderitem_delivery_valid"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="orders_orderitem_discount_range",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="orders_orderitem_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(action="new") | Q(target_subscription__isnull=False),
                name="orders_orderitem_change_has_target",
                violation_error_message=_("A change of a subscription names the subscription."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} #{self.position} {self.product.name}"
