from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import dashboard
        from accounts.models import Account
        from bss.core.entities import register_entity_model
        from bss.core.registry import (
            MenuEntry,
            QuickCreateEntry,
            SearchProvider,
            register_menu_entry,
            register_quick_create,
            register_search_provider,
        )

        auditlog.register(Account)
        register_entity_model("account", Account)
        register_menu_entry(
            MenuEntry(
                "office", _("Accounts"), "accounts:list", "accounts", icon="buildings", order=10
            )
        )
        register_quick_create(
            QuickCreateEntry(
                _("New account"), "accounts:create", "accounts", icon="building-add", order=10
            )
        )
        register_search_provider(
            SearchProvider(
                label=_("Accounts"),
                module="accounts",
                queryset=lambda: Account.objects.all(),
                number_field="number",
                name_fields=("name",),
                describe=lambda account: f"{account.number} · {account.name}",
                url=lambda account: account.get_absolute_url(),
            )
        )
        dashboard.register()
