"""The billing run's bulk path: ``bill_account`` for a chunk of accounts in one transaction.

``bill_account`` writes row by row (a change row, an event, a charge insert, an invoice
with its lines, taxes and number), which is right for one account and far too slow for
twenty thousand. This path keeps the same rules and produces the same rows: the period
arithmetic and money come from the same functions (``charge_due_periods`` with a
``RollContext``, ``subscriptions.amounts``), charges go through ``_charge_row`` and the
same natural key, taxes through ``_compute`` with one tax table, numbers from the same
counter; only the writes are batched. ``tests/billing/test_bulk_billing.py`` bills one
data set both ways and compares every line.

It handles the common case and hands everything else back to ``bill_account``: an
account with a subscription that is not a plain roll (trial, pending cancellation,
pay-per-use, a scheduled change at renewal), a reverse-charge customer (VIES is asked
per invoice), a transaction currency, a draft held for VIES, or an invoice that would
be a credit. Those accounts are returned in ``fallback`` and billed one by one.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from auditlog.cid import get_cid
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import Account, Address, PriceListAssignment
from billing import numbering
from billing.customers import (
    CustomerSnapshot,
    customer_snapshot,
    profile_for,
    seller_details,
    transaction_currency_of,
)
from billing.models import (
    Charge,
    ChargeKind,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceOrigin,
    InvoiceStatus,
    InvoiceTaxLine,
)
from billing.services import (
    ISSUE_FIELDS,
    ChargeInput,
    _charge_row,
    _compute,
    _enqueue_pdf,
    _invoice_payload,
    _TaxContext,
)
from billing.subscription_charges import RollContext, charge_due_periods
from billing.taxes import TaxTable, is_reverse_charge_candidate
from bss.core.audit import acting_as
from bss.core.bulk_writes import assign_ids, copy_insert, copy_rows, copy_update
from bss.core.events import emit_events, event_values
from bss.core.money import quantize
from bss.setup.organization.selectors import organization
from catalogue.models import Product, ProductPlan, Promotion
from catalogue.pricing import PriceQuote, quote_price
from subscriptions import services as subscription_services
from subscriptions.models import (
    LIVE_STATUSES,
    BillingMethod,
    ChangeKind,
    ChangeSource,
    FutureRequest,
    FutureRequestStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from subscriptions.periods import add_months

# Statuses whose roll is always "next period" or "renew the term" (with auto-renew on).
PLAIN_ROLL_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.SUSPENDED,
)
# What a roll changes on a subscription (the last, updated_at, only when it changed).
SUBSCRIPTION_UPDATE_COLUMNS = (
    "current_period_start",
    "current_period_end",
    "cycle_number",
    "billed_through",
    "term_start",
    "term_started_at",
    "term_end",
    "unit_price",
    "final_unit_price",
    "price_protected_until",
    "updated_at",
)


@dataclass
class BulkInvoice:
    invoice_id: int
    kind: str
    currency: str
    gross_total: Decimal


@dataclass
class BulkAccountResult:
    billing_account_id: int
    charges: int = 0
    invoices: list[BulkInvoice] = field(default_factory=list)


@dataclass
class BulkOutcome:
    done: dict[int, BulkAccountResult] = field(default_factory=dict)
    fallback: list[int] = field(default_factory=list)


def _is_plain(subscription: Subscription, with_requests: set[int]) -> bool:
    return (
        subscription.status in PLAIN_ROLL_STATUSES
        and subscription.auto_renew
        and subscription.billing_method != BillingMethod.PAY_PER_USE
        and subscription.pk not in with_requests
    )


def _usable(price_list: Any, account: Account, on_date: date) -> bool:
    return (
        price_list.currency == account.currency
        and price_list.is_active
        and (price_list.valid_from is None or price_list.valid_from <= on_date)
        and (price_list.valid_until is None or price_list.valid_until >= on_date)
    )


class _Quotes:
    """``quote_for_account`` for many accounts: their price lists read once, quotes reused.

    The usable lists are filtered exactly as ``accounts.selectors.price_lists_for`` does.
    """

    def __init__(self, account_ids: Sequence[int]) -> None:
        self.assignments: dict[int, list[PriceListAssignment]] = defaultdict(list)
        rows = (
            PriceListAssignment.objects.filter(account_id__in=account_ids)
            .select_related("price_list")
            .order_by("-assigned_at", "-pk")
        )
        for row in rows:
            self.assignments[row.account_id].append(row)
        self.cache: dict[tuple[Any, ...], PriceQuote] = {}
        self.usable: dict[tuple[int, date], list[Any]] = {}

    def lists_for(self, account: Account, on_date: date) -> list[Any]:
        key = (account.pk, on_date)
        if key not in self.usable:
            self.usable[key] = [
                assignment.price_list
                for assignment in self.assignments.get(account.pk, [])
                if _usable(assignment.price_list, account, on_date)
            ]
        return self.usable[key]

    def quote(self, subscription: Subscription, on_date: date) -> PriceQuote:
        account = subscription.account
        lists = self.lists_for(account, on_date)
        key = (
            tuple(price_list.pk for price_list in lists),
            subscription.product_id,
            subscription.plan_id,
            account.currency,
            subscription.quantity,
            on_date,
        )
        if key not in self.cache:
            self.cache[key] = quote_price(
                product=subscription.product,
                plan=subscription.plan,
                currency=account.currency,
                quantity=subscription.quantity,
                on_date=on_date,
                price_lists=lists,
            )
        return self.cache[key]


class _Roller:
    """``advance_one`` for plain rolls, collecting its change rows and events unsaved."""

    def __init__(self, *, actor: Any, quotes: _Quotes) -> None:
        self.actor = actor
        self.quotes = quotes
        self.actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        # Columns of the change rows and events, written without model instances.
        self.changes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def advance(self, subscription: Subscription) -> None:
        end = subscription.current_period_end
        if end >= subscription.term_end:
            self._renew(subscription)
            return
        subscription.current_period_start = end
        subscription.current_period_end = add_months(
            end, subscription.cycle_months, subscription.anchor_day
        )
        subscription.cycle_number += 1

    def _renew(self, subscription: Subscription) -> None:
        # subscriptions.services._renew_term for a term without scheduled requests.
        end = subscription.current_period_end
        at = timezone.make_aware(datetime.combine(end, datetime.min.time()))
        old_quantity = subscription.quantity
        old_price = subscription.effective_unit_price
        subscription_services.start_next_term(
            subscription,
            at=at,
            list_price=lambda item, day: self.quotes.quote(item, day).unit_price,
        )
        self.changes.append(
            {
                "subscription_id": subscription.pk,
                "kind": ChangeKind.RENEWED,
                "source": ChangeSource.BILLING_RUN,
                "effective_at": at,
                "effective_date": end,
                "actor_id": self.actor_id,
                "old_quantity": old_quantity,
                "new_quantity": subscription.quantity,
                "old_unit_price": old_price,
                "new_unit_price": subscription.effective_unit_price,
                "period_start": subscription.current_period_start,
                "period_end": subscription.current_period_end,
                "details": {"future_requests": []},
            }
        )
        self.events.append(
            event_values(
                "subscription.renewed",
                aggregate=subscription,
                payload=subscription_services.event_payload(subscription),
            )
        )


def _update_subscriptions(subscriptions: Sequence[Subscription]) -> None:
    """One COPY and one UPDATE for every rolled subscription of the chunk."""
    now = timezone.now()
    for subscription in subscriptions:
        subscription.updated_at = now
    names = SUBSCRIPTION_UPDATE_COLUMNS
    copy_update(
        Subscription,
        names,
        [(item.pk, *(getattr(item, name) for name in names)) for item in subscriptions],
    )


def _link_charges(pairs: list[tuple[int, int]]) -> None:
    """Put charges that existed before this run on the invoices planned for them."""
    copy_update(Charge, ["invoice_id"], pairs)


@dataclass
class _Planned:
    account: Account
    invoice: Invoice
    lines: list[InvoiceLine]
    charge_ids: list[int]
    tax_lines: list[InvoiceTaxLine]


def _plan_invoice(
    account: Account,
    currency: str,
    charges: list[Charge],
    *,
    run_date: date,
    table: TaxTable,
    snapshot: CustomerSnapshot,
    seller_country: str,
    series: Any,
) -> _Planned:
    """Mirrors invoice_from_charges + invoice_issue for a debit invoice without VAT check."""
    profile = profile_for(account)
    invoice = Invoice(
        kind=InvoiceKind.DEBIT,
        origin=InvoiceOrigin.CHARGES,
        series=series,
        invoice_date=run_date,
        billing_account=account,
        currency=currency,
        transaction_currency=transaction_currency_of(account),
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
            amount=charge.amount,
            discount=charge.discount,
            net=charge.net,
            is_taxable=charge.product.is_taxable if charge.product is not None else True,
        )
        for position, charge in enumerate(charges, start=1)
    ]
    context = _TaxContext(
        seller_country=seller_country,
        country=snapshot.country,
        state=snapshot.state,
        vat_number=snapshot.vat_number,
        is_account_taxable=profile.is_taxable,
        vies_status="unchecked",
        table=table,
    )
    computed = _compute(invoice, lines, context)
    for line, taxes in zip(lines, computed.line_taxes, strict=True):
        line.applied_taxes = [tax.as_json() for tax in taxes]
    tax_lines = [
        InvoiceTaxLine(
            invoice=invoice,
            tax_id=tax.tax_id,
            code=tax.code,
            name=tax.name,
            rate=tax.rate,
            taxable_amount=quantize(base, currency),
            amount=amount,
        )
        for tax, base, amount in computed.tax_amounts
    ]
    invoice.net_total = computed.net_total
    invoice.tax_total = computed.tax_total
    invoice.gross_total = computed.net_total + computed.tax_total
    invoice.balance_due = max(invoice.gross_total, Decimal(0))
    invoice.status = InvoiceStatus.UNPAID if invoice.gross_total > 0 else InvoiceStatus.PAID
    invoice.due_date = profile.due_date(run_date)
    invoice.customer_number = snapshot.number
    invoice.customer_name = snapshot.name
    invoice.customer_address = snapshot.address
    invoice.customer_country = snapshot.country
    invoice.customer_state = snapshot.state
    invoice.customer_vat_number = snapshot.vat_number
    return _Planned(account, invoice, lines, [charge.pk for charge in charges], tax_lines)


def _proration_method(subscription: Subscription, organization_method: str) -> str:
    # subscriptions.services.proration_method_for, with the settings row read once.
    if subscription.plan.exclude_from_proration:
        return "none"
    product_type = subscription.product.product_type
    if product_type is not None and product_type.proration_method:
        return product_type.proration_method
    return organization_method


def _state(subscription: Subscription) -> tuple[Any, ...]:
    return tuple(getattr(subscription, name) for name in SUBSCRIPTION_UPDATE_COLUMNS[:-1])


# Stands for the invoice number in the audit entries made before the number is taken;
# a NUL cannot be stored in PostgreSQL text, so one left behind fails the COPY.
NUMBER_PENDING = "\x00number\x00"


def _audit_entries(planned: Sequence[_Planned], actor: Any) -> list[LogEntry]:
    """The two entries auditlog writes for an invoice created as a draft and then issued.

    Made before the counter is locked, with ``NUMBER_PENDING`` as the number;
    ``_fill_numbers`` puts the real one in. The diff depends only on the audited fields,
    which most invoices of a run share: each distinct diff is computed once.
    """
    content_type = ContentType.objects.get_for_model(Invoice)
    as_json = getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False)
    cid = get_cid()
    who = actor if getattr(actor, "is_authenticated", False) else None
    audited = [
        Invoice._meta.get_field(name).attname
        for name in auditlog.get_model_fields(Invoice)["include_fields"]
    ]

    def state(invoice: Invoice | None) -> tuple[Any, ...] | None:
        return None if invoice is None else tuple(getattr(invoice, name) for name in audited)

    diffs: dict[tuple[Any, ...], dict[str, Any]] = {}
    entries = []
    for item in planned:
        issued = copy.copy(item.invoice)
        issued.number = NUMBER_PENDING
        draft = copy.copy(issued)
        draft.status, draft.number, draft.due_date = InvoiceStatus.DRAFT, None, None
        draft.linked_invoice = None
        for action, old, new, fields in (
            (LogEntry.Action.CREATE, None, draft, None),
            (LogEntry.Action.UPDATE, draft, issued, frozenset(ISSUE_FIELDS)),
        ):
            key = (action, state(old), state(new))
            if not audited or key not in diffs:
                diffs[key] = model_instance_diff(
                    old, new, fields_to_check=fields, use_json_for_changes=as_json
                )
            changes = diffs[key]
            if not changes:
                continue
            entries.append(
                LogEntry(
                    content_type=content_type,
                    object_pk=str(issued.pk),
                    object_id=issued.pk,
                    object_repr=str(new),
                    action=action,
                    changes=dict(changes),
                    actor=who,
                    cid=cid,
                )
            )
    return entries


def _fill_numbers(entries: list[LogEntry], planned: Sequence[_Planned]) -> None:
    numbers = {item.invoice.pk: item.invoice.number for item in planned}
    for entry in entries:
        if entry.object_repr == NUMBER_PENDING:
            entry.object_repr = numbers[entry.object_id]
        change = entry.changes.get("number")
        if change is not None and change[1] == NUMBER_PENDING:
            entry.changes["number"] = [change[0], numbers[entry.object_id]]


class NumberingRefused(Exception):
    """Another run numbered a later date while this chunk was being billed."""


def bill_accounts_bulk(
    *, actor: Any, billing_account_ids: Sequence[int], run_date: date
) -> BulkOutcome:
    """Bill the plain accounts among ``billing_account_ids`` in one transaction.

    Returns what was billed per account and the accounts left for ``bill_account``. The
    accounts are locked in id order, as ``bill_account`` locks one, so chunks, single
    accounts and a second run wait for each other instead of billing twice.

    Everything is computed in memory first (rolls, charges, invoices with their keys
    reserved) and written at the end with COPY; the invoice counter is locked last, so
    concurrent chunks wait for each other only while their invoices are written.
    """
    outcome = BulkOutcome()
    ids = sorted(set(billing_account_ids))
    with transaction.atomic(), acting_as(actor):
        accounts = _lock_accounts(ids)
        if _numbering_refuses(run_date):
            # take_number refuses this date; bill_account records that refusal per account.
            outcome.fallback = list(accounts)
            return outcome
        held = set(
            Invoice.objects.filter(
                billing_account_id__in=ids, status=InvoiceStatus.DRAFT, hold_reason__gt=""
            ).values_list("billing_account_id", flat=True)
        )
        subscriptions_by_account = _load_subscriptions(ids, accounts)
        with_requests = set(
            FutureRequest.objects.filter(
                subscription__billing_account_id__in=ids, status=FutureRequestStatus.PENDING
            ).values_list("subscription_id", flat=True)
        )
        options = subscription_services.subscription_settings()
        seller_country = organization().country
        quotes = _Quotes(
            sorted({s.account_id for items in subscriptions_by_account.values() for s in items})
        )
        roller = _Roller(actor=actor, quotes=quotes)
        charge_rows: list[Charge] = []
        rolled: list[Subscription] = []
        snapshots: dict[int, CustomerSnapshot] = {}
        for account_id in ids:
            account = accounts.get(account_id)
            items = subscriptions_by_account.get(account_id, [])
            if account is None:
                continue
            address = (account.bulk_billing_addresses or [None])[0]
            snapshot = customer_snapshot(account, billing_address=address)
            if (
                account_id in held
                or transaction_currency_of(account)
                or is_reverse_charge_candidate(
                    seller_country=seller_country,
                    country=snapshot.country,
                    vat_number=snapshot.vat_number,
                )
                or not all(_is_plain(item, with_requests) for item in items)
            ):
                outcome.fallback.append(account_id)
                continue
            marks = len(roller.changes), len(roller.events)
            before = [_state(item) for item in items]
            try:
                inputs: list[ChargeInput] = []
                for item in items:
                    context = RollContext(
                        profile=profile_for(item.account),
                        method=_proration_method(item, options.proration_method),
                        suspension_stops_billing=options.suspension_stops_billing,
                        advance=roller.advance,
                    )
                    inputs += charge_due_periods(item, run_date, actor=actor, context=context)
                rows = [_charge_row(charge) for charge in inputs]
            except Exception:
                # Nothing of this account is written here; bill_account retries it and
                # records the error if it fails there too.
                del roller.changes[marks[0] :]
                del roller.events[marks[1] :]
                outcome.fallback.append(account_id)
                continue
            charge_rows += rows
            snapshots[account_id] = snapshot
            rolled += [
                item for item, state in zip(items, before, strict=True) if _state(item) != state
            ]
            outcome.done[account_id] = BulkAccountResult(account_id, charges=len(rows))
        assign_ids(charge_rows)
        planned, earlier = _plan_invoices(
            accounts,
            outcome,
            charge_rows,
            run_date=run_date,
            snapshots=snapshots,
            seller_country=seller_country,
        )
        # Everything but the invoices themselves is written before the counter is
        # locked (foreign keys are checked at commit): concurrent chunks wait for each
        # other only while numbers are taken and the invoice rows written.
        copy_insert(charge_rows)
        copy_rows(SubscriptionChange, roller.changes)
        _update_subscriptions(rolled)
        copy_insert([line for item in planned for line in item.lines])
        copy_insert([line for item in planned for line in item.tax_lines])
        _link_charges(earlier)
        emit_events(roller.events)
        _issue(planned, _audit_entries(planned, actor), actor=actor, run_date=run_date)
        for item in planned:
            outcome.done[item.account.pk].invoices.append(
                BulkInvoice(
                    item.invoice.pk,
                    item.invoice.kind,
                    item.invoice.currency,
                    item.invoice.gross_total,
                )
            )
        invoice_events = [
            event_values(
                "invoice.issued",
                actor=actor,
                aggregate=item.invoice,
                payload=_invoice_payload(item.invoice),
            )
            for item in planned
        ]
        emit_events(invoice_events)
        if planned and getattr(settings, "BILLING_RENDER_PDF_ON_ISSUE", True):
            invoice_ids = [item.invoice.pk for item in planned]
            transaction.on_commit(lambda: _enqueue_pdfs(invoice_ids))
    outcome.fallback.sort()
    return outcome


def _lock_accounts(ids: list[int]) -> dict[int, Account]:
    return {
        account.pk: account
        for account in Account.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("billing_account")
        .prefetch_related(
            Prefetch(
                "addresses",
                queryset=Address.objects.filter(kind="billing").order_by("pk"),
                to_attr="bulk_billing_addresses",
            )
        )
        .order_by("pk")
    }


def _load_subscriptions(
    ids: list[int], accounts: dict[int, Account]
) -> dict[int, list[Subscription]]:
    """The live subscriptions billed to the accounts, with their account, product and plan.

    Products, plans and promotions are shared by thousands of subscriptions: each is
    read once and attached, instead of one copy per row as ``select_related`` would make.
    """
    subscriptions = list(
        Subscription.objects.filter(billing_account_id__in=ids, status__in=LIVE_STATUSES).order_by(
            "billing_account_id", "pk"
        )
    )
    owners = dict(accounts)
    missing = {item.account_id for item in subscriptions} - set(owners)
    if missing:
        owners.update(Account.objects.select_related("billing_account").in_bulk(missing))
    products = Product.objects.select_related("product_type").in_bulk(
        {item.product_id for item in subscriptions}
    )
    plans = ProductPlan.objects.in_bulk({item.plan_id for item in subscriptions})
    promotions = Promotion.objects.in_bulk(
        {item.promotion_id for item in subscriptions if item.promotion_id is not None}
    )
    by_account: dict[int, list[Subscription]] = defaultdict(list)
    for item in subscriptions:
        item.account = owners[item.account_id]
        item.product = products[item.product_id]
        item.plan = plans[item.plan_id]
        item.promotion = promotions.get(item.promotion_id) if item.promotion_id else None
        by_account[item.billing_account_id].append(item)
    return by_account


def _numbering_refuses(run_date: date) -> bool:
    """Whether the debit series already numbered a later date (checked again under lock)."""
    series = numbering.default_series(InvoiceKind.DEBIT)
    year = run_date.year if series.resets_yearly else 0
    last = (
        InvoiceCounter.objects.filter(series=series, year=year)
        .values_list("last_invoice_date", flat=True)
        .first()
    )
    return last is not None and run_date < last


def _enqueue_pdfs(invoice_ids: list[int]) -> None:
    for invoice_id in invoice_ids:
        _enqueue_pdf(invoice_id)


def _kind_ranks() -> dict[str, int]:
    """The database's order of the charge kinds (its collation), as invoice lines use it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k FROM unnest(%s::text[]) AS k ORDER BY k", [list(ChargeKind.values)]
        )
        return {row[0]: position for position, row in enumerate(cursor.fetchall())}


