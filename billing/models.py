"""Billing records: taxes, VAT number checks, charges, invoices and their numbering.

Amounts are Decimals. Unit prices keep 4 decimals; every other amount is stored already
rounded half-up to its currency's minor unit (``bss.core.money.quantize``) in a column
wide enough for any currency (4 places), so a JPY amount reads ``1200.0000`` from the
database and equals ``Decimal("1200")``.

Sign convention: a debit invoice bills the customer, a credit invoice gives money back;
both carry positive totals and the kind says which way the money goes. Lines may be
negative (a prorated credit on a debit invoice). Charges carry their own sign: credit
kinds are negative, debit kinds positive.
"""

from __future__ import annotations

from datetime import date, timedelta
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
RATE_DIGITS = 7
RATE_PLACES = 4
EXCHANGE_RATE_DIGITS = 24
EXCHANGE_RATE_PLACES = 10


def _money(label: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


# --------------------------------------------------------------------------------- taxes


class Tax(TimeStampedModel):
    """A tax the organization charges, with its default rate in percent."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(
        _("name"), max_length=100, help_text=_("As printed on invoices, e.g. “VAT”.")
    )
    rate = models.DecimalField(_("rate (%)"), max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    is_vat = models.BooleanField(
        _("value added tax"),
        default=False,
        help_text=_("EU reverse charge removes VAT taxes only."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("tax")
        verbose_name_plural = _("taxes")
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lte=100), name="billing_tax_rate_percent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate.normalize():f} % ({self.code})"


class TaxRule(models.Model):
    """Where a tax applies: a country, optionally one state of it, optionally one product type.

    The most specific matching rule wins (state and type, then state, then type, then
    the country alone). An exempt rule stops the tax there, e.g. a country-wide VAT
    with a province that does not charge it; ``rate`` overrides the tax's rate for a
    province with a different one.
    """

    tax = models.ForeignKey(
        Tax, verbose_name=_("tax"), on_delete=models.CASCADE, related_name="rules"
    )
    country = models.CharField(_("country"), max_length=2)
    state = models.CharField(
        _("state or province"), max_length=10, blank=True, help_text=_("Empty = the whole country.")
    )
    product_type = models.ForeignKey(
        "catalogue.ProductType",
        verbose_name=_("product type"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty = every product type."),
    )
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=RATE_DIGITS,
        decimal_places=RATE_PLACES,
        null=True,
        blank=True,
        help_text=_("Empty = the tax's own rate."),
    )
    is_exempt = models.BooleanField(_("exempt"), default=False)

    class Meta:
        ordering = ["tax", "country", "state", "product_type_id"]
        verbose_name = _("tax rule")
        verbose_name_plural = _("tax rules")
        constraints = [
            models.UniqueConstraint(
                fields=["tax", "country", "state", "product_type"],
                condition=Q(product_type__isnull=False),
                name="billing_taxrule_once_per_type",
                violation_error_message=_("The tax already has a rule for this place and type."),
            ),
            # NULL never collides in a unique index, so "every type" rules need their own.
            models.UniqueConstraint(
                fields=["tax", "country", "state"],
                condition=Q(product_type__isnull=True),
                name="billing_taxrule_once_for_all_types",
                violation_error_message=_("The tax already has a rule for this place."),
            ),
            models.CheckConstraint(
                condition=Q(rate__isnull=True) | Q(rate__gte=0, rate__lte=100),
                name="billing_taxrule_rate_percent",
            ),
            models.CheckConstraint(
                condition=Q(is_exempt=False) | Q(rate__isnull=True),
                name="billing_taxrule_exempt_has_no_rate",
            ),
        ]

    def __str__(self) -> str:
        place = f"{self.country}-{self.state}" if self.state else self.country
        return f"{self.tax.code} @ {place}"


class VatStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    INVALID = "invalid", _("Invalid")
    UNAVAILABLE = "unavailable", _("VIES unavailable")
    UNCHECKED = "unchecked", _("Not checked")


class VatNumberCheck(models.Model):
    """One answer of the VAT number checker (VIES); the newest answer for a number counts."""

    vat_number = models.CharField(_("VAT number"), max_length=30, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=VatStatus.choices)
    registered_name = models.CharField(_("registered name"), max_length=300, blank=True)
    registered_address = models.TextField(_("registered address"), blank=True)
    checker = models.CharField(_("checked with"), max_length=100)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    checked_at = models.DateTimeField(_("checked at"), db_index=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        verbose_name = _("VAT number check")
        verbose_name_plural = _("VAT number checks")
        constraints = [
            choices_constraint("status", VatStatus, "billing_vatnumbercheck_status_valid")
        ]

    def __str__(self) -> str:
        return f"{self.vat_number}: {self.get_status_display()}"


class BillingSettings(TimeStampedModel):
    """Organization-wide billing options (one row, pk 1): what every invoice prints."""

    SINGLETON_PK = 1

    payment_instructions = models.TextField(
        _("payment instructions"),
        blank=True,
        help_text=_(
            "Printed on debit invoices. May use {number}, {due_date} and {amount}, e.g. "
            "“Pay {amount} by {due_date} to IBAN … quoting {number}.”"
        ),
    )
    footer = models.TextField(_("invoice footer"), blank=True)

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="billing_billingsettings_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Billing settings"))


# ------------------------------------------------------------------------------ numbering


class InvoiceKind(models.TextChoices):
    DEBIT = "debit", _("Debit invoice")
    CREDIT = "credit", _("Credit invoice")


class InvoiceSeries(TimeStampedModel):
    """A numbering series: ``pattern`` with {prefix}, {year} and {number} (zero-padded)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("for"), max_length=10, choices=InvoiceKind.choices)
    is_default = models.BooleanField(_("default for its kind"), default=False)
    prefix = models.CharField(_("prefix"), max_length=20, blank=True)
    pattern = models.CharField(_("pattern"), max_length=60, default="{prefix}-{year}-{number}")
    padding = models.PositiveSmallIntegerField(_("digits"), default=6)
    resets_yearly = models.BooleanField(
        _("restart every year"),
        default=True,
        help_text=_("Numbering starts at 1 each calendar year; the pattern must show the year."),
    )

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("invoice series")
        verbose_name_plural = _("invoice series")
        constraints = [
            choices_constraint("kind", InvoiceKind, "billing_invoiceseries_kind_valid"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_default=True),
                name="billing_invoiceseries_one_default_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(padding__gte=1, padding__lte=12), name="billing_invoiceseries_padding"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class InvoiceCounter(models.Model):
    """The next number of a series (per year when it restarts yearly; else year 0).

    Taken ``FOR UPDATE`` in the transaction that issues, so numbers are handed out one
    issuer at a time and a rolled-back issue gives its number back: unique and gapless.
    """

    series = models.ForeignKey(InvoiceSeries, on_delete=models.CASCADE, related_name="counters")
    year = models.PositiveSmallIntegerField()
    next_value = models.PositiveBigIntegerField(default=1)
    last_invoice_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("invoice counter")
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="billing_invoicecounter_once"),
            models.CheckConstraint(
                condition=Q(next_value__gte=1), name="billing_invoicecounter_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series_id}/{self.year}: {self.next_value}"


# ------------------------------------------------------------------------------ invoices


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", _("Void")


class InvoiceOrigin(models.TextChoices):
    CHARGES = "charges", _("Billing")
    MANUAL = "manual", _("Manual")


OPEN_STATUSES = (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)

# The one table of allowed status changes; services refuse every other one.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.UNPAID, InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.UNPAID: frozenset(
        {InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID, InvoiceStatus.OVERDUE}
    ),
    InvoiceStatus.PARTIALLY_PAID: frozenset(
        {InvoiceStatus.UNPAID, InvoiceStatus.PAID, InvoiceStatus.OVERDUE}
    ),
    InvoiceStatus.OVERDUE: frozenset({InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID}),
    # A reversed or refunded payment reopens a paid invoice.
    InvoiceStatus.PAID: frozenset({InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID}),
    InvoiceStatus.VOID: frozenset(),
}


