"""Customers: accounts, their contacts, addresses, price lists, rebates and documents.

Contacts, addresses and documents have no owner of their own: they are visible to whoever
may see their account (``visibility_owner_field = "account__owner"``), so a permission
rule that opens an account opens everything hanging on it, on every page and in the API.
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bss.core.constraints import choices_constraint
from bss.core.models import OwnedRecord, TimeStampedModel

MONEY_DIGITS = 14
MONEY_PLACES = 2
LAST_FIXED_BILLING_DAY = 28
MAX_PAYMENT_DAYS = 365


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH = "cash", _("Cash or deposit")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")
    CARD = "card", _("Card (online)")


class PartialCharges(models.TextChoices):
    ORDER_DAY = "order_day", _("On order day")
    BILLING_DAY = "billing_day", _("On the next billing day")


class BillingDayRule(models.TextChoices):
    FIRST = "first", _("First day of the month")
    LAST = "last", _("Last day of the month")
    FIRST_ORDER = "first_order", _("Day of the first order")
    FIXED = "fixed", _("A fixed day (1-28)")


class StorefrontRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    BILLING_AGENT = "billing_agent", _("Billing agent")
    SUBSCRIPTIONS_MANAGER = "subscriptions_manager", _("Subscriptions manager")
    BUYER = "buyer", _("Buyer")
    CLOUD_ADMINISTRATOR = "cloud_administrator", _("Cloud administrator")


class AddressKind(models.TextChoices):
    BILLING = "billing", _("Billing address")
    SHIPPING = "shipping", _("Shipping address")
    OTHER = "other", _("Other address")


class AddressValidation(models.TextChoices):
    UNCHECKED = "unchecked", _("Not checked")
    VALID = "valid", _("Valid")
    WARNING = "warning", _("Saved with warnings")


class RebateScope(models.TextChoices):
    ALL = "all", _("All invoice items")
    PRODUCTS = "products", _("Invoice items of specific products")


class RebatePeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    HALF_YEAR = "half_year", _("Half-year")
    YEAR = "year", _("Year")


class RebateMode(models.TextChoices):
    SCALE = "scale", _("Scale: each tier's percent on its slice")
    CONTINUOUS = "continuous", _("Continuous: the reached tier's percent on everything")


class Account(OwnedRecord):
    class Type(models.TextChoices):
        DIRECT = "direct", _("Direct customer")
        RESELLER = "reseller", _("Reseller")
        CLIENT = "client", _("Reseller's client")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    PaymentMethod = PaymentMethod
    PartialCharges = PartialCharges
    BillingDayRule = BillingDayRule

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
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_accounts",
        help_text=_("The salesperson who looks after the customer and receives its requests."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    transaction_currency = models.CharField(
        _("transaction currency"),
        max_length=3,
        blank=True,
        help_text=_("Optional second currency the customer transacts in."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        help_text=_("Documents and emails; empty = the organization's default."),
    )
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    lead_source = models.CharField(_("lead source"), max_length=50, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=30, blank=True, db_index=True)
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

    # Ordering & billing options ("Enable ordering").
    is_ordering_enabled = models.BooleanField(_("ordering enabled"), default=False)
    billing_account = models.ForeignKey(
        "self",
        verbose_name=_("billed through"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billed_accounts",
        help_text=_("Invoices go to this account instead (e.g. the reseller of a client)."),
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    state = models.CharField(_("state"), max_length=10, blank=True)
    payment_method = models.CharField(
        _("payment method"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.BANK_TRANSFER,
    )
    payment_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"),
        default=30,
        help_text=_("Net N: invoices are due N days after issue."),
    )
    is_taxable = models.BooleanField(_("taxable"), default=True)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    is_credit_unlimited = models.BooleanField(_("unlimited credit"), default=False)
    is_prorated = models.BooleanField(_("prorate billing"), default=False)
    partial_charges = models.CharField(
        _("partial charges invoicing"),
        max_length=20,
        choices=PartialCharges.choices,
        default=PartialCharges.ORDER_DAY,
    )
    billing_day_rule = models.CharField(
        _("billing day"),
        max_length=20,
        choices=BillingDayRule.choices,
        default=BillingDayRule.FIRST,
    )
    billing_day = models.PositiveSmallIntegerField(_("fixed billing day"), null=True, blank=True)
    first_order_date = models.DateField(_("first order"), null=True, blank=True, editable=False)

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
            choices_constraint(
                "payment_method", PaymentMethod, "accounts_account_payment_method_valid"
            ),
            choices_constraint(
                "partial_charges", PartialCharges, "accounts_account_partial_charges_valid"
            ),
            choices_constraint(
                "billing_day_rule", BillingDayRule, "accounts_account_billing_day_rule_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    billing_day_rule="fixed",
                    billing_day__gte=1,
                    billing_day__lte=LAST_FIXED_BILLING_DAY,
                )
                | (~Q(billing_day_rule="fixed") & Q(billing_day__isnull=True)),
                name="accounts_account_billing_day_matches_rule",
                violation_error_message=_(
                    "A fixed billing day is a day from 1 to 28; other rules have no fixed day."
                ),
            ),
            models.CheckConstraint(
                condition=Q(payment_days__lte=MAX_PAYMENT_DAYS),
                name="accounts_account_payment_days_range",
            ),
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="accounts_account_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(billing_account=F("id")),
                name="accounts_account_not_billed_through_itself",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:detail", kwargs={"pk": self.pk})


class Contact(TimeStampedModel):
    StorefrontRole = StorefrontRole

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    company_role = models.CharField(_("company role"), max_length=50, blank=True)
    email = models.EmailField(
        _("email"), help_text=_("Unique across contacts; the Storefront username.")
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=40, blank=True)
    fax = models.CharField(_("fax"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    is_bill_to = models.BooleanField(
        _("bill-to contact"), default=False, help_text=_("Receives the invoices.")
    )
    has_opted_in = models.BooleanField(
        _("opt-in"), default=False, help_text=_("Consents to the use of personal data.")
    )
    opted_in_at = models.DateTimeField(_("opted in at"), null=True, blank=True, editable=False)
    has_storefront_access = models.BooleanField(_("Storefront access"), default=False)
    storefront_role = models.CharField(
        _("Storefront role"), max_length=30, choices=StorefrontRole.choices, blank=True
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_contact_email_unique",
                violation_error_message=_("Another contact already uses this email."),
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_primary=True),
                name="accounts_contact_one_primary",
                violation_error_message=_("The account already has a primary contact."),
            ),
            models.CheckConstraint(
                condition=Q(has_storefront_access=False, storefront_role="")
                | Q(has_storefront_access=True, storefront_role__in=StorefrontRole.values),
                name="accounts_contact_storefront_role_matches_access",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def get_absolute_url(self) -> str:
        return reverse("accounts:contact_detail", kwargs={"pk": self.pk})


class Address(TimeStampedModel):
    Kind = AddressKind
    Validation = AddressValidation

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BILLING)
    label = models.CharField(_("label"), max_length=100, blank=True)
    name = models.CharField(_("recipient"), max_length=200, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    street_address = models.TextField(_("street address"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    city_area = models.CharField(_("district"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    sorting_code = models.CharField(_("sorting code"), max_length=20, blank=True)
    country_area = models.CharField(_("state or province"), max_length=100, blank=True)
    country_code = models.CharField(_("country"), max_length=2)
    validation_status = models.CharField(
        _("validation"), max_length=20, choices=Validation.choices, default=Validation.UNCHECKED
    )
    validation_notes = models.TextField(_("validation notes"), blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    ADDRESS_FIELDS = (
        "name",
        "company_name",
        "street_address",
        "city",
        "city_area",
        "postal_code",
        "sorting_code",
        "country_area",
        "country_code",
    )

    class Meta:
        ordering = ["account", "kind", "pk"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            choices_constraint("kind", AddressKind, "accounts_address_kind_valid"),
            choices_constraint(
                "validation_status", AddressValidation, "accounts_address_validation_valid"
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(kind="billing"),
                name="accounts_address_one_billing",
                violation_error_message=_("The account already has a billing address."),
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(
            part
            for part in (self.street_address.replace("\n", ", "), self.city, self.country_code)
            if part
        )

    def get_absolute_url(self) -> str:
        return reverse("accounts:address_edit", kwargs={"pk": self.pk})


class PriceListAssignment(models.Model):
    """A price list assigned to an account; it prices the account's new subscriptions only."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="price_list_assignments",
    )
    # Deleting a price list in the catalogue de-assigns it; subscriptions keep their prices.
    price_list = models.ForeignKey(
        "catalogue.PriceList",
        verbose_name=_("price list"),
        on_delete=models.CASCADE,
        related_name="account_assignments",
    )
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-assigned_at", "-pk"]
        verbose_name = _("price list assignment")
        verbose_name_plural = _("price list assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "price_list"],
                name="accounts_pricelistassignment_once",
                violation_error_message=_("The price list is already assigned to the account."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.price_list} → {self.account}"


class RebateTerm(TimeStampedModel):
    AppliesTo = RebateScope
    Period = RebatePeriod
    Mode = RebateMode

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="rebate_terms"
    )
    applies_to = models.CharField(
        _("applies to"), max_length=20, choices=AppliesTo.choices, default=AppliesTo.ALL
    )
    period = models.CharField(_("for"), max_length=20, choices=Period.choices, default=Period.MONTH)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.SCALE)
    products = models.ManyToManyField(
        "catalogue.Product", verbose_name=_("products"), blank=True, related_name="+"
    )

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["account", "applies_to", "period"]
        verbose_name = _("rebate term")
        verbose_name_plural = _("rebate terms")
        constraints = [
            choices_constraint("applies_to", RebateScope, "accounts_rebateterm_applies_to_valid"),
            choices_constraint("period", RebatePeriod, "accounts_rebateterm_period_valid"),
            choices_constraint("mode", RebateMode, "accounts_rebateterm_mode_valid"),
            models.UniqueConstraint(
                fields=["account", "applies_to", "period"],
                name="accounts_rebateterm_scope_period_once",
                violation_error_message=_(
                    "The account already has a rebate term with the same Applies To and For."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_applies_to_display()} / {self.get_period_display()}"


class RebateTier(models.Model):
    """Net amount from ``from_amount`` (inclusive) up to ``to_amount`` (exclusive) earns ``percent``."""

    term = models.ForeignKey(
        RebateTerm, verbose_name=_("rebate term"), on_delete=models.CASCADE, related_name="tiers"
    )
    from_amount = models.DecimalField(
        _("from"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES
    )
    to_amount = models.DecimalField(
        _("to"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    percent = models.DecimalField(_("percent"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["term", "from_amount"]
        verbose_name = _("rebate tier")
        verbose_name_plural = _("rebate tiers")
        constraints = [
            models.UniqueConstraint(
                fields=["term", "from_amount"], name="accounts_rebatetier_once"
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100), name="accounts_rebatetier_percent"
            ),
            models.CheckConstraint(
                condition=Q(from_amount__gte=0)
                & (Q(to_amount__isnull=True) | Q(to_amount__gt=F("from_amount"))),
                name="accounts_rebatetier_range",
            ),
        ]

    def __str__(self) -> str:
        upper = self.to_amount if self.to_amount is not None else "…"
        return f"{self.from_amount} to {upper}: {self.percent} %"


def document_upload_path(document: Document, filename: str) -> str:
    """A random stored name: the original name is kept in a column, never in the path."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    now = timezone.now()
    return f"documents/{now:%Y/%m}/{secrets.token_hex(16)}{suffix}"


class Document(TimeStampedModel):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="documents"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
    )
    name = models.CharField(
        _("name"),
        max_length=200,
        help_text=_("Shown in BSS and Storefront instead of the file name."),
    )
    stage = models.CharField(_("status"), max_length=50, blank=True)
    document_type = models.CharField(_("type"), max_length=50, blank=True)
    file = models.FileField(_("file"), upload_to=document_upload_path, max_length=300)
    original_filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    is_published = models.BooleanField(_("published to Storefront"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    visibility_owner_field = "account__owner"
    visibility_rule_field = "account__permission_rule"

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [models.Index(fields=["uploaded_by", "size"], name="accounts_document_quota_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:document_detail", kwargs={"pk": self.pk})


class AddressValidationMode(models.TextChoices):
    OFF = "off", _("Off: addresses are not checked")
    WARN = "warn", _("Warn: problems are shown, the address is saved")
    STRICT = "strict", _("Strict: an invalid address is refused")


DEFAULT_DOCUMENT_TYPES = [
    "pdf",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "txt",
    "csv",
    "docx",
    "xlsx",
    "pptx",
    "odt",
    "ods",
    "zip",
]


def default_document_types() -> list[str]:
    return list(DEFAULT_DOCUMENT_TYPES)


class CustomerSettings(TimeStampedModel):
    """Organization-wide options of the Customers module (one row, pk 1)."""

    SINGLETON_PK = 1

    address_validation = models.CharField(
        _("address validation"),
        max_length=10,
        choices=AddressValidationMode.choices,
        default=AddressValidationMode.STRICT,
    )
    document_types = models.JSONField(
        _("allowed file types"), default=default_document_types, blank=True
    )
    document_max_size_mb = models.PositiveIntegerField(_("maximum file size (MB)"), default=10)
    default_file_space_mb = models.PositiveIntegerField(
        _("file space per user (MB)"),
        default=500,
        help_text=_("For users without a limit of their own; 0 = may not upload."),
    )

    class Meta:
        verbose_name = _("customer settings")
        verbose_name_plural = _("customer settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="accounts_customersettings_singleton"),
            choices_constraint(
                "address_validation", AddressValidationMode, "accounts_customersettings_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Customer settings"))


class UserFileQuota(models.Model):
    """A user's own document file-space limit, overriding the organization's default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="file_quota",
    )
    limit_mb = models.PositiveIntegerField(_("file space (MB)"))

    class Meta:
        ordering = ["user__email"]
        verbose_name = _("user file space")
        verbose_name_plural = _("user file spaces")

    def __str__(self) -> str:
        return f"{self.user}: {self.limit_mb} MB"
