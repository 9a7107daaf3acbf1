"""Reads of the Customers module that pages, the API and higher apps share.

``billing_profile`` is everything the billing engine needs to know about an account;
``quote_for_account`` is the one price resolver for an account; ``available_credit`` is
the one credit computation. Higher apps feed the money terms through ``accounts.registry``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from accounts import registry
from accounts.models import (
    Account,
    AddressValidationMode,
    CustomerSettings,
    Document,
    PriceListAssignment,
    UserFileQuota,
)
from accounts.ordering import billing_day_in
from bss.core.money import format_money, quantize
from bss.core.visibility import visible_records
from bss.setup.models import Currency
from catalogue.models import PriceList, Product, ProductPlan
from catalogue.pricing import PriceQuote, quote_price

MEGABYTE = 1024 * 1024


# ------------------------------------------------------------------------------ settings


def customer_settings() -> CustomerSettings:
    """The organization's Customers options; defaults until someone saves them."""
    found = CustomerSettings.objects.filter(pk=CustomerSettings.SINGLETON_PK).first()
    return found or CustomerSettings(pk=CustomerSettings.SINGLETON_PK)


def address_validation_mode() -> str:
    mode = (
        CustomerSettings.objects.filter(pk=CustomerSettings.SINGLETON_PK)
        .values_list("address_validation", flat=True)
        .first()
    )
    return mode or AddressValidationMode.STRICT


# -------------------------------------------------------------------------------- status


def can_order(account: Account) -> bool:
    """Inactive accounts and accounts without ordering enabled place no new orders."""
    return account.status == Account.Status.ACTIVE and account.is_ordering_enabled


def transactions_of(account: Account) -> list[str]:
    """What the registered checks report (e.g. "3 orders"); empty when there is nothing."""
    found = []
    for check in registry.transaction_checks():
        described = check(account)
        if described:
            found.append(described)
    return found


def vat_number_holders(vat_number: str, *, exclude: Account | None = None) -> QuerySet[Account]:
    """Other accounts with the same VAT number (a warning, never a refusal)."""
    if not vat_number:
        return Account.objects.none()
    holders = Account.objects.filter(vat_number=vat_number)
    if exclude is not None and exclude.pk is not None:
        holders = holders.exclude(pk=exclude.pk)
    return holders.order_by("number")


def vat_duplicate_warning(vat_number: str, *, user: Any, exclude: Account | None = None) -> str:
    """A sentence naming the visible holders and counting the others, or ""."""
    holders = vat_number_holders(vat_number, exclude=exclude)
    total = holders.count()
    if not total:
        return ""
    shown = list(visible_records(holders, user)[:5])
    names = ", ".join(f"{account.number} {account.name}" for account in shown)
    hidden = total - len(shown)
    if names and hidden:
        return _(
            "The VAT number %(vat)s is also used by %(names)s and %(count)d more account(s)."
        ) % {"vat": vat_number, "names": names, "count": hidden}
    if names:
        return _("The VAT number %(vat)s is also used by %(names)s.") % {
            "vat": vat_number,
            "names": names,
        }
    return _("The VAT number %(vat)s is also used by %(count)d other account(s).") % {
        "vat": vat_number,
        "count": total,
    }


# ----------------------------------------------------------------------- billing profile


@dataclass(frozen=True)
class BillingProfile:
    """What billing reads about an account; nothing else of the account is its business.

    When the account is billed through another account, every invoicing option (currency,
    tax basis, terms, billing day, proration) comes from that billing account, which
    receives the invoices; ``account_id`` stays the account whose subscriptions they are.
    """

    account_id: int
    billing_account_id: int
    is_billed_through_another_account: bool
    currency: str
    language: str
    country: str
    state: str
    vat_number: str
    is_taxable: bool
    payment_method: str
    payment_days: int
    is_prorated: bool
    partial_charges: str
    billing_day_rule: str
    billing_day: int | None
    first_order_date: date | None

    @property
    def invoices_on_order_day(self) -> bool:
        return self.partial_charges == Account.PartialCharges.ORDER_DAY

    def billing_day_in(self, year: int, month: int) -> int:
        return billing_day_in(
            self.billing_day_rule, self.billing_day, self.first_order_date, year, month
        )

    def due_date(self, issued_on: date) -> date:
        return issued_on + timedelta(days=self.payment_days)


def billing_profile(account: Account) -> BillingProfile:
    payer = account.billing_account if account.billing_account_id else account
    assert payer is not None
    return BillingProfile(
        account_id=account.pk,
        billing_account_id=payer.pk,
        is_billed_through_another_account=payer.pk != account.pk,
        currency=payer.currency,
        language=payer.language,
        country=payer.country,
        state=payer.state,
        vat_number=payer.vat_number,
        is_taxable=payer.is_taxable,
        payment_method=payer.payment_method,
        payment_days=payer.payment_days,
        is_prorated=payer.is_prorated,
        partial_charges=payer.partial_charges,
        billing_day_rule=payer.billing_day_rule,
        billing_day=payer.billing_day,
        first_order_date=payer.first_order_date or account.first_order_date,
    )