class Invoice(TimeStampedModel):
    Kind = InvoiceKind
    Status = InvoiceStatus
    Origin = InvoiceOrigin

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.DEBIT)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    origin = models.CharField(
        _("origin"), max_length=10, choices=Origin.choices, default=Origin.CHARGES
    )
    series = models.ForeignKey(
        InvoiceSeries, verbose_name=_("series"), on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(_("number"), max_length=40, null=True, blank=True, unique=True)
    sequence_number = models.PositiveBigIntegerField(_("sequence"), null=True, blank=True)
    sequence_year = models.PositiveSmallIntegerField(null=True, blank=True)
    invoice_date = models.DateField(
        _("invoice date"), null=True, blank=True, help_text=_("Empty on a draft = the issue day.")
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing account"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    currency = models.CharField(_("currency"), max_length=3)
    transaction_currency = models.CharField(_("transaction currency"), max_length=3, blank=True)
    exchange_rate = models.DecimalField(
        _("exchange rate"),
        max_digits=EXCHANGE_RATE_DIGITS,
        decimal_places=EXCHANGE_RATE_PLACES,
        null=True,
        blank=True,
        help_text=_("Units of the transaction currency per unit of the invoice currency."),
    )
    net_total = _money(_("net"), default=0)
    tax_total = _money(_("tax"), default=0)
    gross_total = _money(_("total"), default=0)
    balance_due = _money(_("balance due"), default=0)
    transaction_net_total = _money(_("net (transaction currency)"), null=True, blank=True)
    transaction_tax_total = _money(_("tax (transaction currency)"), null=True, blank=True)
    transaction_gross_total = _money(_("total (transaction currency)"), null=True, blank=True)
    linked_invoice = models.ForeignKey(
        "self",
        verbose_name=_("related debit invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_invoices",
    )
    is_reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    tax_note = models.CharField(_("tax note"), max_length=300, blank=True)
    hold_reason = models.CharField(
        _("held because"),
        max_length=200,
        blank=True,
        help_text=_("Why issuing is waiting (e.g. VIES unavailable); cleared on issue."),
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=30, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_address = models.TextField(_("customer address"), blank=True)
    customer_country = models.CharField(_("customer country"), max_length=2, blank=True)
    customer_state = models.CharField(_("customer state"), max_length=10, blank=True)
    customer_vat_number = models.CharField(_("customer VAT number"), max_length=30, blank=True)
    seller_details = models.JSONField(_("seller details"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    pdf = models.FileField(_("PDF"), upload_to="invoices/", max_length=200, blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)

    visibility_owner_field = "billing_account__owner"
    visibility_rule_field = "billing_account__permission_rule"

    class Meta:
        ordering = ["-invoice_date", "-pk"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["billing_account", "status"], name="billing_invoice_acct_status"),
            models.Index(fields=["status", "due_date"], name="billing_invoice_status_due"),
        ]
        constraints = [
            choices_constraint("kind", InvoiceKind, "billing_invoice_kind_valid"),
            choices_constraint("status", InvoiceStatus, "billing_invoice_status_valid"),
            choices_constraint("origin", InvoiceOrigin, "billing_invoice_origin_valid"),
            # Only an issued invoice has a number; a draft or a voided draft never has one.
            models.CheckConstraint(
                condition=(
                    Q(
                        status__in=["draft", "void"],
                        number__isnull=True,
                        sequence_number__isnull=True,
                    )
                    | (
                        ~Q(status__in=["draft", "void"])
                        & Q(
                            number__isnull=False,
                            sequence_number__isnull=False,
                            invoice_date__isnull=False,
                            due_date__isnull=False,
                            issued_at__isnull=False,
                        )
                    )
                ),
                name="billing_invoice_number_iff_issued",
            ),
            models.UniqueConstraint(
                fields=["series", "sequence_year", "sequence_number"],
                name="billing_invoice_sequence_once",
            ),
            models.CheckConstraint(
                condition=Q(kind="credit") | Q(linked_invoice__isnull=True),
                name="billing_invoice_only_credits_link",
            ),
            models.CheckConstraint(
                condition=Q(balance_due__gte=0), name="billing_invoice_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("Draft %(id)s") % {"id": self.pk})

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice_detail", kwargs={"pk": self.pk})

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_credit(self) -> bool:
        return self.kind == InvoiceKind.CREDIT


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField(_("position"))
    product = models.ForeignKey(
        "catalogue.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Becomes a foreign key once the subscriptions app exists.
    subscription_id = models.BigIntegerField(_("subscription"), null=True, blank=True)
    charge = models.ForeignKey(
        "billing.Charge",
        verbose_name=_("charge"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_lines",
    )
    credited_line = models.ForeignKey(
        "self",
        verbose_name=_("credits line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_lines",
    )
    description = models.CharField(_("description"), max_length=300)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(
        _("period end"), null=True, blank=True, help_text=_("Exclusive: the day after the last.")
    )
    quantity = models.DecimalField(_("quantity"), max_digits=MONEY_DIGITS, decimal_places=4)
    unit_price = _money(_("unit price"))
    amount = _money(_("amount"), help_text=_("Before discount, rounded to the currency."))
    discount = _money(_("discount"), default=0)
    net = _money(_("net"))
    is_taxable = models.BooleanField(_("taxable"), default=True)
    applied_taxes = models.JSONField(
        _("taxes"), default=list, blank=True, help_text=_("Frozen at issue: code, name, rate.")
    )

    class Meta:
        ordering = ["invoice", "position", "pk"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="billing_line_position_once"
            ),
            models.CheckConstraint(
                condition=(Q(period_start__isnull=True) & Q(period_end__isnull=True))
                | Q(period_end__gt=F("period_start")),
                name="billing_line_period_half_open",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def last_day(self) -> date | None:
        """The inclusive end people read on an invoice: [1 Jul, 1 Aug) shows as 31 Jul."""
        return self.period_end - timedelta(days=1) if self.period_end else None


class InvoiceTaxLine(models.Model):
    """One line per tax: the rate applied to the sum of the nets of the lines bearing it."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="tax_lines"
    )
    tax = models.ForeignKey(
        Tax,
        verbose_name=_("tax"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    rate = models.DecimalField(_("rate (%)"), max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    taxable_amount = _money(_("taxable amount"))
    amount = _money(_("tax"))
    transaction_amount = _money(_("tax (transaction currency)"), null=True, blank=True)

    class Meta:
        ordering = ["invoice", "code", "rate"]
        verbose_name = _("invoice tax line")
        verbose_name_plural = _("invoice tax lines")
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "code", "rate"], name="billing_taxline_once_per_tax"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate.normalize():f} %"


# ------------------------------------------------------------------------------- charges


class ChargeKind(models.TextChoices):
    RECURRING_ADVANCE = "recurring_advance", _("Recurring charge in advance")
    RECURRING_ARREARS = "recurring_arrears", _("Recurring charge in arrears")
    PRORATED_CHARGE = "prorated_charge", _("Prorated charge")
    PRORATED_CREDIT = "prorated_credit", _("Prorated credit")
    ONE_TIME = "one_time", _("One-time charge")
    SETUP_FEE = "setup_fee", _("Setup fee")
    USAGE = "usage", _("Usage")
    REFUND_CREDIT = "refund_credit", _("Refund credit")
    REBATE_CREDIT = "rebate_credit", _("Rebate credit")
    MANUAL_ADJUSTMENT = "manual_adjustment", _("Manual adjustment")


CREDIT_CHARGE_KINDS = (
    ChargeKind.PRORATED_CREDIT,
    ChargeKind.REFUND_CREDIT,
    ChargeKind.REBATE_CREDIT,
)
DEBIT_CHARGE_KINDS = (
    ChargeKind.RECURRING_ADVANCE,
    ChargeKind.RECURRING_ARREARS,
    ChargeKind.PRORATED_CHARGE,
    ChargeKind.ONE_TIME,
    ChargeKind.SETUP_FEE,
    ChargeKind.USAGE,
)


class Charge(models.Model):
    """One billable amount, created once: its natural key is unique and inserts skip conflicts.

    Subscription charges are keyed by (subscription, period start, period end, kind,
    source change); ``source_change_id`` is 0 when no change row caused the charge, so
    the key has no NULL in it (NULLs never collide in a unique index). Account-level
    charges without a subscription (rebate credits, manual adjustments) are keyed by
    ``(account, idempotency_key)`` when they carry a key.
    """

    Kind = ChargeKind

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Whose subscription it is."),
    )
    billing_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing account"),
        on_delete=models.PROTECT,
        related_name="charges",
        help_text=_("Who receives the invoice."),
    )
    subscription_id = models.BigIntegerField(_("subscription"), null=True, blank=True)
    source_change_id = models.BigIntegerField(_("source change"), default=0)
    idempotency_key = models.CharField(max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    product = models.ForeignKey(
        "catalogue.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Exclusive."))
    bill_on = models.DateField(_("invoice on"), db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    quantity = models.DecimalField(_("quantity"), max_digits=MONEY_DIGITS, decimal_places=4)
    unit_price = _money(_("unit price"))
    amount = _money(_("amount"), help_text=_("Rounded; negative for credits."))
    discount = _money(_("discount"), default=0)
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charges",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    visibility_owner_field = "billing_account__owner"
    visibility_rule_field = "billing_account__permission_rule"

    class Meta:
        ordering = ["bill_on", "pk"]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        indexes = [
            models.Index(
                fields=["billing_account", "currency", "bill_on"],
                condition=Q(invoice__isnull=True),
                name="billing_charge_uninvoiced",
            )
        ]
        constraints = [
            choices_constraint("kind", ChargeKind, "billing_charge_kind_valid"),
            models.UniqueConstraint(
                fields=[
                    "subscription_id",
                    "period_start",
                    "period_end",
                    "kind",
                    "source_change_id",
                ],
                condition=Q(subscription_id__isnull=False),
                name="billing_charge_natural_key",
            ),
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=Q(subscription_id__isnull=True) & ~Q(idempotency_key=""),
                name="billing_charge_account_key",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")),
                name="billing_charge_period_half_open",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in CREDIT_CHARGE_KINDS], amount__lte=0)
                | Q(kind__in=[k.value for k in DEBIT_CHARGE_KINDS], amount__gte=0)
                | Q(kind=ChargeKind.MANUAL_ADJUSTMENT.value),
                name="billing_charge_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"

    @property
    def net(self) -> Decimal:
        return self.amount - self.discount


# --------------------------------------------------------------------------- billing runs


class BillingRunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


ACTIVE_RUN_STATUSES = (BillingRunStatus.QUEUED, BillingRunStatus.RUNNING)


class BillingRun(TimeStampedModel):
    """One billing run for a run date: which accounts it billed and what came out.

    The work is split into chunks of accounts (``BillingRunAccount.chunk``) that workers
    share. Correctness never depends on this row: each account is billed under its own
    row lock, charges are keyed and only uninvoiced charges are invoiced, so a second
    run of the same date, a retried chunk or a run restarted after a crash finds
    nothing left to do where the first one finished.
    """

    Status = BillingRunStatus

    run_date = models.DateField(_("run date"))
    is_dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    chunk_size = models.PositiveIntegerField(_("accounts per chunk"), default=200)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    accounts_total = models.PositiveIntegerField(_("accounts"), default=0)
    accounts_done = models.PositiveIntegerField(_("accounts done"), default=0)
    accounts_failed = models.PositiveIntegerField(_("accounts failed"), default=0)
    invoices_count = models.PositiveIntegerField(_("invoices"), default=0)
    credit_invoices_count = models.PositiveIntegerField(_("credit invoices"), default=0)
    errors_count = models.PositiveIntegerField(_("errors"), default=0)
    amounts = models.JSONField(
        _("amount per currency"),
        default=dict,
        blank=True,
        help_text=_("Debit minus credit invoice totals, per currency, as decimal strings."),
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        indexes = [models.Index(fields=["run_date", "status"], name="billing_run_date_status")]
        constraints = [
            choices_constraint("status", BillingRunStatus, "billing_billingrun_status_valid"),
        ]

    def __str__(self) -> str:
        label = _("Dry run") if self.is_dry_run else _("Billing run")
        return f"{label} {self.run_date:%Y-%m-%d} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("billing:run_detail", kwargs={"pk": self.pk})

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def progress_percent(self) -> int:
        if not self.accounts_total:
            return 100 if not self.is_active else 0
        return int(100 * (self.accounts_done + self.accounts_failed) / self.accounts_total)


class BillingRunAccountStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BillingRunAccount(models.Model):
    """One billing account of a run: its chunk, the outcome and, if it failed, why."""

    Status = BillingRunAccountStatus

    run = models.ForeignKey(
        BillingRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="accounts"
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("billing account"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    chunk = models.PositiveIntegerField(_("chunk"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.PENDING,
    )
    charges_count = models.PositiveIntegerField(_("charges"), default=0)
    invoice_ids = models.JSONField(_("invoices"), default=list, blank=True)
    invoices_count = models.PositiveIntegerField(_("invoices"), default=0)
    credit_invoices_count = models.PositiveIntegerField(_("credit invoices"), default=0)
    amounts = models.JSONField(_("amount per currency"), default=dict, blank=True)
    held = models.TextField(_("held invoices"), blank=True)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["run", "chunk", "account_id"]
        verbose_name = _("billing run account")
        verbose_name_plural = _("billing run accounts")
        indexes = [
            models.Index(fields=["run", "chunk", "status"], name="billing_runacct_chunk"),
            models.Index(fields=["run", "status"], name="billing_runacct_status"),
        ]
        constraints = [
            choices_constraint(
                "status", BillingRunAccountStatus, "billing_billingrunaccount_status_valid"
            ),
            models.UniqueConstraint(fields=["run", "account"], name="billing_runaccount_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.account_id}: {self.get_status_display()}"
