"""Every write of billing: taxes, VAT number checks, charges, invoices and credit invoices.

Each service takes keyword-only arguments with ``actor`` first, runs in one transaction
with the audit actor set, and emits the domain event integrations care about. Rules:

* A charge is written once: its natural key is unique and inserts skip conflicts.
* A draft invoice groups the uninvoiced charges of one billing account and currency.
* Issuing assigns the number from the series counter locked in the same transaction,
  computes the taxes, freezes the customer and seller details, and queues the PDF.
  Only drafts change; an issued invoice is corrected by a credit invoice.
* Amounts are rounded half-up to the currency's minor unit per line; totals are sums
  of rounded lines; each tax line is its rate applied to the sum of the nets bearing
  it, rounded once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Account
from billing import numbering, selectors
from billing.customers import (
    customer_snapshot,
    profile_for,
    seller_details,
    transaction_currency_of,
)
from billing.models import (
    CREDIT_CHARGE_KINDS,
    DEBIT_CHARGE_KINDS,
    INVOICE_TRANSITIONS,
    OPEN_STATUSES,
    BillingSettings,
    Charge,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceOrigin,
    InvoiceSeries,
    InvoiceStatus,
    InvoiceTaxLine,
    Tax,
    TaxRule,
    VatNumberCheck,
    VatStatus,
)
from billing.taxes import (
    AppliedTax,
    TaxTable,
    VatNumberChecker,
    is_reverse_charge_candidate,
    taxes_for,
    vat_checker,
)
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import minor_units, prorate, quantize, quantize_unit_price
from bss.setup.currencies.selectors import ExchangeRateMissing, rate_on
from bss.setup.organization.selectors import organization

logger = logging.getLogger(__name__)

HUNDRED = Decimal(100)
EXCHANGE_RATE_QUANTUM = Decimal("1e-10")
ONE_DAY = timedelta(days=1)
MAX_NUMBER_PADDING = 12


class InvoiceHeld(ValidationError):
    """Issuing waits (e.g. VIES unavailable); the invoice stays a draft with the reason."""


# ------------------------------------------------------------------------------- taxes


def tax_save(
    *,
    actor: Any,
    tax: Tax | None = None,
    code: str,
    name: str,
    rate: Decimal,
    is_vat: bool = False,
    is_active: bool = True,
) -> Tax:
    if not Decimal(0) <= rate <= HUNDRED:
        raise ValidationError({"rate": _("A tax rate is a percent from 0 to 100.")})
    code = code.strip().upper()
    if Tax.objects.filter(code=code).exclude(pk=tax.pk if tax else None).exists():
        raise ValidationError({"code": _("Another tax already has the code %s.") % code})
    with transaction.atomic(), acting_as(actor):
        tax = tax or Tax()
        tax.code, tax.name, tax.rate = code, name.strip(), rate
        tax.is_vat, tax.is_active = is_vat, is_active
        tax.save()
    return tax


def tax_rule_save(
    *,
    actor: Any,
    rule: TaxRule | None = None,
    tax: Tax,
    country: str,
    state: str = "",
    product_type: Any = None,
    rate: Decimal | None = None,
    is_exempt: bool = False,
) -> TaxRule:
    country, state = country.strip().upper(), state.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValidationError({"country": _("Enter a two-letter ISO country code, e.g. GR.")})
    if is_exempt and rate is not None:
        raise ValidationError({"rate": _("An exempt rule has no rate.")})
    if rate is not None and not Decimal(0) <= rate <= HUNDRED:
        raise ValidationError({"rate": _("A tax rate is a percent from 0 to 100.")})
    clash = TaxRule.objects.filter(
        tax=tax, country=country, state=state, product_type=product_type
    ).exclude(pk=rule.pk if rule else None)
    if clash.exists():
        raise ValidationError(
            _("The tax %(tax)s already has a rule for this place and product type.")
            % {"tax": tax.code}
        )
    with transaction.atomic(), acting_as(actor):
        rule = rule or TaxRule()
        rule.tax, rule.country, rule.state = tax, country, state
        rule.product_type, rule.rate, rule.is_exempt = product_type, rate, is_exempt
        rule.save()
    return rule


# ---------------------------------------------------------------------------- settings

BILLING_SETTINGS_FIELDS = frozenset({"payment_instructions", "footer"})


def billing_settings_update(*, actor: Any, **fields: str) -> BillingSettings:
    """Change what every invoice prints (payment instructions, footer)."""
    unknown = set(fields) - BILLING_SETTINGS_FIELDS
    if unknown:
        raise ValidationError(_("Unknown billing settings: %s.") % ", ".join(sorted(unknown)))
    with transaction.atomic(), acting_as(actor):
        BillingSettings.objects.get_or_create(pk=BillingSettings.SINGLETON_PK)
        row = BillingSettings.objects.select_for_update().get(pk=BillingSettings.SINGLETON_PK)
        for name, value in fields.items():
            setattr(row, name, (value or "").strip())
        row.save(update_fields=[*fields, "updated_at"])
    return row


def invoice_series_update(
    *,
    actor: Any,
    series: InvoiceSeries,
    name: str,
    prefix: str,
    pattern: str,
    padding: int,
    resets_yearly: bool,
) -> InvoiceSeries:
    """Change how a series' numbers look; its counters, and so its gapless run, go on."""
    numbering.check_pattern(pattern, resets_yearly=resets_yearly)
    if not 1 <= padding <= MAX_NUMBER_PADDING:
        raise ValidationError({"padding": _("Numbers have 1 to %d digits.") % MAX_NUMBER_PADDING})
    if resets_yearly != series.resets_yearly and series.invoices.exclude(number=None).exists():
        raise ValidationError(
            {
                "resets_yearly": _(
                    "Series %s has issued invoices: start a new series to change how it restarts."
                )
                % series.name
            }
        )
    with transaction.atomic(), acting_as(actor):
        series = InvoiceSeries.objects.select_for_update().get(pk=series.pk)
        series.name, series.prefix, series.pattern = name.strip(), prefix.strip(), pattern
        series.padding, series.resets_yearly = padding, resets_yearly
        series.save(
            update_fields=["name", "prefix", "pattern", "padding", "resets_yearly", "updated_at"]
        )
    return series


