"""What subscriptions contribute to the shared layout and to the account page.

Called from ``SubscriptionsConfig.ready``: the menu entry, global search, the setup
page, the custom-field entities, and the account page's subscriptions and assets tabs.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    from auditlog.registry import auditlog

    from accounts import registry as account_registry
    from bss.core.entities import register_entity_model
    from bss.core.registry import (
        MenuEntry,
        SearchProvider,
        register_menu_entry,
        register_search_provider,
        register_setup_entry,
    )
    from subscriptions.models import Asset, Subscription, SubscriptionSettings
    from subscriptions.views import pages

    register_entity_model("subscription", Subscription)
    register_entity_model("asset", Asset)
    auditlog.register(SubscriptionSettings, exclude_fields=["updated_at"])
    register_menu_entry(
        MenuEntry(
            "billing",
            _("Subscriptions"),
            "subscriptions:list",
            "subscriptions",
            icon="arrow-repeat",
            order=30,
        )
    )
    register_menu_entry(
        MenuEntry("billing", _("Assets"), "assets:list", "assets", icon="box2", order=31)
    )
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Subscription settings"),
            "subscriptions:settings",
            "setup",
            "manage",
            icon="arrow-repeat",
            order=45,
        )
    )
    register_search_provider(
        SearchProvider(
            label=_("Subscriptions"),
            module="subscriptions",
            queryset=lambda: Subscription.objects.select_related("account", "product"),
            number_field="number",
            name_fields=("friendly_name", "account__name", "account__number"),
            describe=lambda s: f"{s.number} · {s.display_name} · {s.account.name}",
            url=lambda s: s.get_absolute_url(),
        )
    )
    account_registry.register_account_tab(
        account_registry.AccountTab(
            key="subscriptions",
            label=_("Subscriptions"),
            module="subscriptions",
            render=pages.account_subscriptions_tab,
            icon="arrow-repeat",
            order=account_registry.TAB_ORDER["subscriptions"],
        )
    )
    account_registry.register_account_tab(
        account_registry.AccountTab(
            key="assets",
            label=_("Assets"),
            module="assets",
            render=pages.account_assets_tab,
            icon="box2",
            order=account_registry.TAB_ORDER["assets"],
        )
    )
