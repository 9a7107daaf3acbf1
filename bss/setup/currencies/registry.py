"""What the currencies area adds to menus, search and hooks at start-up."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from auditlog.registry import auditlog

    from bss.core.registry import MenuEntry, register_setup_entry
    from bss.setup.models import Currency, ExchangeRate

    auditlog.register(Currency, exclude_fields=["rates"])
    auditlog.register(ExchangeRate, exclude_fields=["created_at"])
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Currencies"),
            "setup:currency_list",
            "setup",
            "view",
            icon="currency-exchange",
            order=40,
        )
    )