# -------------------------------------------------------------------------- VAT numbers


def vat_number_check(
    *, actor: Any, vat_number: str, checker: VatNumberChecker | None = None
) -> VatNumberCheck:
    """Ask the checker now and record its answer; the call happens outside any lock we hold."""
    checker = checker or vat_checker()
    result = checker.check(vat_number.upper())
    with transaction.atomic(), acting_as(actor):
        return VatNumberCheck.objects.create(
            vat_number=vat_number.upper(),
            status=result.status,
            registered_name=result.registered_name[:300],
            registered_address=result.registered_address,
            checker=checker.name,
            detail=result.detail[:300],
            checked_at=result.checked_at,
        )


def vat_number_status(
    *, actor: Any, vat_number: str, checker: VatNumberChecker | None = None
) -> str:
    """A fresh definite answer if one is recorded; otherwise the checker is asked now."""
    fresh = selectors.fresh_vat_check(vat_number)
    if fresh is not None:
        return fresh.status
    return vat_number_check(actor=actor, vat_number=vat_number, checker=checker).status


# ------------------------------------------------------------------------------ charges


@dataclass(frozen=True)
class ChargeInput:
    """One billable amount as the billing run, an order or a person hands it in.

    ``amount`` is the rounded amount before discount (negative for credit kinds).
    ``bill_on`` is the day it is due for invoicing (the period start when billed in
    advance, the end when billed in arrears).
    """

    account: Account
    kind: str
    description: str
    period_start: date
    period_end: date
    amount: Decimal
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)
    product: Any = None
    subscription_id: int | None = None
    source_change_id: int = 0
    idempotency_key: str = ""
    bill_on: date | None = None
    currency: str | None = None


CHARGE_KINDS = frozenset(ChargeKind.values)


def _charge_row(charge: ChargeInput) -> Charge:
    if charge.kind not in CHARGE_KINDS:
        raise ValidationError({"kind": _("Unknown charge kind %s.") % charge.kind})
    if charge.period_end <= charge.period_start:
        raise ValidationError(
            {"period_end": _("A billing period ends after it starts (the end is exclusive).")}
        )
    profile = profile_for(charge.account)
    currency = (charge.currency or profile.currency).upper()
    amount = quantize(charge.amount, currency)
    discount = quantize(charge.discount, currency)
    if charge.kind in CREDIT_CHARGE_KINDS and amount > 0:
        raise ValidationError({"amount": _("A credit charge has a negative amount.")})
    if charge.kind in DEBIT_CHARGE_KINDS and amount < 0:
        raise ValidationError({"amount": _("A debit charge has a positive amount.")})
    if abs(discount) > abs(amount) or (discount and (discount > 0) != (amount > 0)):
        raise ValidationError({"discount": _("A discount is at most the amount, with its sign.")})
    unit_price = charge.unit_price if charge.unit_price is not None else charge.amount
    return Charge(
        account=charge.account,
        billing_account_id=profile.billing_account_id,
        subscription_id=charge.subscription_id,
        source_change_id=charge.source_change_id,
        idempotency_key=charge.idempotency_key,
        kind=charge.kind,
        product=charge.product,
        description=charge.description[:300],
        period_start=charge.period_start,
        period_end=charge.period_end,
        bill_on=charge.bill_on or charge.period_start,
        currency=currency,
        quantity=charge.quantity,
        unit_price=quantize_unit_price(unit_price),
        amount=amount,
        discount=discount,
    )