# ----------------------------------------------------------------------------- pricing


def price_list_assignments(account: Account) -> QuerySet[PriceListAssignment]:
    return account.price_list_assignments.select_related("price_list", "assigned_by").order_by(
        "-assigned_at", "-pk"
    )


def price_lists_for(account: Account, on_date: date) -> list[PriceList]:
    """The account's assigned lists usable on ``on_date`` in its currency, newest assignment first."""
    usable = (
        Q(price_list__currency=account.currency, price_list__is_active=True)
        & (Q(price_list__valid_from__isnull=True) | Q(price_list__valid_from__lte=on_date))
        & (Q(price_list__valid_until__isnull=True) | Q(price_list__valid_until__gte=on_date))
    )
    return [assignment.price_list for assignment in price_list_assignments(account).filter(usable)]


def assignable_price_lists(account: Account, user: Any) -> QuerySet[PriceList]:
    """Active lists in the account currency the user may see and that are not assigned yet."""
    assigned = account.price_list_assignments.values("price_list_id")
    return (
        visible_records(PriceList.objects.filter(currency=account.currency, is_active=True), user)
        .exclude(pk__in=assigned)
        .order_by("name")
    )


def quote_for_account(
    account: Account,
    *,
    product: Product,
    plan: ProductPlan,
    quantity: Decimal | int,
    on_date: date,
    is_new_customer: bool = False,
    owned_product_ids: Collection[int] = frozenset(),
    cycle_number: int = 1,
    ordered_on: date | None = None,
) -> PriceQuote:
    """The price of ``quantity`` units for the account: its lists first, then the default list."""
    return quote_price(
        product=product,
        plan=plan,
        currency=account.currency,
        quantity=quantity,
        on_date=on_date,
        price_lists=price_lists_for(account, on_date),
        is_new_customer=is_new_customer,
        owned_product_ids=owned_product_ids,
        cycle_number=cycle_number,
        ordered_on=ordered_on,
    )


# ---------------------------------------------------------------------------- money figures


@dataclass(frozen=True)
class CreditBreakdown:
    limit: Decimal | None
    unpaid_debits: Decimal
    unapplied_credits: Decimal
    open_orders: Decimal
    available: Decimal | None


def _term_total(account: Account, term: str) -> Decimal:
    total = Decimal(0)
    for provider in registry.credit_term_providers(term):
        total += provider(account)
    return total


def credit_breakdown(account: Account) -> CreditBreakdown:
    """limit - unpaid debit invoices + unapplied credits and payments - unexecuted orders."""
    unpaid = _term_total(account, registry.UNPAID_DEBITS)
    credits = _term_total(account, registry.UNAPPLIED_CREDITS)
    orders = _term_total(account, registry.OPEN_ORDERS)
    if account.is_credit_unlimited:
        return CreditBreakdown(None, unpaid, credits, orders, None)
    available = quantize(account.credit_limit - unpaid + credits - orders, account.currency)
    return CreditBreakdown(account.credit_limit, unpaid, credits, orders, available)


def available_credit(account: Account) -> Decimal | None:
    """What the account may still spend, in its currency; None means unlimited."""
    return credit_breakdown(account).available


def currency_locale(code: str) -> str:
    culture = Currency.objects.filter(code=code).values_list("culture", flat=True).first()
    return culture or "en_US"


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    amount: Decimal | None
    shown: str
    hint: str = ""


def financial_summary(account: Account) -> list[Figure]:
    """The account page's summary cards; a figure no module provides yet reads "n/a"."""
    locale = currency_locale(account.currency)
    figures = []
    for key, label in registry.FIGURES.items():
        provider = registry.figure_provider(key)
        if provider is None:
            figures.append(Figure(key, label, None, _("n/a"), _("Comes with billing")))
            continue
        amount = provider(account)
        figures.append(Figure(key, label, amount, format_money(amount, account.currency, locale)))
    credit = available_credit(account)
    credit_label = _("Available credit")
    if credit is None:
        figures.insert(1, Figure("available_credit", credit_label, None, _("Unlimited")))
    else:
        figures.insert(
            1,
            Figure(
                "available_credit",
                credit_label,
                credit,
                format_money(credit, account.currency, locale),
                _("of %(limit)s")
                % {"limit": format_money(account.credit_limit, account.currency, locale)},
            ),
        )
    return figures


# --------------------------------------------------------------------------- documents


def file_space_limit_bytes(user: Any) -> int:
    own = UserFileQuota.objects.filter(user=user).values_list("limit_mb", flat=True).first()
    limit_mb = own if own is not None else customer_settings().default_file_space_mb
    return limit_mb * MEGABYTE


def file_space_used_bytes(user: Any) -> int:
    used = Document.objects.filter(uploaded_by=user).aggregate(total=Sum("size"))["total"]
    return int(used or 0)


def documents_of(account: Account) -> QuerySet[Document]:
    return account.documents.select_related("uploaded_by", "contact").order_by("-created_at", "-pk")