def _charge_order(charges: list[Charge], ranks: dict[str, int]) -> None:
    """Sort as invoice_from_charges reads them (its ORDER BY, evaluated here)."""
    charges.sort(
        key=lambda charge: (
            charge.bill_on,
            charge.subscription_id is None,
            charge.subscription_id or 0,
            charge.period_start,
            ranks[charge.kind],
            charge.pk,
        )
    )


def _plan_invoices(
    accounts: dict[int, Account],
    outcome: BulkOutcome,
    new_charges: list[Charge],
    *,
    run_date: date,
    snapshots: dict[int, CustomerSnapshot],
    seller_country: str,
) -> tuple[list[_Planned], list[tuple[int, int]]]:
    """Group each billed account's due charges per currency into invoices (not yet saved).

    Due charges are the new ones and those already waiting uninvoiced (a change billed
    on the next billing day). Returns the invoices and the (charge, invoice) pairs of
    the waiting ones; the new ones carry their invoice already.

    An account whose charges in some currency add up to a credit is left uninvoiced here
    and handed to ``bill_account``, which issues credit invoices.
    """
    if not outcome.done:
        return [], []
    waiting = list(
        Charge.objects.filter(
            billing_account_id__in=list(outcome.done), invoice__isnull=True, bill_on__lte=run_date
        )
        .select_for_update(of=("self",))
        .select_related("product")
    )
    groups: dict[tuple[int, str], list[Charge]] = defaultdict(list)
    for charge in waiting + [charge for charge in new_charges if charge.bill_on <= run_date]:
        groups[(charge.billing_account_id, charge.currency)].append(charge)
    credits = {
        account_id
        for (account_id, _currency), charges in groups.items()
        if sum((charge.net for charge in charges), Decimal(0)) < 0
    }
    for account_id in sorted(credits):
        outcome.fallback.append(account_id)
        del outcome.done[account_id]
    table = TaxTable.load()
    series = numbering.default_series(InvoiceKind.DEBIT)
    ranks = _kind_ranks()
    planned = []
    for (account_id, currency), charges in sorted(groups.items()):
        if account_id in credits:
            continue
        _charge_order(charges, ranks)
        planned.append(
            _plan_invoice(
                accounts[account_id],
                currency,
                charges,
                run_date=run_date,
                table=table,
                snapshot=snapshots[account_id],
                seller_country=seller_country,
                series=series,
            )
        )
    invoices = [item.invoice for item in planned]
    assign_ids(invoices)
    waiting_ids = {charge.pk for charge in waiting}
    earlier = []
    for item in planned:
        for line in item.lines:
            line.invoice_id = item.invoice.pk
            if line.charge_id in waiting_ids:
                earlier.append((line.charge_id, item.invoice.pk))
            else:
                line.charge.invoice_id = item.invoice.pk
        for tax_line in item.tax_lines:
            tax_line.invoice_id = item.invoice.pk
    return planned, earlier


def _issue(planned: list[_Planned], entries: list[LogEntry], *, actor: Any, run_date: date) -> None:
    """Number and write the planned invoices and their audit entries under one lock."""
    if not planned:
        return
    series = planned[0].invoice.series
    year = run_date.year if series.resets_yearly else 0
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(series=series, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    if counter.last_invoice_date is not None and run_date < counter.last_invoice_date:
        # A later date was numbered since the check at the start: the chunk rolls back
        # and its accounts bill one by one, where the refusal is recorded per account.
        raise NumberingRefused(run_date)
    issued_at = timezone.now()
    issued_by = actor if getattr(actor, "is_authenticated", False) else None
    seller = seller_details()
    value = counter.next_value
    for item in planned:
        invoice = item.invoice
        invoice.sequence_number = value
        invoice.sequence_year = year
        invoice.number = numbering.format_number(series, year=run_date.year, value=value)
        invoice.issued_at = issued_at
        invoice.issued_by = issued_by
        invoice.seller_details = seller
        value += 1
    counter.next_value = value
    counter.last_invoice_date = run_date
    counter.save(update_fields=["next_value", "last_invoice_date"])
    copy_insert([item.invoice for item in planned])
    _fill_numbers(entries, planned)
    copy_insert(entries)