def _natural_key_filter(row: Charge) -> Q:
    if row.subscription_id is not None:
        return Q(
            subscription_id=row.subscription_id,
            period_start=row.period_start,
            period_end=row.period_end,
            kind=row.kind,
            source_change_id=row.source_change_id,
        )
    return Q(subscription_id__isnull=True, account=row.account, idempotency_key=row.idempotency_key)


def charge_record(*, actor: Any, charges: Sequence[ChargeInput]) -> list[Charge]:
    """Write each charge unless one with its natural key exists; return the stored rows.

    Keyed charges go in with ON CONFLICT DO NOTHING, so a re-run or a retried task
    never writes a charge twice; the rows returned are the stored ones (maybe older).
    A charge with neither subscription nor idempotency key is always written.
    """
    rows = [_charge_row(charge) for charge in charges]
    keyed = [row for row in rows if row.subscription_id is not None or row.idempotency_key]
    unkeyed = [row for row in rows if row not in keyed]
    with transaction.atomic(), acting_as(actor):
        stored: list[Charge] = []
        if keyed:
            Charge.objects.bulk_create(keyed, ignore_conflicts=True)
            condition = Q()
            for row in keyed:
                condition |= _natural_key_filter(row)
            stored = list(Charge.objects.filter(condition).order_by("pk"))
        if unkeyed:
            stored += Charge.objects.bulk_create(unkeyed)
    return stored


# --------------------------------------------------------------------- invoice helpers


def _check_transition(invoice: Invoice, target: str) -> None:
    if target not in INVOICE_TRANSITIONS[invoice.status]:
        raise ValidationError(
            _("An invoice cannot go from %(current)s to %(target)s.")
            % {
                "current": InvoiceStatus(invoice.status).label,
                "target": InvoiceStatus(target).label,
            }
        )


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            _("Invoice %(number)s is issued and cannot change; correct it with a credit invoice.")
            % {"number": invoice}
        )


@dataclass
class _TaxContext:
    seller_country: str
    country: str
    state: str
    vat_number: str
    is_account_taxable: bool
    vies_status: str
    table: TaxTable = field(default_factory=TaxTable.load)


def _tax_context(invoice: Invoice, *, vies_status: str | None = None) -> _TaxContext:
    account = invoice.billing_account
    snapshot = customer_snapshot(account)
    if vies_status is None:
        latest = selectors.latest_vat_check(snapshot.vat_number) if snapshot.vat_number else None
        vies_status = latest.status if latest is not None else VatStatus.UNCHECKED
    return _TaxContext(
        seller_country=organization().country,
        country=snapshot.country,
        state=snapshot.state,
        vat_number=snapshot.vat_number,
        is_account_taxable=profile_for(account).is_taxable,
        vies_status=vies_status,
    )


@dataclass
class _Computed:
    line_taxes: list[tuple[AppliedTax, ...]]
    tax_amounts: list[tuple[AppliedTax, Decimal, Decimal]]
    net_total: Decimal
    tax_total: Decimal
    is_reverse_charge: bool
    is_held: bool
    note: str


def _compute(invoice: Invoice, lines: Sequence[InvoiceLine], context: _TaxContext) -> _Computed:
    """Taxes of every line and the totals; a credit line keeps the taxes of what it credits."""
    line_taxes: list[tuple[AppliedTax, ...]] = []
    is_reverse_charge = is_held = False
    note = ""
    for line in lines:
        if line.credited_line_id is not None:
            credited = line.credited_line
            assert credited is not None
            taxes = tuple(AppliedTax.from_json(item) for item in credited.applied_taxes)
            if credited.invoice.is_reverse_charge:
                is_reverse_charge, note = True, credited.invoice.tax_note
        else:
            product = line.product
            decision = taxes_for(
                seller_country=context.seller_country,
                country=context.country,
                state=context.state,
                product_type_id=product.product_type_id if product is not None else None,
                is_account_taxable=context.is_account_taxable,
                is_product_taxable=line.is_taxable,
                vat_number=context.vat_number,
                vies_status=context.vies_status,
                table=context.table,
            )
            taxes = decision.taxes
            if decision.is_reverse_charge:
                is_reverse_charge, note = True, decision.note
            if decision.is_held:
                is_held, note = True, decision.note
        line_taxes.append(taxes)
    bases: dict[AppliedTax, Decimal] = {}
    for line, taxes in zip(lines, line_taxes, strict=True):
        for tax in taxes:
            bases[tax] = bases.get(tax, Decimal(0)) + line.net
    tax_amounts = [
        (tax, base, quantize(base * tax.rate / HUNDRED, invoice.currency))
        for tax, base in sorted(bases.items(), key=lambda item: (item[0].code, item[0].rate))
    ]
    net_total = sum((line.net for line in lines), Decimal(0))
    tax_total = sum((amount for _tax, _base, amount in tax_amounts), Decimal(0))
    return _Computed(
        line_taxes=line_taxes,
        tax_amounts=tax_amounts,
        net_total=quantize(net_total, invoice.currency),
        tax_total=quantize(tax_total, invoice.currency),
        is_reverse_charge=is_reverse_charge,
        is_held=is_held,
        note=note,
    )


