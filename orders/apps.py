from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bss.core.dashboard import register_dashboard_panel
        from bss.core.entities import register_entity_model
        from bss.core.registry import (
            MenuEntry,
            QuickCreateEntry,
            SearchProvider,
            register_menu_entry,
            register_quick_create,
            register_search_provider,
            register_setup_entry,
        )
        from orders import views
        from orders.models import Order, OrderItem, OrderStatus

        auditlog.register(
            Order,
            exclude_fields=[
                "net_total",
                "discount_total",
                "tax_total",
                "gross_total",
                "monthly_run_rate",
                "updated_at",
            ],
        )
        auditlog.register(OrderItem)
        auditlog.register(OrderStatus, exclude_fields=["updated_at"])
        register_entity_model("order", Order)
        register_menu_entry(
            MenuEntry("sales", _("Orders"), "orders:list", "orders", icon="cart-check", order=20)
        )
        register_quick_create(
            QuickCreateEntry(_("New order"), "orders:create", "orders", icon="cart-plus", order=30)
        )
        register_setup_entry(
            MenuEntry(
                "setup",
                _("Order statuses"),
                "orders:status_list",
                "setup",
                "manage",
                icon="signpost-split",
                order=70,
            )
        )
        register_search_provider(
            SearchProvider(
                label=_("Orders"),
                module="orders",
                queryset=lambda: Order.objects.select_related("account"),
                number_field="number",
                name_fields=("name", "account__name"),
                describe=lambda order: f"{order.number} · {order.account.name}",
                url=lambda order: order.get_absolute_url(),
            )
        )
        register_dashboard_panel(views.manual_management_panel)
        self._register_account_parts()

    def _register_account_parts(self) -> None:
        from accounts import registry
        from orders import selectors, views

        registry.register_account_tab(
            registry.AccountTab(
                key="orders",
                label=_("Orders"),
                module="orders",
                render=views.account_orders_tab,
                icon="cart-check",
                order=registry.TAB_ORDER["orders"],
            )
        )
        registry.register_credit_term(
            registry.OPEN_ORDERS, "orders.open_orders", selectors.open_orders_total
        )
        registry.register_transaction_check(views.describe_orders, key="orders.orders")
