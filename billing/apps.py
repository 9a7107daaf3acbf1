from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from billing import models
        from billing.subscription_charges import record_change_charges
        from subscriptions.hooks import register_change_listener

        register_change_listener("billing.charges", record_change_charges)
        from billing import subscription_panels

        subscription_panels.register()
        from billing.asset_charges import record_asset_charges
        from subscriptions.asset_hooks import register_asset_listener

        register_asset_listener("billing.asset_charges", record_asset_charges)
        from billing.asset_charges import repricing_invoices
        from subscriptions.asset_invoices import register_repricing_reader

        register_repricing_reader("billing.asset_charges", repricing_invoices)
        from bss.core.registry import (
            MenuEntry,
            SearchProvider,
            register_menu_entry,
            register_search_provider,
        )

        # The invoice's history is its life cycle; lines and amounts are frozen at issue.
        auditlog.register(
            models.Invoice,
            include_fields=[
                "status",
                "number",
                "invoice_date",
                "due_date",
                "linked_invoice",
                "hold_reason",
            ],
        )
        auditlog.register(models.Tax)
        auditlog.register(models.TaxRule)
        auditlog.register(models.InvoiceSeries)
        auditlog.register(models.BillingSettings)

        register_menu_entry(
            MenuEntry(
                "billing",
                _("Invoices"),
                "billing:invoice_list",
                "invoices",
                icon="receipt",
                order=40,
            )
        )
        register_search_provider(
            SearchProvider(
                label=_("Invoices"),
                module="invoices",
                queryset=lambda: models.Invoice.objects.select_related("billing_account"),
                number_field="number",
                name_fields=("customer_name", "billing_account__name"),
                describe=lambda invoice: f"{invoice} · {invoice.billing_account.name}",
                url=lambda invoice: invoice.get_absolute_url(),
            )
        )
        register_menu_entry(
            MenuEntry(
                "billing",
                _("Billing runs"),
                "billing:run_list",
                "invoices",
                action="run_billing",
                icon="arrow-repeat",
                order=41,
            )
        )
        self._register_account_parts()

    def _register_account_parts(self) -> None:
        """The invoices tab and the money figures of the account page."""
        from accounts import registry
        from billing import selectors, views

        registry.register_account_tab(
            registry.AccountTab(
                key="invoices",
                label=_("Invoices"),
                module="invoices",
                render=views.account_invoices_tab,
                icon="receipt",
                order=registry.TAB_ORDER["invoices"],
            )
        )
        from billing import run_views

        registry.register_account_panel(
            registry.AccountPanel(
                key="generate_invoices",
                title=_("Generate invoices"),
                module="invoices",
                action="run_billing",
                render=run_views.account_generate_panel,
                order=50,
            )
        )
        registry.register_figure_provider("overdue_amount", selectors.overdue_amount)
        registry.register_credit_term(
            registry.UNPAID_DEBITS, "billing.invoices", selectors.unpaid_debits
        )
        registry.register_credit_term(
            registry.UNAPPLIED_CREDITS, "billing.credit_invoices", selectors.unapplied_credits
        )