def _exchange_rate(currency: str, transaction_currency: str, day: date) -> Decimal:
    """Units of ``transaction_currency`` per unit of ``currency`` on ``day``, 10 decimals."""
    try:
        from_rate = rate_on(currency, day)
        to_rate = rate_on(transaction_currency, day)
    except ExchangeRateMissing as missing:
        raise ValidationError({"transaction_currency": str(missing)}) from missing
    with localcontext() as context:
        context.prec = 60
        return (from_rate / to_rate).quantize(EXCHANGE_RATE_QUANTUM, rounding=ROUND_HALF_UP)


def _store_totals(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    computed: _Computed,
    *,
    exchange_rate: Decimal | None = None,
) -> None:
    """Write the computed taxes, tax lines and totals of a draft or an invoice being issued."""
    for line, taxes in zip(lines, computed.line_taxes, strict=True):
        line.applied_taxes = [tax.as_json() for tax in taxes]
    InvoiceLine.objects.bulk_update(lines, ["applied_taxes"])
    invoice.tax_lines.all().delete()
    tax_lines = []
    for tax, base, amount in computed.tax_amounts:
        converted = (
            quantize(amount * exchange_rate, invoice.transaction_currency)
            if exchange_rate is not None
            else None
        )
        tax_lines.append(
            InvoiceTaxLine(
                invoice=invoice,
                tax_id=tax.tax_id,
                code=tax.code,
                name=tax.name,
                rate=tax.rate,
                taxable_amount=quantize(base, invoice.currency),
                amount=amount,
                transaction_amount=converted,
            )
        )
    InvoiceTaxLine.objects.bulk_create(tax_lines)
    invoice.net_total = computed.net_total
    invoice.tax_total = computed.tax_total
    invoice.gross_total = computed.net_total + computed.tax_total
    invoice.balance_due = max(invoice.gross_total, Decimal(0))
    invoice.is_reverse_charge = computed.is_reverse_charge
    invoice.tax_note = computed.note[:300] if computed.is_reverse_charge else ""
    if exchange_rate is not None:
        code = invoice.transaction_currency
        invoice.exchange_rate = exchange_rate
        invoice.transaction_net_total = quantize(computed.net_total * exchange_rate, code)
        invoice.transaction_tax_total = sum(
            (line.transaction_amount or Decimal(0) for line in tax_lines), Decimal(0)
        )
        invoice.transaction_gross_total = (
            invoice.transaction_net_total + invoice.transaction_tax_total
        )
    else:
        invoice.exchange_rate = None
        invoice.transaction_net_total = None
        invoice.transaction_tax_total = None
        invoice.transaction_gross_total = None


TOTAL_FIELDS = [
    "net_total",
    "tax_total",
    "gross_total",
    "balance_due",
    "is_reverse_charge",
    "tax_note",
    "exchange_rate",
    "transaction_net_total",
    "transaction_tax_total",
    "transaction_gross_total",
    "updated_at",
]


ISSUE_FIELDS = [
    *TOTAL_FIELDS,
    "linked_invoice",
    "status",
    "number",
    "sequence_number",
    "sequence_year",
    "invoice_date",
    "due_date",
    "issued_at",
    "issued_by",
    "hold_reason",
    "language",
    "customer_number",
    "customer_name",
    "customer_address",
    "customer_country",
    "customer_state",
    "customer_vat_number",
    "seller_details",
]


def _recompute_draft(invoice: Invoice) -> None:
    lines = list(
        invoice.lines.select_related("product", "credited_line__invoice").order_by("position")
    )
    computed = _compute(invoice, lines, _tax_context(invoice))
    _store_totals(invoice, lines, computed)
    invoice.save(update_fields=TOTAL_FIELDS)


