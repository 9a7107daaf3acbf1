from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SetupConfig(AppConfig):
    name = "bss.setup"
    label = "setup"
    verbose_name = _("Setup")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bss.core.registry import MenuEntry, register_setup_entry
        from bss.setup.models import Role, User

        # Password hashes and login timestamps are not changes anybody reviews.
        auditlog.register(User, exclude_fields=["password", "last_login"], m2m_fields={"roles"})
        auditlog.register(Role)

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

        from bss.setup.currencies.registry import register as register_currencies
        from bss.setup.fields.registry import register as register_fields
        from bss.setup.languages.registry import register as register_languages
        from bss.setup.organization.registry import register as register_organization
        from bss.setup.rules.registry import register as register_rules
        from bss.setup.tools.registry import register as register_tools

        for register in (
            register_rules,
            register_fields,
            register_organization,
            register_currencies,
            register_languages,
            register_tools,
        ):
            register()
