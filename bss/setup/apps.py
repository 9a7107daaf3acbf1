from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SetupConfig(AppConfig):
    name = "bss.setup"
    label = "setup"
    verbose_name = _("Setup")

    def ready(self) -> None:
        from bss.core.registry import MenuEntry, register_setup_entry

        for entry in [
            MenuEntry("setup", _("Users"), "setup:user_list", "users", icon="people", order=10),
            MenuEntry(
                "setup",
                _("Groups and rights"),
                "setup:role_list",
                "users",
                icon="shield-lock",
                order=20,
            ),
            MenuEntry(
                "setup",
                _("Log records"),
                "core:audit_log",
                "setup",
                "audit",
                icon="journal-text",
                order=90,
            ),
        ]:
            register_setup_entry(entry)