def _invoice_payload(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "billing_account_id": invoice.billing_account_id,
        "currency": invoice.currency,
        "gross_total": str(quantize(invoice.gross_total, invoice.currency)),
        "balance_due": str(quantize(invoice.balance_due, invoice.currency)),
        "invoice_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "linked_invoice_id": invoice.linked_invoice_id,
    }


# ------------------------------------------------------------------ drafts from charges


def invoice_from_charges(
    *,
    actor: Any,
    billing_account: Account,
    up_to: date,
    currency: str | None = None,
    subscription_ids: Sequence[int] | None = None,
    charge_ids: Sequence[int] | None = None,
) -> Invoice | None:
    """Group the account's uninvoiced charges due by ``up_to`` into one draft invoice.

    ``charge_ids`` limits the draft to those charges (an asset's re-pricing, a rebate).

    Returns None when nothing is due. Charges are locked and re-checked, so two callers
    never put the same charge on two invoices. A group whose net sum is negative becomes
    a credit invoice with every line's sign turned.
    """
    currency = (currency or profile_for(billing_account).currency).upper()
    with transaction.atomic(), acting_as(actor):
        due = selectors.uninvoiced_charges(
            billing_account=billing_account, currency=currency, up_to=up_to
        )
        if subscription_ids is not None:
            due = due.filter(subscription_id__in=list(subscription_ids))
        if charge_ids is not None:
            due = due.filter(pk__in=list(charge_ids))
        charges = list(
            due.select_for_update(of=("self",))
            .select_related("product")
            .order_by("bill_on", "subscription_id", "period_start", "kind", "pk")
        )
        if not charges:
            return None
        net_sum = sum((charge.net for charge in charges), Decimal(0))
        kind = InvoiceKind.DEBIT if net_sum >= 0 else InvoiceKind.CREDIT
        sign = 1 if kind == InvoiceKind.DEBIT else -1
        snapshot = customer_snapshot(billing_account)
        invoice = Invoice.objects.create(
            kind=kind,
            origin=InvoiceOrigin.CHARGES,
            series=numbering.default_series(kind),
            invoice_date=up_to,
            billing_account=billing_account,
            currency=currency,
            transaction_currency=transaction_currency_of(billing_account),
            language=snapshot.language,
        )
        lines = [
            InvoiceLine(
                invoice=invoice,
                position=position,
                product=charge.product,
                subscription_id=charge.subscription_id,
                charge=charge,
                description=charge.description,
                period_start=charge.period_start,
                period_end=charge.period_end,
                quantity=charge.quantity,
                unit_price=charge.unit_price,
                amount=sign * charge.amount,
                discount=sign * charge.discount,
                net=sign * charge.net,
                is_taxable=charge.product.is_taxable if charge.product is not None else True,
            )
            for position, charge in enumerate(charges, start=1)
        ]
        InvoiceLine.objects.bulk_create(lines)
        Charge.objects.filter(pk__in=[charge.pk for charge in charges]).update(invoice=invoice)
        _recompute_draft(invoice)
    return invoice


# ---------------------------------------------------------------------------- issuing


def _needs_vat_check(invoice: Invoice) -> str:
    """The VAT number to check before issuing, or "" when no reverse charge is in play."""
    snapshot = customer_snapshot(invoice.billing_account)
    if not is_reverse_charge_candidate(
        seller_country=organization().country,
        country=snapshot.country,
        vat_number=snapshot.vat_number,
    ):
        return ""
    if not profile_for(invoice.billing_account).is_taxable:
        return ""
    own_lines = invoice.lines.filter(credited_line__isnull=True, is_taxable=True)
    return snapshot.vat_number if own_lines.exists() else ""


def _invoice_hold(*, actor: Any, invoice: Invoice, reason: str) -> None:
    with transaction.atomic(), acting_as(actor):
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != InvoiceStatus.DRAFT or locked.hold_reason == reason:
            return
        locked.hold_reason = reason[:200]
        locked.save(update_fields=["hold_reason", "updated_at"])
        emit_event("invoice.held", actor=actor, aggregate=locked, payload=_invoice_payload(locked))
    invoice.hold_reason = reason[:200]


