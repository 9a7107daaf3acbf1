from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bss.core.events import subscribe
        from bss.core.registry import MenuEntry, register_menu_entry, register_setup_entry
        from payments import handlers, models

        auditlog.register(models.PaymentMethod)
        auditlog.register(models.AccountPaymentSettings)
        auditlog.register(
            models.Payment,
            include_fields=["status", "applied_amount", "refunded_amount", "void_reason"],
        )
        auditlog.register(models.Refund, include_fields=["status", "gateway_reference"])
        auditlog.register(models.NotificationPlan)
        auditlog.register(models.NotificationPlanStep)

        for entry in [
            MenuEntry(
                "billing",
                _("Payments"),
                "payments:payment_list",
                "payments",
                icon="cash-coin",
                order=50,
            ),
            MenuEntry(
                "billing",
                _("Failed payments"),
                "payments:failed_list",
                "payments",
                icon="x-octagon",
                order=51,
            ),
            MenuEntry(
                "billing",
                _("Overdue invoices"),
                "payments:overdue_list",
                "invoices",
                icon="hourglass-split",
                order=52,
            ),
        ]:
            register_menu_entry(entry)
        register_setup_entry(
            MenuEntry(
                "setup",
                _("Payment methods"),
                "payments:method_list",
                "setup",
                "view",
                icon="credit-card",
                order=60,
            )
        )
        register_setup_entry(
            MenuEntry(
                "setup",
                _("Notification plans"),
                "payments:plan_list",
                "setup",
                "view",
                icon="bell",
                order=61,
            )
        )

        subscribe("invoice.issued", handlers.on_invoice_issued)
        subscribe("credit_invoice.issued", handlers.on_credit_invoice_issued)
        subscribe("invoice.paid", handlers.on_invoice_paid)
        self._register_account_parts()

    def _register_account_parts(self) -> None:
        """Payments and statement tabs, the payment settings panel, and the money figures.

        The balance figure replaces billing's (open invoice balances only): it is debit
        invoices - credit invoices - payments + refunds. Unapplied payments add to the
        available credit next to billing's unapplied credit invoices.
        """
        from accounts import registry
        from payments import selectors, views

        registry.register_account_tab(
            registry.AccountTab(
                key="payments",
                label=_("Payments"),
                module="payments",
                render=views.account_payments_tab,
                icon="cash-coin",
                order=registry.TAB_ORDER["payments"],
            )
        )
        registry.register_account_tab(
            registry.AccountTab(
                key="statement",
                label=_("Statement"),
                module="payments",
                render=views.account_statement_tab,
                icon="journal-text",
                order=registry.TAB_ORDER["payments"] + 1,
            )
        )
        registry.register_account_panel(
            registry.AccountPanel(
                key="payment_settings",
                title=_("Payment method"),
                module="payments",
                render=views.account_payment_panel,
                order=40,
            )
        )
        registry.register_figure_provider("balance", selectors.account_balance)
        registry.register_credit_term(
            registry.UNAPPLIED_CREDITS, "payments.unapplied_payments", selectors.unapplied_payments
        )
