"""Payments and collections: methods, payments and their allocations, refunds, card charges
through a gateway, the webhook inbox, and notification plans for overdue invoices.

Money rules:

* A payment's ``amount`` never changes. What it settles is the sum of its allocation
  rows; what went back is the sum of its completed refunds; the rest is unapplied
  credit on the account (``unapplied_amount``, kept in step by the services under the
  payment's row lock).
* Allocations and credit applications are append-only ledgers: reversing one writes a
  row with the negative amount, so the history of what settled an invoice stays.
* Account balance = debit invoices - credit invoices - payments + refunds (spec §9.3).
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

MONEY_DIGITS = 18
MONEY_PLACES = 4


def _money(label: object, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


# ------------------------------------------------------------------------ payment methods


class Collection(models.TextChoices):
    MANUAL = "manual", _("Paid manually (a payment is recorded)")
    GATEWAY = "gateway", _("Charged through the payment gateway")


class PaymentMethod(TimeStampedModel):
    """Setup > Payment methods: how the customer pays and when invoices fall due."""

    Collection = Collection

    number = models.PositiveIntegerField(_("no."), unique=True)
    description = models.CharField(_("description"), max_length=100, unique=True)
    payment_days = models.PositiveSmallIntegerField(
        _("payment days"),
        null=True,
        blank=True,
        help_text=_(
            "Invoices are due this many days after issue. Empty = the account's own payment terms."
        ),
    )
    collection = models.CharField(
        _("collection"), max_length=10, choices=Collection.choices, default=Collection.MANUAL
    )
    charges_before_activation = models.BooleanField(
        _("Storefront charges before activating"),
        default=False,
        help_text=_("The Storefront charges the card before the subscription is activated."),
    )
    notification_plan = models.ForeignKey(
        "payments.NotificationPlan",
        verbose_name=_("notification plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_methods",
        help_text=_("Reminders for overdue invoices; empty = the default plan."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            choices_constraint("collection", Collection, "payments_method_collection_valid"),
            models.CheckConstraint(
                condition=Q(payment_days__isnull=True) | Q(payment_days__lte=365),
                name="payments_method_payment_days_range",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def get_absolute_url(self) -> str:
        return reverse("payments:method_edit", kwargs={"pk": self.pk})

    @property
    def is_gateway(self) -> bool:
        return self.collection == Collection.GATEWAY


class AccountPaymentSettings(TimeStampedModel):
    """How one account pays: its method, auto-charge, and its card at the gateway.

    Only the gateway's customer and payment-method ids and the card's brand and last 4
    digits are kept; the card number never reaches the BSS.
    """

    account = models.OneToOneField(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="payment_settings",
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        verbose_name=_("payment method"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    auto_charge = models.BooleanField(_("charge the card when an invoice is issued"), default=False)
    gateway_customer_id = models.CharField(_("gateway customer"), max_length=100, blank=True)
    gateway_payment_method_id = models.CharField(
        _("gateway card token"), max_length=100, blank=True
    )
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        verbose_name = _("account payment settings")
        verbose_name_plural = _("account payment settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="payments_settings_last4_digits",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.payment_method or '-'}"

    @property
    def has_card(self) -> bool:
        return bool(self.gateway_customer_id and self.gateway_payment_method_id)


# ------------------------------------------------------------------------------- payments


class PaymentType(models.TextChoices):
    CASH = "cash", _("Cash")
    DEPOSIT = "deposit", _("Deposit")
    CHECK = "check", _("Check")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CARD = "card", _("Card")


MANUAL_PAYMENT_TYPES = (
    PaymentType.CASH,
    PaymentType.DEPOSIT,
    PaymentType.CHECK,
    PaymentType.BANK_TRANSFER,
)


class PaymentStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    VOID = "void", _("Void")


class Payment(TimeStampedModel):
    """Money received from a customer (or a card charge that failed, kept for the record)."""

    Type = PaymentType
    Status = PaymentStatus

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    payment_type = models.CharField(_("type"), max_length=20, choices=PaymentType.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.COMPLETED
    )
    payment_date = models.DateField(_("payment date"))
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    applied_amount = _money(_("applied"), default=0)
    refunded_amount = _money(_("refunded"), default=0)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    gateway_reference = models.CharField(
        _("gateway reference"),
        max_length=100,
        blank=True,
        help_text=_("The gateway's payment intent, for card payments."),
    )
    failure_message = models.CharField(_("failure"), max_length=300, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("charged for invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The invoice a card charge was made for."),
    )
    subscription_id = models.BigIntegerField(
        _("upcoming renewal of subscription"),
        null=True,
        blank=True,
        help_text=_("An upcoming payment waits for this subscription's renewal invoice."),
    )
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-payment_date", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["account", "status"], name="payments_payment_acct_status"),
        ]
        constraints = [
            choices_constraint("payment_type", PaymentType, "payments_payment_type_valid"),
            choices_constraint("status", PaymentStatus, "payments_payment_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_positive"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0, refunded_amount__gte=0)
                & Q(amount__gte=F("applied_amount") + F("refunded_amount")),
                name="payments_payment_within_amount",
            ),
            # One payment per gateway payment intent: the charge response and the webhook
            # that reports the same intent can never both record it.
            models.UniqueConstraint(
                fields=["gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="payments_payment_gateway_reference_once",
            ),
            # Spec §4.7: one upcoming payment per subscription renewal.
            models.UniqueConstraint(
                fields=["subscription_id", "renewal_date"],
                condition=Q(subscription_id__isnull=False) & ~Q(status="void"),
                name="payments_payment_once_per_renewal",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("payments:payment_detail", kwargs={"pk": self.pk})

    @property
    def unapplied_amount(self) -> Decimal:
        if self.status != PaymentStatus.COMPLETED:
            return Decimal(0)
        return self.amount - self.applied_amount - self.refunded_amount


class PaymentAllocation(models.Model):
    """Part of a payment settling an invoice; a reversal is a row with the negative amount."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="allocations"
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="payment_allocations",
    )
    amount = _money(_("amount"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payments_allocation_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class CreditApplication(models.Model):
    """Part of a credit invoice applied to a debit invoice; reversals are negative rows."""

    credit_invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("credit invoice"),
        on_delete=models.PROTECT,
        related_name="credit_applications",
    )
    debit_invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("debit invoice"),
        on_delete=models.PROTECT,
        related_name="credits_applied",
    )
    amount = _money(_("amount"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("credit application")
        verbose_name_plural = _("credit applications")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payments_credit_app_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.credit_invoice_id} → {self.debit_invoice_id}: {self.amount}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending at the gateway")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class Refund(TimeStampedModel):
    """Money given back on a payment, by hand or through the gateway for card payments."""

    Status = RefundStatus

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    refund_date = models.DateField(_("refund date"))
    status = models.CharField(
        _("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.COMPLETED
    )
    via_gateway = models.BooleanField(_("through the gateway"), default=False)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    failure_message = models.CharField(_("failure"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    visibility_owner_field = "payment__account__owner"
    visibility_rule_field = "payment__account__permission_rule"

    class Meta:
        ordering = ["-refund_date", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            choices_constraint("status", RefundStatus, "payments_refund_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_positive"),
            models.UniqueConstraint(
                fields=["gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="payments_refund_gateway_reference_once",
            ),
        ]

    def __str__(self) -> str:
        return self.number


# ----------------------------------------------------------------------- card charging


class ChargeAttemptStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Not needed any more")


class ChargeAttempt(TimeStampedModel):
    """One try at charging an invoice's balance to the account's card.

    The idempotency key is made of the invoice and the attempt number, so resending the
    same attempt (after a timeout) never charges twice; a retry after a decline is the
    next attempt with its own key, due at ``next_try_at`` by the retry plan.
    """

    Status = ChargeAttemptStatus

    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="charge_attempts",
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ChargeAttemptStatus.choices,
        default=ChargeAttemptStatus.PENDING,
    )
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    next_try_at = models.DateTimeField(_("send at"), db_index=True)
    sends = models.PositiveSmallIntegerField(_("times sent"), default=0)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["invoice", "attempt"]
        verbose_name = _("card charge attempt")
        verbose_name_plural = _("card charge attempts")
        constraints = [
            choices_constraint("status", ChargeAttemptStatus, "payments_attempt_status_valid"),
            models.UniqueConstraint(fields=["invoice", "attempt"], name="payments_attempt_once"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class TransactionKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    CARD = "card", _("Card")
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")


class TransactionOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    TIMEOUT = "timeout", _("No answer")


class PaymentTransaction(models.Model):
    """The payment transactions log: one row per call to the gateway and its outcome."""

    Kind = TransactionKind
    Outcome = TransactionOutcome

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TransactionKind.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=TransactionOutcome.choices)
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    amount = _money(_("amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("payment transaction")
        verbose_name_plural = _("payment transactions")
        constraints = [
            choices_constraint("kind", TransactionKind, "payments_transaction_kind_valid"),
            choices_constraint("outcome", TransactionOutcome, "payments_transaction_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_outcome_display()}"


class GatewayEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Signature invalid")
    DUPLICATE = "duplicate", _("Already received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Not of interest")
    FAILED = "failed", _("Failed")


class GatewayEvent(models.Model):
    """The webhook inbox: every delivery is stored raw before anything else happens.

    ``event_id`` is set only once the signature is verified, and it is unique, so a
    redelivered event is recognized and processed once; a forged body cannot take an id.
    """

    Status = GatewayEventStatus

    gateway = models.CharField(_("gateway"), max_length=30)
    event_id = models.CharField(_("event id"), max_length=100, null=True, blank=True, unique=True)
    event_type = models.CharField(_("type"), max_length=100, blank=True)
    body = models.TextField(_("raw body"))
    signature = models.CharField(_("signature header"), max_length=500, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=GatewayEventStatus.choices,
        default=GatewayEventStatus.RECEIVED,
    )
    error = models.CharField(_("error"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        constraints = [
            choices_constraint("status", GatewayEventStatus, "payments_gatewayevent_status_valid")
        ]

    def __str__(self) -> str:
        return self.event_id or f"#{self.pk}"


# ------------------------------------------------------------------ notification plans


class DunningAction(models.TextChoices):
    NONE = "none", _("Only the notification")
    SUSPEND_SUBSCRIPTIONS = "suspend_subscriptions", _("Suspend the account's subscriptions")
    BLOCK_ORDERING = "block_ordering", _("Block ordering")


class NotificationPlan(TimeStampedModel):
    """Reminders (and actions) for overdue invoices, on days after the due date (spec §2.5)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default plan"),
        default=False,
        help_text=_("Applies to accounts whose payment method names no plan."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("notification plan")
        verbose_name_plural = _("notification plans")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="payments_plan_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("payments:plan_detail", kwargs={"pk": self.pk})


class NotificationPlanStep(models.Model):
    Action = DunningAction

    plan = models.ForeignKey(
        NotificationPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="steps"
    )
    offset_days = models.PositiveSmallIntegerField(_("days after the due date"))
    notification = models.CharField(
        _("notification"),
        max_length=100,
        default="invoice_reminder",
        help_text=_("Code of the notification sent (a plan-only notification)."),
    )
    action = models.CharField(
        _("action"), max_length=30, choices=DunningAction.choices, default=DunningAction.NONE
    )

    class Meta:
        ordering = ["plan", "offset_days"]
        verbose_name = _("notification plan step")
        verbose_name_plural = _("notification plan steps")
        constraints = [
            choices_constraint("action", DunningAction, "payments_step_action_valid"),
            models.UniqueConstraint(fields=["plan", "offset_days"], name="payments_step_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: +{self.offset_days}"


class DunningRun(models.Model):
    """A plan step run for one invoice: exactly once, by the unique (invoice, step) pair."""

    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="dunning_runs",
    )
    step = models.ForeignKey(
        NotificationPlanStep, verbose_name=_("step"), on_delete=models.PROTECT, related_name="runs"
    )
    run_on = models.DateField(_("run on"))
    action = models.CharField(_("action"), max_length=30, choices=DunningAction.choices)
    action_note = models.CharField(_("action taken"), max_length=300, blank=True)
    suspended_subscription_ids = models.JSONField(
        _("subscriptions suspended"),
        default=list,
        blank=True,
        help_text=_("Resumed when the invoice is paid."),
    )
    resumed_at = models.DateTimeField(_("services resumed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    visibility_owner_field = "invoice__billing_account__owner"
    visibility_rule_field = "invoice__billing_account__permission_rule"

    class Meta:
        ordering = ["-run_on", "-pk"]
        verbose_name = _("notification plan run")
        verbose_name_plural = _("notification plan runs")
        constraints = [
            choices_constraint("action", DunningAction, "payments_run_action_valid"),
            models.UniqueConstraint(fields=["invoice", "step"], name="payments_run_once_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} @ {self.step}"