def invoice_issue(
    *,
    actor: Any,
    invoice: Invoice,
    invoice_date: date | None = None,
    vat_checker: VatNumberChecker | None = None,
) -> Invoice:
    """Issue a draft: number, taxes, totals, frozen details; then the PDF after commit.

    A reverse-charge customer's VAT number is checked first, outside the transaction.
    If VIES is unavailable the draft is held (``hold_reason``) and ``InvoiceHeld`` is
    raised; issuing again later rechecks.
    """
    _require_draft(invoice)
    vat_status: str | None = None
    vat_number = _needs_vat_check(invoice)
    if vat_number:
        vat_status = vat_number_status(actor=actor, vat_number=vat_number, checker=vat_checker)
        if vat_status not in (VatStatus.VALID, VatStatus.INVALID):
            reason = _("VIES unavailable: the VAT number %(number)s could not be checked.") % {
                "number": vat_number
            }
            _invoice_hold(actor=actor, invoice=invoice, reason=reason)
            raise InvoiceHeld(reason)
    with transaction.atomic(), acting_as(actor):
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("billing_account", "series")
            .get(pk=invoice.pk)
        )
        _require_draft(invoice)
        lines = list(
            invoice.lines.select_related("product", "credited_line__invoice").order_by("position")
        )
        if not lines:
            raise ValidationError(_("An invoice needs at least one line."))
        issue_date = invoice_date or invoice.invoice_date or timezone.localdate()
        account = invoice.billing_account
        snapshot = customer_snapshot(account)
        profile = profile_for(account)
        with translation.override(snapshot.language or settings.LANGUAGE_CODE):
            computed = _compute(invoice, lines, _tax_context(invoice, vies_status=vat_status))
        if computed.net_total + computed.tax_total < 0:
            raise ValidationError(
                _(
                    "The total of a debit or credit invoice cannot be negative; issue a credit invoice instead."
                )
            )
        exchange_rate = None
        if invoice.transaction_currency and invoice.transaction_currency != invoice.currency:
            minor_units(invoice.transaction_currency)
            exchange_rate = _exchange_rate(
                invoice.currency, invoice.transaction_currency, issue_date
            )
        _store_totals(invoice, lines, computed, exchange_rate=exchange_rate)
        if invoice.is_credit and invoice.linked_invoice_id is None:
            invoice.linked_invoice = selectors.oldest_unpaid_debit_invoice(account)
        taken = numbering.take_number(invoice.series, issue_date)
        target = InvoiceStatus.UNPAID if invoice.gross_total > 0 else InvoiceStatus.PAID
        _check_transition(invoice, target)
        invoice.status = target
        invoice.number = taken.number
        invoice.sequence_number = taken.sequence_number
        invoice.sequence_year = taken.year
        invoice.invoice_date = issue_date
        invoice.due_date = profile.due_date(issue_date)
        invoice.issued_at = timezone.now()
        invoice.issued_by = actor if getattr(actor, "is_authenticated", False) else None
        invoice.hold_reason = ""
        invoice.language = snapshot.language
        invoice.customer_number = snapshot.number
        invoice.customer_name = snapshot.name
        invoice.customer_address = snapshot.address
        invoice.customer_country = snapshot.country
        invoice.customer_state = snapshot.state
        invoice.customer_vat_number = snapshot.vat_number
        invoice.seller_details = seller_details()
        invoice.save(update_fields=ISSUE_FIELDS)
        event = "credit_invoice.issued" if invoice.is_credit else "invoice.issued"
        emit_event(event, actor=actor, aggregate=invoice, payload=_invoice_payload(invoice))
        if getattr(settings, "BILLING_RENDER_PDF_ON_ISSUE", True):
            invoice_id = invoice.pk
            transaction.on_commit(lambda: _enqueue_pdf(invoice_id))
    return invoice


def _enqueue_pdf(invoice_id: int) -> None:
    from billing.tasks import render_invoice_pdf

    try:
        render_invoice_pdf.delay(invoice_id)
    except Exception as error:
        # The invoice is committed; the beat task renders every PDF still missing.
        logger.warning("billing: PDF of invoice %s not queued (%s)", invoice_id, error)


def invoice_void(*, actor: Any, invoice: Invoice) -> Invoice:
    """Void a draft; its charges go back to the pending pile for the next invoice."""
    with transaction.atomic(), acting_as(actor):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise ValidationError(
                _(
                    "Only a draft can be voided; correct issued invoice %(number)s with a credit invoice."
                )
                % {"number": invoice}
            )
        _check_transition(invoice, InvoiceStatus.VOID)
        invoice.status = InvoiceStatus.VOID
        invoice.save(update_fields=["status", "updated_at"])
        Charge.objects.filter(invoice=invoice).update(invoice=None)
    return invoice


def invoice_mark_overdue(*, actor: Any, invoice_id: int, today: date) -> bool:
    """Move one unpaid invoice past its due date to overdue; True if it moved now."""
    with transaction.atomic(), acting_as(actor):
        invoice = (
            selectors.overdue_candidates(today).select_for_update().filter(pk=invoice_id).first()
        )
        if invoice is None:
            return False
        _check_transition(invoice, InvoiceStatus.OVERDUE)
        invoice.status = InvoiceStatus.OVERDUE
        invoice.save(update_fields=["status", "updated_at"])
        emit_event(
            "invoice.overdue", actor=actor, aggregate=invoice, payload=_invoice_payload(invoice)
        )
    return True


