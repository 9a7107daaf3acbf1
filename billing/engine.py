"""Billing one account: roll its subscriptions, record due charges, issue the invoices.

``bill_account`` is the unit of work of a billing run, and of "generate invoices" on the
account page. It runs in one transaction that first locks the billing account row, so
two runs, a retried job or a person generating invoices at the same moment queue behind
each other; the second finds nothing left to do. Charges are keyed and invoices group
only uninvoiced charges, so a re-run produces nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import Account
from billing.models import Charge, Invoice, InvoiceStatus
from billing.services import (
    ChargeInput,
    InvoiceHeld,
    charge_record,
    invoice_from_charges,
    invoice_issue,
)
from billing.subscription_charges import charge_due_periods
from subscriptions.models import LIVE_STATUSES, Subscription


@dataclass
class AccountBill:
    """What billing one account did (or, in a dry run, would do)."""

    billing_account_id: int
    charges: list[ChargeInput] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum(
            (
                invoice.gross_total if not invoice.is_credit else -invoice.gross_total
                for invoice in self.invoices
            ),
            Decimal(0),
        )


def subscriptions_to_bill(billing_account_id: int) -> Any:
    return (
        Subscription.objects.filter(billing_account_id=billing_account_id, status__in=LIVE_STATUSES)
        .select_related("account", "product__product_type", "plan", "promotion")
        .order_by("pk")
    )


def bill_account(
    *,
    actor: Any,
    billing_account_id: int,
    run_date: date,
    dry_run: bool = False,
    subscription_ids: Sequence[int] | None = None,
) -> AccountBill:
    """Charge everything due up to ``run_date`` and invoice it; a dry run rolls back."""
    result = AccountBill(billing_account_id=billing_account_id)
    try:
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=billing_account_id)
            subscriptions = subscriptions_to_bill(billing_account_id)
            if subscription_ids is not None:
                subscriptions = subscriptions.filter(pk__in=list(subscription_ids))
            # Usage ingestion holds its subscriptions FOR SHARE: a batch either commits
            # before this lock and is rated now, or waits and is refused as a closed period.
            for subscription in subscriptions.select_for_update(of=("self",)):
                due = charge_due_periods(subscription, run_date, actor=actor)
                subscription.save()
                result.charges += due
            if result.charges:
                charge_record(actor=actor, charges=result.charges)
            result.invoices = invoice_due_charges(
                actor=actor,
                billing_account=account,
                up_to=run_date,
                subscription_ids=subscription_ids,
                held=result.held,
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


class _DryRun(Exception):
    """Raised inside the transaction to roll a preview back."""


def invoice_due_charges(
    *,
    actor: Any,
    billing_account: Account,
    up_to: date,
    subscription_ids: Sequence[int] | None = None,
    held: list[str] | None = None,
) -> list[Invoice]:
    """Invoice every uninvoiced charge of the account due by ``up_to``, per currency.

    An invoice held for a VAT check stays a draft with its reason; the next run retries.
    """
    issued: list[Invoice] = []
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=billing_account.pk).first()
        currencies = (
            Charge.objects.filter(
                billing_account=billing_account, invoice__isnull=True, bill_on__lte=up_to
            )
            .values_list("currency", flat=True)
            .distinct()
        )
        for currency in sorted(set(currencies)):
            draft = invoice_from_charges(
                actor=actor,
                billing_account=billing_account,
                up_to=up_to,
                currency=currency,
                subscription_ids=subscription_ids,
            )
            if draft is None:
                continue
            try:
                issued.append(invoice_issue(actor=actor, invoice=draft, invoice_date=up_to))
            except InvoiceHeld as reason:
                if held is not None:
                    held.append(str(reason))
        drafts = Invoice.objects.filter(
            billing_account=billing_account, status=InvoiceStatus.DRAFT, hold_reason__gt=""
        )
        for draft in drafts:
            try:
                issued.append(invoice_issue(actor=actor, invoice=draft))
            except InvoiceHeld as reason:
                if held is not None:
                    held.append(str(reason))
    return issued
