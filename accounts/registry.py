"""What higher apps plug into the account: page tabs, side panels, money figures, checks.

``accounts`` sits below subscriptions, billing, orders, offers and support, so it never
imports them. Each of those registers here in its ``AppConfig.ready``:

* ``register_account_tab``: a tab of the account page (offers, orders, subscriptions,
  assets, invoices, payments, cases), rendered on demand; a tab nobody registered is
  simply not shown.
* ``register_account_panel``: a card in the side column of the account page.
* ``register_figure_provider``: one of the summary figures (balance, overdue amount,
  monthly run rate, annual and lifetime subscription amounts).
* ``register_credit_term``: an amount that moves the available credit (unpaid debit
  invoices, unapplied credits and payments, submitted but unexecuted orders).
* ``register_transaction_check``: whether an account has transactions, which makes it
  impossible to delete.

Registering under a key that is already taken replaces the earlier entry, so a module
reloaded in development never contributes twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import Account

TabRenderer = Callable[[HttpRequest, "Account"], str]
FigureProvider = Callable[["Account"], Decimal]
TransactionCheck = Callable[["Account"], str | None]

# The tabs later modules fill, with the position each should take.
TAB_ORDER = {
    "offers": 10,
    "orders": 20,
    "subscriptions": 30,
    "assets": 40,
    "invoices": 50,
    "payments": 60,
    "cases": 70,
}

FIGURES: dict[str, Any] = {
    "balance": _("Balance"),
    "overdue_amount": _("Overdue amount"),
    "monthly_run_rate": _("Monthly run rate"),
    "annual_subscriptions": _("Annual subscriptions"),
    "lifetime_subscriptions": _("Lifetime subscriptions"),
}

UNPAID_DEBITS = "unpaid_debits"
UNAPPLIED_CREDITS = "unapplied_credits"
OPEN_ORDERS = "open_orders"
CREDIT_TERMS: dict[str, Any] = {
    UNPAID_DEBITS: _("Unpaid debit invoices"),
    UNAPPLIED_CREDITS: _("Unapplied credits and payments"),
    OPEN_ORDERS: _("Submitted, unexecuted orders"),
}


@dataclass(frozen=True)
class AccountTab:
    """A tab of the account page; ``render`` returns its HTML for the account."""

    key: str
    label: Any
    module: str
    render: TabRenderer
    action: str = "view"
    icon: str = "circle"
    order: int = 100


@dataclass(frozen=True)
class AccountPanel:
    """A card in the account page's side column; ``render`` returns HTML or "" to hide it."""

    key: str
    title: Any
    module: str
    render: TabRenderer
    action: str = "view"
    order: int = 100


_tabs: dict[str, AccountTab] = {}
_panels: dict[str, AccountPanel] = {}
_figure_providers: dict[str, FigureProvider] = {}
_credit_terms: dict[str, dict[str, FigureProvider]] = {term: {} for term in CREDIT_TERMS}
_transaction_checks: dict[str, TransactionCheck] = {}


def register_account_tab(tab: AccountTab) -> None:
    _tabs[tab.key] = tab


def account_tabs() -> list[AccountTab]:
    return sorted(_tabs.values(), key=lambda tab: (tab.order, str(tab.label)))


def account_tab(key: str) -> AccountTab | None:
    return _tabs.get(key)


def register_account_panel(panel: AccountPanel) -> None:
    _panels[panel.key] = panel


def account_panels() -> list[AccountPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, str(panel.title)))


def register_figure_provider(figure: str, provider: FigureProvider) -> None:
    """The amount of ``figure`` for an account, in the account's currency."""
    if figure not in FIGURES:
        raise ValueError(f"Unknown figure {figure!r}; known: {', '.join(FIGURES)}")
    _figure_providers[figure] = provider


def figure_provider(figure: str) -> FigureProvider | None:
    return _figure_providers.get(figure)


def register_credit_term(term: str, key: str, provider: FigureProvider) -> None:
    """Add an amount (in the account currency, zero or more) to one term of available credit.

    Several providers may feed a term, e.g. billing's unapplied credit notes and its
    unapplied payments both under ``UNAPPLIED_CREDITS``.
    """
    if term not in CREDIT_TERMS:
        raise ValueError(f"Unknown credit term {term!r}; known: {', '.join(CREDIT_TERMS)}")
    _credit_terms[term][key] = provider


def credit_term_providers(term: str) -> list[FigureProvider]:
    return list(_credit_terms[term].values())


def register_transaction_check(check: TransactionCheck, *, key: str | None = None) -> None:
    """``check(account)`` describes the account's transactions ("3 orders") or returns None.

    An account any check describes cannot be deleted.
    """
    _transaction_checks[key or f"{check.__module__}.{check.__qualname__}"] = check


def transaction_checks() -> list[TransactionCheck]:
    return list(_transaction_checks.values())