def invoices_mark_overdue(*, actor: Any, today: date | None = None) -> int:
    """Every unpaid debit invoice past its due date becomes overdue, each with one event."""
    today = today or timezone.localdate()
    moved = 0
    for invoice_id in list(selectors.overdue_candidates(today).values_list("pk", flat=True)):
        if invoice_mark_overdue(actor=actor, invoice_id=invoice_id, today=today):
            moved += 1
    return moved


def invoice_pdf_store(*, invoice: Invoice, content: bytes) -> Invoice:
    """Keep the rendered PDF of an issued invoice (replacing an earlier rendering)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError(_("Only an issued invoice has a PDF."))
        old_name = invoice.pdf.name if invoice.pdf else ""
        year = invoice.invoice_date.year if invoice.invoice_date else timezone.localdate().year
        invoice.pdf.save(f"{year}/{invoice.number}.pdf", ContentFile(content), save=False)
        invoice.pdf_rendered_at = timezone.now()
        invoice.save(update_fields=["pdf", "pdf_rendered_at"])
        if old_name and old_name != invoice.pdf.name:
            storage, name = invoice.pdf.storage, old_name
            transaction.on_commit(lambda: storage.delete(name))
    return invoice


# ---------------------------------------------------------------------- credit invoices


@dataclass(frozen=True)
class CreditItem:
    """One line of a debit invoice to credit, optionally for part of its period or amount."""

    line: InvoiceLine
    period_start: date | None = None
    period_end: date | None = None
    quantity: Decimal | None = None
    amount: Decimal | None = None
    description: str = ""


def _credit_amount(
    item: CreditItem, currency: str
) -> tuple[Decimal, date | None, date | None, Decimal]:
    line = item.line
    start = item.period_start or line.period_start
    end = item.period_end or line.period_end
    if line.period_start is None or line.period_end is None:
        if item.period_start or item.period_end:
            raise ValidationError({"period": _("Invalid billing period")})
    elif start is None or end is None or not line.period_start <= start < end <= line.period_end:
        raise ValidationError(
            {
                "period": _("Invalid billing period")
                + ": "
                + _("%(start)s to %(end)s lies outside the invoiced period %(first)s to %(last)s.")
                % {
                    "start": start.isoformat() if start else "?",
                    "end": (end - ONE_DAY).isoformat() if end else "?",
                    "first": line.period_start.isoformat(),
                    "last": (line.period_end - ONE_DAY).isoformat(),
                }
            }
        )
    quantity = item.quantity if item.quantity is not None else line.quantity
    if quantity <= 0 or quantity > line.quantity:
        raise ValidationError(
            {
                "quantity": _("The credited quantity is more than 0 and at most %s.")
                % line.quantity.normalize()
            }
        )
    if item.amount is not None:
        amount = quantize(item.amount, currency)
    else:
        amount = line.net
        if quantity != line.quantity:
            amount = quantize(line.net * quantity / line.quantity, currency)
        if (
            start is not None
            and end is not None
            and (start, end) != (line.period_start, line.period_end)
        ):
            assert line.period_start is not None
            assert line.period_end is not None
            amount = prorate(
                amount,
                used_start=start,
                used_end=end,
                period_start=line.period_start,
                period_end=line.period_end,
                currency=currency,
            )
    return amount, start, end, quantity


def credit_invoice_create(
    *,
    actor: Any,
    debit_invoice: Invoice,
    items: Sequence[CreditItem] = (),
    credit_whole: bool = False,
    invoice_date: date | None = None,
    linked_invoice: Invoice | None = None,
    notes: str = "",
) -> Invoice:
    """A draft credit invoice for lines of an issued debit invoice (or its whole total).

    Each credited period must lie inside the line's invoiced period ("Invalid billing
    period"); an amount left empty is the line's net, prorated by days over the
    credited period and by the credited quantity. What is credited per line never
    exceeds what the line billed. The credit links to ``linked_invoice`` or, if none is
    given, to the customer's oldest unpaid debit invoice.
    """
    if debit_invoice.kind != InvoiceKind.DEBIT or debit_invoice.status in (
        InvoiceStatus.DRAFT,
        InvoiceStatus.VOID,
    ):
        raise ValidationError(_("Credit invoices are made from issued debit invoices."))
    account = debit_invoice.billing_account
    if linked_invoice is not None and (
        linked_invoice.billing_account_id != account.pk
        or linked_invoice.kind != InvoiceKind.DEBIT
        or linked_invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
    ):
        raise ValidationError(
            {
                "linked_invoice": _(
                    "Relate the credit to an issued debit invoice of the same account."
                )
            }
        )
    currency = debit_invoice.currency
    with transaction.atomic(), acting_as(actor):
        # Lock the debit invoice so two credits of one line cannot both pass the limit check.
        debit_invoice = Invoice.objects.select_for_update().get(pk=debit_invoice.pk)
        source_lines = {line.pk: line for line in debit_invoice.lines.select_related("product")}
        if credit_whole:
            items = [
                CreditItem(line=line)
                for line in source_lines.values()
                if line.net > 0 and selectors.credited_so_far(line) == 0
            ]
            if not items:
                raise ValidationError(
                    _("Invoice %s has nothing left to credit in full.") % debit_invoice
                )
        if not items:
            raise ValidationError(_("Choose at least one line to credit."))
        planned = []
        for item in items:
            line = source_lines.get(item.line.pk)
            if line is None:
                raise ValidationError(
                    _("Line “%(line)s” is not on invoice %(number)s.")
                    % {"line": item.line.description, "number": debit_invoice}
                )
            item = CreditItem(
                line=line,
                period_start=item.period_start,
                period_end=item.period_end,
                quantity=item.quantity,
                amount=item.amount,
                description=item.description,
            )
            amount, start, end, quantity = _credit_amount(item, currency)
            remaining = line.net - selectors.credited_so_far(line)
            if amount <= 0:
                raise ValidationError({"amount": _("A credit amount is more than zero.")})
            if amount > remaining:
                raise ValidationError(
                    {
                        "amount": _(
                            "%(amount)s is more than the %(remaining)s still creditable on “%(line)s”."
                        )
                        % {
                            "amount": amount,
                            "remaining": quantize(remaining, currency),
                            "line": line.description,
                        }
                    }
                )
            planned.append((line, item, amount, start, end, quantity))
        link = linked_invoice or selectors.oldest_unpaid_debit_invoice(account)
        invoice = Invoice.objects.create(
            kind=InvoiceKind.CREDIT,
            origin=InvoiceOrigin.MANUAL,
            series=numbering.default_series(InvoiceKind.CREDIT),
            invoice_date=invoice_date,
            billing_account=account,
            currency=currency,
            transaction_currency=debit_invoice.transaction_currency,
            linked_invoice=link,
            language=debit_invoice.language,
            notes=notes,
        )
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice=invoice,
                    position=position,
                    product=line.product,
                    subscription_id=line.subscription_id,
                    credited_line=line,
                    description=(item.description or line.description)[:300],
                    period_start=start,
                    period_end=end,
                    quantity=quantity,
                    unit_price=line.unit_price,
                    amount=amount,
                    discount=Decimal(0),
                    net=amount,
                    is_taxable=line.is_taxable,
                )
                for position, (line, item, amount, start, end, quantity) in enumerate(
                    planned, start=1
                )
            ]
        )
        _recompute_draft(invoice)
    return invoice


def credit_invoice_link(*, actor: Any, invoice: Invoice, linked_invoice: Invoice | None) -> Invoice:
    """Relate a credit invoice to a debit invoice by hand (or unrelate it)."""
    if invoice.kind != InvoiceKind.CREDIT:
        raise ValidationError(_("Only a credit invoice is related to a debit invoice."))
    if linked_invoice is not None and (
        linked_invoice.billing_account_id != invoice.billing_account_id
        or linked_invoice.kind != InvoiceKind.DEBIT
        or linked_invoice.status not in OPEN_STATUSES
    ):
        raise ValidationError(
            {
                "linked_invoice": _(
                    "Relate the credit to an unpaid debit invoice of the same account."
                )
            }
        )
    with transaction.atomic(), acting_as(actor):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice.linked_invoice = linked_invoice
        invoice.save(update_fields=["linked_invoice", "updated_at"])
    return invoice


def invoice_line_remove(*, actor: Any, line: InvoiceLine) -> Invoice:
    """Remove a line of a manual credit draft; the invoice keeps at least one line."""
    with transaction.atomic(), acting_as(actor):
        invoice = Invoice.objects.select_for_update().get(pk=line.invoice_id)
        _require_draft(invoice)
        if invoice.origin != InvoiceOrigin.MANUAL or invoice.kind != InvoiceKind.CREDIT:
            raise ValidationError(_("Only lines of a manual credit invoice can be removed."))
        if invoice.lines.count() <= 1:
            raise ValidationError(_("A credit invoice keeps at least one line."))
        InvoiceLine.objects.filter(pk=line.pk).delete()
        _recompute_draft(invoice)
    return invoice
